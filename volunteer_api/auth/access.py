"""Who may call what: every view declares its rule, and requests are checked against it.

A view is decorated with `@roles("admin", ...)` or `@public`. tests/test_access_rules.py walks the URL
map and fails when a view has neither, so no endpoint ships unguarded.
"""
from copy import deepcopy
from functools import wraps

from flask import g
from flask_jwt_extended import get_jwt, verify_jwt_in_request
from sqlalchemy import false, select

from ..errors import Forbidden, Unauthorized, problem
from ..extensions import db, jwt
from ..ids import parse_id
from ..people.models import User
from ..timestamps import utcnow
from .models import AuthSession

ACCESS_RULE = "_access_rule"
PUBLIC = "public"
SESSION_TOKEN = "session-token"

_AUTH_RESPONSES = {
    "401": {"description": "No token, or an invalid, expired or revoked one", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
    "403": {"description": "The caller's role may not do this", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
}


def _add_doc(func, doc: dict) -> None:
    apidoc = deepcopy(getattr(func, "_apidoc", {}))
    manual = apidoc.setdefault("manual_doc", {})
    for key, value in doc.items():
        if isinstance(value, dict):
            manual.setdefault(key, {}).update(value)
        else:
            manual[key] = value
    func._apidoc = apidoc


def roles(*allowed: str):
    """Let signed-in users with one of these roles in; 401 without a valid session, 403 for others."""

    def decorator(func):
        @wraps(func)
        def wrapper(*args, **kwargs):
            user = authenticate()
            if user.role not in allowed:
                raise Forbidden()
            return func(*args, **kwargs)

        setattr(wrapper, ACCESS_RULE, tuple(allowed))
        _add_doc(wrapper, {"security": [{"bearerAuth": []}], "responses": deepcopy(_AUTH_RESPONSES)})
        return wrapper

    return decorator


def public(func):
    """Mark a view as open to anyone (login, health, reference data)."""
    setattr(func, ACCESS_RULE, PUBLIC)
    return func


def any_session_token(func):
    """Mark a view that checks the token itself (refresh, logout) rather than a role."""
    setattr(func, ACCESS_RULE, SESSION_TOKEN)
    _add_doc(func, {"security": [{"bearerAuth": []}]})
    return func


def authenticate(*, token: str = "access") -> User:
    """Check the bearer token against its session row and the user row; both must be live.

    `token` is "access", "refresh" or "any" (logout accepts either of a session's tokens).
    """
    verify_jwt_in_request(refresh=token == "refresh", verify_type=token != "any")
    claims = get_jwt()
    user, session = load_session(claims.get("sid"), claims.get("sub"))
    g.current_user, g.auth_session, g.jwt_claims = user, session, claims
    return user


def load_session(session_id, user_id) -> tuple[User, AuthSession]:
    if not session_id or parse_id(user_id) is None:
        raise Unauthorized()
    row = db.session.execute(
        select(User, AuthSession)
        .join(AuthSession, AuthSession.user_id == User.id)
        .where(AuthSession.id == str(session_id), User.id == parse_id(user_id))
    ).first()
    if row is None:
        raise Unauthorized()
    user, session = row
    if session.revoked_at is not None or not user.active or session.expires_at <= utcnow():
        raise Unauthorized()
    return user, session


def visible_to(user: User, statement, *, owner_column, district_column):
    """Restrict a query to the rows the user may see: a volunteer their own, an inspector their districts',
    an admin all (anyone else nothing)."""
    if user.role == "volunteer":
        return statement.where(owner_column == user.id)
    if user.role == "inspector":
        return statement.where(district_column.in_(user.districts))
    return statement if user.role == "admin" else statement.where(false())


def current_user() -> User:
    return g.current_user


def _unauthorized(*_args):
    return problem(401)


def init_jwt_handlers() -> None:
    """flask-jwt-extended answers 422 for a bad token by default; the contract says 401."""
    jwt.unauthorized_loader(_unauthorized)
    jwt.invalid_token_loader(_unauthorized)
    jwt.expired_token_loader(_unauthorized)
    jwt.revoked_token_loader(_unauthorized)
    jwt.needs_fresh_token_loader(_unauthorized)
    jwt.user_lookup_error_loader(_unauthorized)
    jwt.token_verification_failed_loader(_unauthorized)
