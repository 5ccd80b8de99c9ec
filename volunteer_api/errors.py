"""One error shape everywhere: RFC 9457 problem documents, translated by Accept-Language."""
import logging

from flask import Flask, Response, json, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from .i18n import lazy_messages, translate_messages

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"

STATUS_TITLES = {
    400: _l("Malformed request"),
    401: _l("Authentication required"),
    403: _l("Forbidden"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict"),
    413: _l("Request too large"),
    415: _l("Unsupported media type"),
    422: _l("Invalid data"),
    426: _l("Upgrade required"),
    429: _l("Too many requests"),
    500: _l("Internal server error"),
    503: _l("Service unavailable"),
}

STATUS_DETAILS = {
    400: _l("The request body is not valid JSON."),
    401: _l("Sign in and send a valid access token."),
    403: _l("Your role does not allow this action."),
    404: _l("The resource does not exist or is not yours."),
    405: _l("This method is not allowed on this resource."),
    413: _l("The request body is too large."),
    415: _l("Send application/json (or multipart/form-data for uploads)."),
    422: _l("Some fields are invalid; see errors."),
    429: _l("Too many requests; retry later."),
    500: _l("Something went wrong on our side; it has been logged."),
    503: _l("A service we depend on does not answer."),
}


# Problem types of our own (RFC 9457 `type`): a client matches the last path segment.
PROBLEM_TYPE_BASE = "https://volunteer-monitor.kz/problems/"


class DomainError(Exception):
    """A rule of the domain refused the request; carries its HTTP status (and a problem type of its own,
    when a client must tell it from other refusals of that status)."""

    status = 400
    problem_type = "about:blank"

    def __init__(self, detail=None, *, errors: dict | None = None, headers: dict | None = None):
        super().__init__(str(detail) if detail is not None else self.__class__.__name__)
        self.detail = detail
        # Translated where they are shown (a problem document, a console page), library messages too.
        self.errors = lazy_messages(errors) if errors else errors
        self.headers = headers or {}


class Unauthorized(DomainError):
    status = 401


class Forbidden(DomainError):
    status = 403


class PasswordChangeRequired(Forbidden):
    """The account must set its own password before anything else (FORCE_PASSWORD_CHANGE)."""

    problem_type = PROBLEM_TYPE_BASE + "password-change-required"


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class PayloadTooLarge(DomainError):
    status = 413


class UnsupportedMediaType(DomainError):
    status = 415


class TooManyRequests(DomainError):
    status = 429


class ServiceUnavailable(DomainError):
    """A service the request needs (the photo store) does not answer; the client may retry later."""

    status = 503


class Invalid(DomainError):
    """Input that parsed but breaks a rule: field errors keyed by field (or `row N` for CSV)."""

    status = 422


def problem(status: int, detail=None, *, errors: dict | None = None, headers: dict | None = None,
            problem_type: str = "about:blank", extra: dict | None = None) -> Response:
    """Build an application/problem+json response (`extra`: the problem type's own members)."""
    body = {
        "type": problem_type,
        "title": str(STATUS_TITLES.get(status, "Error")),
        "status": status,
        "detail": str(detail) if detail is not None else str(STATUS_DETAILS.get(status, "")),
    }
    if errors:
        body["errors"] = translate_messages(errors)
    body.update(extra or {})
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_MEDIA_TYPE)
    if status == 401:
        # RFC 9110: a 401 names the scheme that would work; ours is a bearer token (the JWT).
        response.headers["WWW-Authenticate"] = "Bearer"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten_errors(messages, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested messages into {"location.lat": ["..."]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_errors(value, name))
    elif isinstance(messages, list) and not any(isinstance(m, (dict, list)) for m in messages):
        flat[prefix or "_schema"] = [str(m) for m in messages]
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            flat.update(flatten_errors(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        flat[prefix or "_schema"] = [str(messages)]
    return flat


def _webargs_errors(error: HTTPException) -> dict | None:
    data = getattr(error, "data", None) or {}
    messages = data.get("errors") or data.get("messages")
    if not messages:
        return None
    if isinstance(messages, dict):
        # webargs keys by location ("json", "query", "files"); the field names are what clients know.
        merged: dict = {}
        for location, fields in messages.items():
            if isinstance(fields, dict):
                merged.update(fields)
            else:
                merged[location] = fields
        messages = merged
    return flatten_errors(messages)


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    headers = {}
    data = getattr(error, "data", None) or {}
    headers.update(data.get("headers") or {})
    if status == 405 and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    if status == 429:
        headers.update({k: v for k, v in error.get_headers() if k.lower() == "retry-after"})
        headers.setdefault("Retry-After", "60")
    errors = _webargs_errors(error) if status in (400, 422) else None
    detail = None
    if status == 400 and errors and "json" in errors:
        errors = None  # webargs' "Invalid JSON body." — our detail says it in the caller's language.
    return problem(status, detail, errors=errors, headers=headers)


def handle_domain_error(error: DomainError) -> Response:
    return problem(error.status, error.detail, errors=error.errors, headers=error.headers,
                   problem_type=error.problem_type)


def handle_unexpected(error: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return problem(500)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(Exception, handle_unexpected)

