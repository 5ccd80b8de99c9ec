"""How often anyone may sign in: Flask-Limiter limits on the sign-in view, by address and by account.

Failures and successes are counted apart. Failures: per account *from one address* (a stranger's five
tries lock only the stranger's address out), a higher ceiling per account from every address together,
and per address. Successes: per account and per address, since each one costs an Argon2 hash, a
session row and an audit event. The database lockout (services.py) is the backstop when the limiter's
store is down.
"""
from flask import current_app

from ..extensions import limiter
from ..observability import client_address
from ..security import json_body
from .services import normalize_login


def login_account_key() -> str:
    """The account a sign-in names (normalised as the lookup does), else the caller's address."""
    body = json_body()
    login = body.get("login") if isinstance(body, dict) else None
    if not isinstance(login, str):
        return f"login:{client_address()}"
    normalized = normalize_login(login)
    return "login:" + (normalized[1] if normalized else login.strip().lower()[:254])


def login_account_address_key() -> str:
    return f"{login_account_key()}|{client_address()}"


def _failed(response) -> bool:
    return response.status_code == 401


def _succeeded(response) -> bool:
    return response.status_code == 200


def _setting(name: str):
    return lambda: current_app.config[name]


def login_limits() -> list:
    """The decorators of the sign-in view."""
    return [
        limiter.limit(_setting("LOGIN_LIMIT_PER_ADDRESS"), key_func=client_address, deduct_when=_failed,
                      scope="login-address"),
        limiter.limit(_setting("LOGIN_LIMIT_PER_ACCOUNT"), key_func=login_account_address_key, deduct_when=_failed,
                      scope="login-account-address"),
        limiter.limit(_setting("LOGIN_LIMIT_PER_ACCOUNT_ALL_ADDRESSES"), key_func=login_account_key,
                      deduct_when=_failed, scope="login-account"),
        limiter.limit(_setting("LOGIN_SUCCESS_LIMIT_PER_ACCOUNT"), key_func=login_account_key, deduct_when=_succeeded,
                      scope="login-success-account"),
        limiter.limit(_setting("LOGIN_SUCCESS_LIMIT_PER_ADDRESS"), key_func=client_address, deduct_when=_succeeded,
                      scope="login-success-address"),
    ]
