"""HTTP hardening: security headers, media types, CORS limited to configured origins."""
from flask import Flask, request
from flask_cors import CORS

from .errors import UnsupportedMediaType

ACCEPTED_BODY_TYPES = {"application/json", "multipart/form-data"}

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'"


def init_app(app: Flask) -> None:
    if app.config.get("CORS_ORIGINS"):
        CORS(app, origins=app.config["CORS_ORIGINS"], expose_headers=["X-Request-ID", "Retry-After"])

    @app.before_request
    def require_known_media_type():
        if request.method in ("POST", "PUT", "PATCH") and (request.content_length or request.is_json):
            if request.mimetype not in ACCEPTED_BODY_TYPES and not request.mimetype.endswith("+json"):
                raise UnsupportedMediaType()

    @app.after_request
    def add_security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        docs = request.path.startswith("/api/v1/docs")
        response.headers.setdefault("Content-Security-Policy", DOCS_CSP if docs else API_CSP)
        response.headers.setdefault("Cache-Control", "no-store")
        return response
