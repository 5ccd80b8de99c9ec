"""HTTP hardening: security headers, media types, CORS limited to configured origins, write limits."""
from flask import Flask, current_app, request
from flask_cors import CORS
from flask_jwt_extended import decode_token
from flask_limiter import ApplicationLimit

from .errors import UnsupportedMediaType
from .extensions import client_address, limiter

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Sign-in has its own limits (per address and per account, counting failures only); a user who
# exhausted their writes must still be able to sign in again.
WRITE_LIMIT_EXEMPT_ENDPOINTS = frozenset({"auth.Login"})

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


def writer_key() -> str:
    """Whom a write counts against: the user of a validly signed token, else the caller's address.

    The limiter runs before the view authenticates, so the token is checked here (signature and
    expiry only; the view still rejects revoked sessions). An unverified `sub` is never trusted, or
    anyone could spread their writes over invented user ids.
    """
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        try:
            return f"user:{decode_token(token.strip())['sub']}"
        except Exception:  # noqa: BLE001 - a bad token is the view's 401 to give; count it by address
            pass
    return f"address:{client_address()}"


def _exempt_from_write_limit() -> bool:
    return request.endpoint in WRITE_LIMIT_EXEMPT_ENDPOINTS


WRITE_LIMIT = ApplicationLimit(
    limit_provider=lambda: current_app.config["WRITE_LIMIT_PER_USER"],
    key_function=writer_key,
    scope="writes-per-user",
    methods=WRITE_METHODS,
    exempt_when=_exempt_from_write_limit,
)


def init_app(app: Flask) -> None:
    # One shared bucket per user over every write endpoint, checked before any view runs (Flask-Limiter
    # application limits); RATELIMIT_ENABLED=false turns it off with the others.
    limiter.limit_manager.set_application_limits([WRITE_LIMIT.bind(limiter)])

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
