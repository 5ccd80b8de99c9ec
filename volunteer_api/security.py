"""HTTP hardening: security headers, media types, JSON bodies (size, one parse, storable text), CORS limited to
configured origins, write limits."""
import ipaddress
import json
import logging
import re

import flask_smorest
from flask import Flask, Request, current_app, request
from flask_babel import lazy_gettext as _l
from flask_cors import CORS
from flask_jwt_extended import decode_token
from flask_limiter import ApplicationLimit
from marshmallow import missing
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import BadRequest, HTTPException

from .errors import DomainError, Invalid, PayloadTooLarge, UnsupportedMediaType
from .extensions import limiter
from .observability import client_address

log = logging.getLogger(__name__)

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Sign-in has its own limits (per address and per account, counting failures only); a user who
# exhausted their writes must still be able to sign in again.
WRITE_LIMIT_EXEMPT_ENDPOINTS = frozenset({"auth.Login"})

ACCEPTED_BODY_TYPES = {"application/json", "multipart/form-data"}
# Pages for people post HTML forms; the API takes JSON (and multipart uploads) only.
FORM_BODY_TYPE = "application/x-www-form-urlencoded"
_FORM_BLUEPRINTS: set[str] = set()


def accept_form_posts(blueprint_name: str) -> None:
    """Let a blueprint of pages (and the blueprints nested in it) receive HTML form posts."""
    _FORM_BLUEPRINTS.add(blueprint_name)

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


def storable(text: str) -> bool:
    """False for text no database column may hold: NUL (PostgreSQL refuses it) or an unpaired surrogate
    (a JSON `\\ud800` escape; it has no UTF-8 form)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# No request schema nests deeper than 3; anything far deeper is an attack on the parsers' recursion.
MAX_JSON_DEPTH = 32
# A 422 names at most this many fields: a body of a thousand NULs must not come back a thousand times.
MAX_REPORTED_FIELDS = 20
UNSTORABLE_TEXT = _l("Text must not contain the NUL character or invalid Unicode.")
# Decoded JSON text can hold a NUL or a lone surrogate only as a `\u` escape (raw control characters are
# invalid JSON, and UTF-8 has no surrogates): a body without one needs no walk for them. A paired
# surrogate or an escaped backslash before `u` only costs the walk.
_UNSTORABLE_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


class JsonLimitedRequest(Request):
    """Flask's request, with a limit of its own for JSON bodies (MAX_JSON_BODY_BYTES; multipart keeps
    MAX_CONTENT_LENGTH, a 10 MB photo).

    Werkzeug applies `max_content_length` to the Content-Length before reading and, to a chunked body
    without one, as the most it will read, stopping there silently. So a JSON body may be read one byte
    past the limit: a chunked body that got that far is known to be too large (see _read_json_bytes).
    """

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is None and current_app and self.is_json:
            return current_app.config["MAX_JSON_BODY_BYTES"] + 1
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


PARSED_JSON_BODY = "volunteer_monitor.parsed_json_body"


def parse_json_body():
    """The request's JSON body, parsed once per request; `missing` when the body is empty.

    413 over MAX_JSON_BODY_BYTES (before a byte is parsed); 400 for anything that does not parse as UTF-8
    JSON, whatever the error (a 5,000-digit integer is a ValueError, deep nesting a RecursionError);
    422 for nesting beyond MAX_JSON_DEPTH or text no column may hold. Only routes that read JSON call it.
    """
    # Kept in the request's environ, not on `g`: an app context (a test's, a CLI's) can outlive many
    # requests, and each request must parse its own body.
    environ = request.environ
    if PARSED_JSON_BODY not in environ:
        try:
            environ[PARSED_JSON_BODY] = (_parse_json_body(), None)
        except (HTTPException, DomainError) as exc:
            environ[PARSED_JSON_BODY] = (None, exc)
    body, error = environ[PARSED_JSON_BODY]
    if error is not None:
        raise error
    return body


def _read_json_bytes() -> bytes:
    data = request.get_data(cache=True)
    if len(data) > current_app.config["MAX_JSON_BODY_BYTES"]:
        raise json_body_too_large()
    return data


def json_body_too_large() -> PayloadTooLarge:
    return PayloadTooLarge(_l("A JSON body may be at most %(kb)s KB.", kb=current_app.config["MAX_JSON_BODY_BYTES"] // 1024))


def _parse_json_body():
    data = _read_json_bytes()
    if not data:
        return missing
    try:
        text = data.decode("utf-8")
        body = json.loads(text)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise BadRequest() from exc
    fields = _unstorable_fields(body, check_text=_UNSTORABLE_ESCAPE.search(text) is not None)
    if fields:
        raise Invalid(errors={name: [str(UNSTORABLE_TEXT)] for name in fields})
    return body


def json_body():
    """The request's JSON body, or None when there is none or it is refused (for rate-limit keys)."""
    try:
        body = parse_json_body()
    except (HTTPException, DomainError):
        return None
    return None if body is missing else body


def _unstorable_fields(body, *, check_text: bool) -> list[str]:
    """Paths of the strings (keys too) no column may hold, at most MAX_REPORTED_FIELDS of them; 422 for
    nesting beyond MAX_JSON_DEPTH. Iterative, so no body can exhaust the stack here; without `check_text`
    only the containers are visited, for their depth."""
    found, pending = [], [(body, (), 0)]
    while pending and len(found) < MAX_REPORTED_FIELDS:
        value, path, depth = pending.pop()
        if isinstance(value, str):
            if not storable(value):
                found.append(path)
            continue
        if depth > MAX_JSON_DEPTH:
            raise Invalid(errors={_path_name(path): [str(_l("The JSON body is nested too deeply."))]})
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, item in items:
            if check_text and isinstance(key, str) and not storable(key):
                found.append(path + (key,))
            if isinstance(item, (dict, list)) or (check_text and isinstance(item, str)):
                pending.append((item, path + (key,), depth + 1))
    return sorted(_path_name(path) for path in found[:MAX_REPORTED_FIELDS])


def _path_name(path: tuple) -> str:
    return ".".join(str(part) for part in path) or "_schema"


def reject_unstorable_text() -> None:
    """422 for a NUL or an unpaired surrogate in the query string or a console form, on every backend:
    PostgreSQL would fail the statement (a 500), SQLite would store what no client can read back. JSON
    bodies are checked where they are read (parse_json_body); uploads take no text fields."""
    pairs = list(request.args.items(multi=True))
    if request.mimetype == FORM_BODY_TYPE:  # bounded by MAX_FORM_MEMORY_SIZE
        pairs += list(request.form.items(multi=True))
    fields = [name or "_form" for name, value in pairs if not (storable(name or "") and storable(value or ""))]
    if fields:
        raise Invalid(errors={name: [str(UNSTORABLE_TEXT)] for name in sorted(set(fields))[:MAX_REPORTED_FIELDS]})


class JsonOnceParser(FlaskParser):
    """webargs' Flask parser, reading JSON through parse_json_body: one parse, our limits, our errors."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return missing
        return parse_json_body()


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's blueprint whose `arguments` read JSON bodies through JsonOnceParser."""

    ARGUMENTS_PARSER = JsonOnceParser()

    def arguments(self, schema, *args, **kwargs):
        # webargs makes a new instance of a schema class for every request it parses, and with it every
        # nested schema (a tenth of a filing's CPU): one instance per view, made here, serves them all.
        return super().arguments(schema() if isinstance(schema, type) else schema, *args, **kwargs)


def refuse_oversized_json_body() -> None:
    """413 for a JSON body whose Content-Length is over MAX_JSON_BODY_BYTES, on every route, before the
    rate limiter or anything else reads a byte of it (a chunked body is cut off where it is read)."""
    if request.is_json and (request.content_length or 0) > current_app.config["MAX_JSON_BODY_BYTES"]:
        raise json_body_too_large()


def register_body_limits(app: Flask) -> None:
    """The JSON body limit; registered before the limiter, whose login key reads the body."""
    app.request_class = JsonLimitedRequest
    app.before_request(refuse_oversized_json_body)


def register_retry_after_cleanup(app: Flask) -> None:
    """Keep Retry-After for refusals (429, 503) only.

    Flask-Limiter adds it to every response of a limited route, and a phone's HTTP client may then wait
    before its next request after a plain 200. Flask runs after-request hooks in reverse order of
    registration, so this must be registered before the limiter to see the headers it added.
    """

    @app.after_request
    def drop_retry_after_from_answers(response):
        if response.status_code not in (429, 503):
            response.headers.pop("Retry-After", None)
        return response


def warn_when_serving_beyond_loopback(app: Flask) -> None:
    """Log a warning, once per process, when a development server signing with the instance's own secret
    answers a caller that is not on this machine: development mode is not meant to face a network."""
    warned = []

    @app.before_request
    def warn_about_the_development_secret():
        if warned or _is_loopback(request.remote_addr):
            return
        warned.append(request.remote_addr)
        log.warning("development mode answers %s, beyond loopback, and signs tokens with the instance's generated "
                    "secret: run with APP_ENV=production and a SECRET_KEY of your own", request.remote_addr)


def _is_loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False  # not an address at all (a test client's "unknown"): nothing vouches for it


def init_app(app: Flask) -> None:
    # One shared bucket per user over every write endpoint, checked before any view runs (Flask-Limiter
    # application limits); RATELIMIT_ENABLED=false turns it off with the others.
    limiter.limit_manager.set_application_limits([WRITE_LIMIT.bind(limiter)])

    if app.config.get("CORS_ORIGINS"):
        CORS(app, origins=app.config["CORS_ORIGINS"], expose_headers=["X-Request-ID", "Retry-After"])
    if app.config["APP_ENV"] == "development" and app.config.get("SECRET_KEY_IS_INSTANCE_SECRET"):
        warn_when_serving_beyond_loopback(app)

    @app.before_request
    def require_known_media_type():
        if request.method in ("POST", "PUT", "PATCH") and (request.content_length or request.is_json):
            form_post = request.mimetype == FORM_BODY_TYPE and not _FORM_BLUEPRINTS.isdisjoint(request.blueprints)
            if request.mimetype not in ACCEPTED_BODY_TYPES and not request.mimetype.endswith("+json") and not form_post:
                raise UnsupportedMediaType()
        reject_unstorable_text()

    @app.after_request
    def add_security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        docs = request.path.startswith("/api/v1/docs")
        response.headers.setdefault("Content-Security-Policy", DOCS_CSP if docs else API_CSP)
        response.headers.setdefault("Cache-Control", "no-store")
        return response
