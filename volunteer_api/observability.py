"""Structured JSON logs and a request id that follows each request (echoed in X-Request-ID)."""
import logging
import re
import sys
import time
import uuid

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
access_log = logging.getLogger("volunteer_api.access")


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id") if has_request_context() else None
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter("{asctime}{levelname}{name}{message}{request_id}", style="{"))
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        root.handlers = [handler]
    root.setLevel(level)


def init_app(app: Flask) -> None:
    @app.before_request
    def assign_request_id():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.client_address = request.remote_addr
        g.started_at = time.perf_counter()

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
                    "user_id": getattr(g.get("current_user"), "id", None),
                },
            )
        return response
