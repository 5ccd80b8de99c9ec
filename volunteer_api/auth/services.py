"""Sign-in, token rotation (with a retry window), sign-out, and changing one's password."""
import uuid
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy import select, update

from ..audit.services import record_event
from ..errors import Invalid, Unauthorized
from ..extensions import db
from ..people.models import User
from ..people.phones import normalize_phone
from ..timestamps import utcnow
from .models import AuthSession
from .passwords import burn_verification_time, generate_password, hash_password, needs_rehash, verify_password

WRONG_CREDENTIALS = _l("Wrong login or password.")
# A refresh token presented again this soon after it was rotated gets the same new pair: the phone
# lost the answer on a bad network. Later, a replay means a stolen token and ends the session.
REFRESH_RETRY_WINDOW = timedelta(seconds=60)
# The access token's jti after a rotation is derived from the refresh token's, so the pair can be
# issued again to a retry without being stored.
ACCESS_JTI_NAMESPACE = uuid.UUID("6f1c2b9e-5a4d-4e1b-9a77-0c7d3e2f1a11")


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
        # A locked account answers exactly as an unknown login does, no faster, right password or not:
        # anything else would tell an attacker which logins exist.
        burn_verification_time(password)
        raise Unauthorized(WRONG_CREDENTIALS)
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
    revoke_sessions_beyond_cap(user.id)
    db.session.commit()
    return session


def revoke_sessions_beyond_cap(user_id: int) -> None:
    """Keep at most MAX_SESSIONS_PER_ACCOUNT open sessions: revoke the oldest beyond it (signing in again
    and again must not pile up live sessions)."""
    surplus = db.session.scalars(
        select(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None), AuthSession.expires_at > utcnow())
        .order_by(AuthSession.created_at.desc(), AuthSession.id.desc())
        .offset(current_app.config["MAX_SESSIONS_PER_ACCOUNT"])
    ).all()
    for session in surplus:
        revoke_session(session, reason="session_limit")


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
    """The session's current token pair.

    Every claim is a function of the session row (issued at its last rotation, or its start; the jtis
    from `refresh_jti`), so asking again gives byte-identical tokens: that is how a refresh retry is
    answered without storing any token.
    """
    config = current_app.config
    issued_at = int((session.rotated_at or session.created_at).timestamp())
    claims = {"sid": session.id, "role": user.role, "iat": issued_at, "nbf": issued_at,
              # flask-jwt-extended adds a random CSRF value (for cookie sessions); derived, like the jtis.
              "csrf": str(uuid.uuid5(ACCESS_JTI_NAMESPACE, f"csrf:{session.refresh_jti}"))}
    lifetime = config["JWT_ACCESS_TOKEN_EXPIRES"]
    access_jti = str(uuid.uuid5(ACCESS_JTI_NAMESPACE, session.refresh_jti))
    refresh_exp = issued_at + int(config["JWT_REFRESH_TOKEN_EXPIRES"].total_seconds())
    return {
        "access_token": create_access_token(identity=str(user.id), additional_claims={
            **claims, "jti": access_jti, "exp": issued_at + int(lifetime.total_seconds())}),
        "refresh_token": create_refresh_token(identity=str(user.id), additional_claims={
            **claims, "jti": session.refresh_jti, "exp": refresh_exp}),
        "token_type": "Bearer",
        "expires_in": int(lifetime.total_seconds()),
        "user": user,
    }


def rotate_refresh_token(*, user: User, session: AuthSession, presented_jti: str) -> dict:
    """Swap the session's refresh token for a new pair.

    The same refresh token presented again within REFRESH_RETRY_WINDOW of its rotation answers the same
    new pair (the phone never got it); presented later, or an older one at any time, it ends the session.
    """
    now = utcnow()
    # Compare-and-swap: of two concurrent refreshes with one token one swaps, the other finds it retired.
    swapped = db.session.execute(
        update(AuthSession)
        .where(AuthSession.id == session.id, AuthSession.refresh_jti == presented_jti, AuthSession.revoked_at.is_(None))
        .values(refresh_jti=str(uuid.uuid4()), previous_refresh_jti=presented_jti, rotated_at=now)
    ).rowcount
    db.session.commit()
    db.session.refresh(session)
    if swapped:
        return issue_tokens(user, session)
    if (session.revoked_at is None and session.previous_refresh_jti == presented_jti
            and session.rotated_at is not None and now - session.rotated_at <= REFRESH_RETRY_WINDOW):
        return issue_tokens(user, session)
    revoke_session(session, reason="refresh_token_reused")
    db.session.commit()
    raise Unauthorized()


def revoke_session(session: AuthSession, *, reason: str = "logout") -> None:
    """End a session: its access and refresh tokens stop working at once."""
    if session.revoked_at is None:
        session.revoked_at = utcnow()
        record_event(action="auth.session_revoked", object_type="user", object_id=session.user_id,
                     after={"session": session.id, "reason": reason})


def revoke_all_sessions(user_id: int, *, reason: str, keep_session_id: str | None = None) -> int:
    """End every open session of an account (deactivation, a password change or reset), but `keep_session_id`.

    Reactivating the account later revives none of them.
    """
    statement = update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
    if keep_session_id is not None:
        statement = statement.where(AuthSession.id != keep_session_id)
    ended = db.session.execute(statement.values(revoked_at=utcnow())).rowcount
    if ended:
        record_event(action="auth.sessions_revoked", object_type="user", object_id=user_id,
                     after={"sessions": ended, "reason": reason})
    return ended


def logout(session: AuthSession) -> None:
    revoke_session(session)
    db.session.commit()


def change_password(*, user: User, current_password: str, new_password: str, keep_session_id: str | None = None) -> None:
    """Set a password of the account's own choosing; every session of the account but `keep_session_id`
    (the caller's own) ends at once.

    The new password was checked by the schema (NewPassword). A wrong current password is a 422 (it takes
    a live session to try one, and every try counts against the caller's write limit). Audited without
    any password or hash.
    """
    if not verify_password(user.password_hash, current_password):
        raise Invalid(errors={"current_password": [str(_l("The current password is wrong."))]})
    if new_password == current_password:
        raise Invalid(errors={"new_password": [str(_l("The new password must differ from the current one."))]})
    user.password_hash = hash_password(new_password)
    user.must_change_password, user.failed_logins, user.locked_until = False, 0, None
    ended = revoke_all_sessions(user.id, reason="password_changed", keep_session_id=keep_session_id)
    record_event(action="auth.password_changed", object_type="user", object_id=user.id, actor_id=user.id,
                 after={"other_sessions_ended": ended})
    db.session.commit()


def set_generated_password(user: User, *, reason: str) -> str:
    """Give an account a new generated password it must change (an admin's reset); every session ends.

    Returns the password, to be shown once; the caller commits. Audited without any password or hash.
    """
    password, password_hash = generate_password()
    user.password_hash, user.must_change_password = password_hash, True
    user.failed_logins, user.locked_until = 0, None
    ended = revoke_all_sessions(user.id, reason=reason)
    record_event(action="auth.password_reset", object_type="user", object_id=user.id,
                 after={"sessions_ended": ended, "must_change_password": True})
    return password
