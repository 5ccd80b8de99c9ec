"""Sign-in, token rotation and sign-out."""
import math
import uuid
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy import select, update

from ..audit.services import record_event
from ..errors import TooManyRequests, Unauthorized
from ..extensions import db
from ..people.models import User
from ..people.phones import normalize_phone
from ..timestamps import utcnow
from .models import AuthSession
from .passwords import burn_verification_time, hash_password, needs_rehash, verify_password

WRONG_CREDENTIALS = _l("Wrong login or password.")
LOCKED_OUT = _l("Too many failed sign-ins for this account; try again later.")


def normalize_login(login: str) -> tuple[str, str] | None:
    """("email", "a@b.kz") or ("phone", "+77011234567"); None when it can be neither."""
    login = login.strip()
    if "@" in login:
        return "email", login.lower()
    try:
        return "phone", normalize_phone(login)
    except ValueError:
        return None


def login_limit_key(login) -> str | None:
    """The sign-in rate-limit bucket of one login, normalised so every spelling of a phone shares it
    (the API and the console count into the same buckets); None when no login was sent."""
    if not isinstance(login, str):
        return None
    normalized = normalize_login(login)
    return "login:" + (normalized[1] if normalized else login.strip().lower()[:254])


def find_login_user(login: str) -> User | None:
    key = normalize_login(login)
    if key is None:
        return None
    column = User.email if key[0] == "email" else User.phone
    return db.session.scalars(select(User).where(column == key[1])).one_or_none()


def login(*, login: str, password: str, address: str | None, user_agent: str | None) -> tuple[User, dict]:
    """Check the credentials and open a session; the same 401 for an unknown login and a wrong password."""
    user = check_credentials(login=login, password=password)
    session = open_session(user, address=address, user_agent=user_agent)
    return user, issue_tokens(user, session)


def check_credentials(*, login: str, password: str) -> User:
    """The active account with this login and password; 401 (the same for an unknown login and a wrong
    password) or 429 while the account is locked out. Counts the failures behind the lockout."""
    user = find_login_user(login)
    if user is None:
        burn_verification_time(password)
        raise Unauthorized(WRONG_CREDENTIALS)
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        burn_verification_time(password)  # a locked account answers no faster, right password or not
        raise TooManyRequests(LOCKED_OUT, headers={"Retry-After": str(math.ceil((user.locked_until - now).total_seconds()))})
    if not verify_password(user.password_hash, password) or not user.active:
        if needs_rehash(user.password_hash):
            # A server-generated password is hashed cheaply until first use: answer as slowly as the others,
            # or the timing would tell which accounts were never signed into.
            burn_verification_time(password)
        _count_failed_login(user.id, now)
        db.session.commit()
        raise Unauthorized(WRONG_CREDENTIALS)
    user.failed_logins, user.locked_until = 0, None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def open_session(user: User, *, address: str | None, user_agent: str | None) -> AuthSession:
    """Open a sign-in session (tokens or the console's cookie carry its id) and commit."""
    session = AuthSession(
        id=str(uuid.uuid4()),
        user_id=user.id,
        refresh_jti=str(uuid.uuid4()),
        expires_at=utcnow() + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"],
        address=address,
        user_agent=(user_agent or "")[:255] or None,
    )
    db.session.add(session)
    record_event(action="auth.login", object_type="user", object_id=user.id, actor_id=user.id,
                 after={"session": session.id})
    db.session.commit()
    return session


def _count_failed_login(user_id: int, now) -> None:
    """Count a wrong password in the database; too many in a row lock the account for a while."""
    failures = db.session.scalar(
        update(User).where(User.id == user_id).values(failed_logins=User.failed_logins + 1).returning(User.failed_logins)
    )
    if failures >= current_app.config["LOGIN_LOCKOUT_AFTER_FAILURES"]:
        until = now + timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
        db.session.execute(update(User).where(User.id == user_id).values(failed_logins=0, locked_until=until))
        record_event(action="auth.locked_out", object_type="user", object_id=user_id, actor_id=user_id,
                     after={"locked_until": until.isoformat(), "failures": failures})


def issue_tokens(user: User, session: AuthSession) -> dict:
    claims = {"sid": session.id, "role": user.role}
    lifetime = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    return {
        "access_token": create_access_token(identity=str(user.id), additional_claims=claims),
        "refresh_token": create_refresh_token(identity=str(user.id), additional_claims={**claims, "jti": session.refresh_jti}),
        "token_type": "Bearer",
        "expires_in": int(lifetime.total_seconds()),
        "user": user,
    }


def rotate_refresh_token(*, user: User, session: AuthSession, presented_jti: str) -> dict:
    """Swap a refresh token for a new pair; a replayed old refresh token revokes the whole session."""
    new_jti = str(uuid.uuid4())
    # Compare-and-swap, so two concurrent refreshes with one token cannot both succeed.
    swapped = db.session.execute(
        update(AuthSession)
        .where(AuthSession.id == session.id, AuthSession.refresh_jti == presented_jti, AuthSession.revoked_at.is_(None))
        .values(refresh_jti=new_jti)
    ).rowcount
    if not swapped:
        revoke_session(session, reason="refresh_token_reused")
        db.session.commit()
        raise Unauthorized()
    db.session.commit()
    db.session.refresh(session)
    return issue_tokens(user, session)


def revoke_session(session: AuthSession, *, reason: str = "logout") -> None:
    """End a session: its access and refresh tokens stop working at once."""
    if session.revoked_at is None:
        session.revoked_at = utcnow()
        record_event(action="auth.session_revoked", object_type="user", object_id=session.user_id,
                     after={"session": session.id, "reason": reason})


def revoke_all_sessions(user_id: int, *, reason: str) -> int:
    """End every open session of an account (deactivation): reactivating it later revives none of them."""
    ended = db.session.execute(
        update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    ).rowcount
    if ended:
        record_event(action="auth.sessions_revoked", object_type="user", object_id=user_id,
                     after={"sessions": ended, "reason": reason})
    return ended


def logout(session: AuthSession) -> None:
    revoke_session(session)
    db.session.commit()
