"""The console's cookie session: who is signed in, on which auth session, in which language.

The cookie (Flask's signed session, path /console/) holds only the auth session's id, the user id, the
time of the last click and the chosen language. Every request loads the session row and the user, as a
bearer token does (auth.access.load_session): sign-out, deactivation and a password reset bite at once.
"""
from datetime import datetime, timedelta, timezone
from functools import wraps

from flask import current_app, g, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import Forbidden as ForbiddenPage

from ..i18n import LANGUAGES
from ..auth import services as auth_services
from ..auth.access import ACCESS_RULE, load_session, password_change_required
from ..errors import Forbidden, Unauthorized
from ..extensions import db
from ..observability import client_address
from ..timestamps import utcnow

CONSOLE_ROLES = ("inspector", "admin")


def sign_in(*, login: str, password: str):
    """Check the credentials (lockout and failure counting as for the API) and open a console session.

    A volunteer's correct password opens nothing: the console is not theirs (they use /app/).
    """
    user = auth_services.check_credentials(login=login, password=password)
    if user.role not in CONSOLE_ROLES:
        db.session.commit()  # check_credentials reset the failure count: keep it
        raise Forbidden(_l("The console is for inspectors and administrators; volunteers use the app."))
    auth_session = auth_services.open_session(user, address=client_address(),
                                              user_agent=request.headers.get("User-Agent"))
    language = session.get("lang")
    session.clear()  # a fresh cookie (and CSRF token) at every sign-in: no session fixation
    session.update(sid=auth_session.id, uid=str(user.id), seen=_now_stamp())
    if language:
        session["lang"] = language
    return user


def sign_out() -> None:
    """End the auth session (as the API's logout does) and forget the cookie's contents."""
    if g.get("auth_session") is not None:
        auth_services.logout(g.auth_session)
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language


def _now_stamp() -> int:
    return int(utcnow().timestamp())


def _idle_limit() -> timedelta:
    return timedelta(minutes=current_app.config["CONSOLE_IDLE_MINUTES"])


def load_signed_in_user(*, touch: bool = True):
    """The signed-in user, or None (no cookie, a revoked or expired session, an inactive account, idle too
    long). `touch=False` for requests a page makes by itself (polling), which must not keep it alive."""
    sid, uid, seen = session.get("sid"), session.get("uid"), session.get("seen")
    if not sid:
        return None
    try:
        user, auth_session = load_session(sid, uid)
    except Unauthorized:
        session.pop("sid", None)
        return None
    last_click = datetime.fromtimestamp(int(seen or 0), tz=timezone.utc)
    if utcnow() - last_click > _idle_limit():
        auth_services.revoke_session(auth_session, reason="idle")
        db.session.commit()
        session.pop("sid", None)
        g.idle_expired = True
        return None
    if touch:
        session["seen"] = _now_stamp()
    g.current_user, g.auth_session = user, auth_session
    return user


def page_roles(*allowed: str, touch: bool = True, before_password_change: bool = False):
    """A console page for these roles: without a live session, to the sign-in page; other roles get 403.

    An account that must set its own password first (FORCE_PASSWORD_CHANGE, as the API's 403
    password-change-required) is sent to the password page, unless the page is `before_password_change`.
    """

    def decorator(func):
        @wraps(func)
        def wrapper(*args, **kwargs):
            user = load_signed_in_user(touch=touch)
            if user is None:
                if request.headers.get("HX-Request"):
                    # htmx follows redirects inside the fragment; tell it to load the sign-in page whole.
                    return "", 401, {"HX-Redirect": url_for("console.sign_in_page", next=request.full_path.rstrip("?"))}
                return redirect(url_for("console.sign_in_page", next=request.full_path.rstrip("?"), idle=g.get("idle_expired") and 1 or None))
            if user.role not in allowed:
                raise ForbiddenPage()
            g.password_change_required = password_change_required(user)
            if g.password_change_required and not before_password_change:
                target = url_for("console.change_password_page", next=request.full_path.rstrip("?"))
                if request.headers.get("HX-Request"):
                    return "", 403, {"HX-Redirect": target}
                return redirect(target)
            return func(*args, **kwargs)

        setattr(wrapper, ACCESS_RULE, tuple(allowed))
        return wrapper

    return decorator


def chosen_language() -> str:
    """The language the person picked on the switch (remembered in the cookie), else their browser's."""
    picked = session.get("lang")
    if picked in LANGUAGES:
        return picked
    return request.accept_languages.best_match(LANGUAGES) or "ru"
