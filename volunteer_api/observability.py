"""Structured JSON logs and a request id that follows each request (echoed in X-Request-ID)."""
import logging
import re
import sys
import time
import uuid

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import inspect as sa_inspect

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
access_log = logging.getLogger("volunteer_api.access")

# Last line of defence when someone logs a header, a URL or an exception that carries a secret:
# JWTs, bearer tokens, passwords inside URLs (smtp://user:pass@host) and password hashes (a database
# error that quotes a users row) never reach the log.
_SECRET_PATTERNS = (
    (re.compile(r"\$argon2(?:id|i|d)\$[^\s'\"\\)]*"), "[redacted-hash]"),
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "[redacted-jwt]"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1[redacted]"),
    (re.compile(r"([a-z][a-z0-9+.-]*://[^:/@\s\"]+:)[^@\s\"/]+@"), r"\1[redacted]@"),
)


def redact(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id") if has_request_context() else None
        return True


class RedactingJsonFormatter(JsonFormatter):
    """One JSON object per line, with secret-shaped strings blanked out."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def json_log_handler(stream=None) -> logging.Handler:
    """A handler writing JSON lines that carry the request id (stderr unless a stream is given)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(RedactingJsonFormatter("{asctime}{levelname}{name}{message}{request_id}", style="{"))
    handler.addFilter(RequestContextFilter())
    return handler


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        root.handlers = [json_log_handler()]
    root.setLevel(level)


def _signed_in_user_id():
    """The id of the request's user without touching the database (the session may be unusable)."""
    user = g.get("current_user")
    state = sa_inspect(user, raiseerr=False) if user is not None else None
    return str(state.identity[0]) if state is not None and state.identity else None


def client_address() -> str:
    """The caller's address as the WSGI server saw it (behind a proxy, configure TRUSTED_PROXY_HOPS)."""
    return request.remote_addr or "unknown"


def init_app(app: Flask) -> None:
    def assign_request_id():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.client_address = request.remote_addr
        g.started_at = time.perf_counter()

    # First of all before_request hooks, so answers given by earlier ones (a rate limit's 429, a 415)
    # and their log lines carry the id too.
    app.before_request_funcs.setdefault(None, []).insert(0, assign_request_id)

    @app.after_request
    def echo_request_id(response):
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
        if app.config.get("ACCESS_LOG", True):
            # Never the body, the query string or headers: they may carry passwords and tokens.
            access_log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - g.get("started_at", time.perf_counter())) * 1000, 2),
                    "user_id": _signed_in_user_id(),
                },
            )
        return response
