"""HTTP hardening: security headers, media types, CORS limited to configured origins, write limits."""
from flask import Flask, current_app, request
from flask_babel import lazy_gettext as _l
from flask_cors import CORS
from flask_jwt_extended import decode_token
from flask_limiter import ApplicationLimit
from werkzeug.exceptions import BadRequest

from .errors import Invalid, UnsupportedMediaType
from .extensions import limiter
from .observability import client_address

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


def json_body():
    """The request's JSON body, or None when there is none or it does not parse (however it fails)."""
    try:
        return request.get_json(silent=True)
    except RecursionError:  # nesting deeper than the interpreter's stack: not a ValueError, so not silenced
        return None


def _unstorable_fields(body) -> list[str]:
    """Paths of the strings (keys too) no column may hold; 422 for nesting beyond MAX_JSON_DEPTH.

    Iterative, so no body can exhaust the stack here.
    """
    found, pending = [], [(body, "", 0)]
    while pending:
        value, path, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise Invalid(errors={path or "_schema": [str(_l("The JSON body is nested too deeply."))]})
        if isinstance(value, str):
            if not storable(value):
                found.append(path or "_schema")
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{path}.{key}" if path else str(key)
                if not storable(str(key)):
                    found.append(name)
                pending.append((item, name, depth + 1))
        elif isinstance(value, list):
            pending.extend((item, f"{path}.{index}" if path else str(index), depth + 1) for index, item in enumerate(value))
    return sorted(found)


def reject_unstorable_text() -> None:
    """422 for a NUL or an unpaired surrogate anywhere in the query, form or JSON body, on every backend:
    PostgreSQL would fail the statement (a 500), SQLite would store what no client can read back."""
    pairs = list(request.args.items(multi=True))
    if request.mimetype in ("multipart/form-data", FORM_BODY_TYPE):
        pairs += list(request.form.items(multi=True))
    # A multipart part may come without a name (None): nothing to check there, and the view refuses it.
    fields = [name or "_form" for name, value in pairs if not (storable(name or "") and storable(value or ""))]
    if request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError as exc:
            raise BadRequest() from exc
        fields += _unstorable_fields(body)
    if fields:
        message = str(_l("Text must not contain the NUL character or invalid Unicode."))
        raise Invalid(errors={name: [message] for name in fields})


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


def init_app(app: Flask) -> None:
    # One shared bucket per user over every write endpoint, checked before any view runs (Flask-Limiter
    # application limits); RATELIMIT_ENABLED=false turns it off with the others.
    limiter.limit_manager.set_application_limits([WRITE_LIMIT.bind(limiter)])

    if app.config.get("CORS_ORIGINS"):
        CORS(app, origins=app.config["CORS_ORIGINS"], expose_headers=["X-Request-ID", "Retry-After"])

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
