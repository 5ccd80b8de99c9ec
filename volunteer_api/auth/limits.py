"""How often anyone may sign in: Flask-Limiter limits on the sign-in view, by address and by account.

Failures and successes are counted apart. Failures: per account *from one address* (a stranger's five
tries lock only the stranger's address out), a higher ceiling per account from every address together,
and per address. Successes: per account and per address, since each one costs an Argon2 hash, a
session row and an audit event. The database lockout (services.py) is the backstop when the limiter's
store is down.
"""
from flask import current_app, request

from ..extensions import limiter
from ..observability import client_address
from .services import login_limit_key


def _failed(response) -> bool:
    return response.status_code == 401


def _succeeded(response) -> bool:
    # The API answers a sign-in 200, the console's page a redirect (303); its GET is no sign-in.
    return request.method == "POST" and response.status_code in (200, 303)


def _setting(name: str):
    return lambda: current_app.config[name]


def limit_sign_ins(login_of_request):
    """The decorator every sign-in view wears (the API's and the console's page): shared limits, so both
    count into the same buckets. `login_of_request()` is the login the request names, or None."""

    def account_key() -> str:
        return login_limit_key(login_of_request()) or f"login:{client_address()}"

    def account_address_key() -> str:
        return f"{account_key()}|{client_address()}"

    limits = [
        limiter.shared_limit(_setting("LOGIN_LIMIT_PER_ADDRESS"), scope="login-address", key_func=client_address,
                             deduct_when=_failed),
        limiter.shared_limit(_setting("LOGIN_LIMIT_PER_ACCOUNT"), scope="login-account-address",
                             key_func=account_address_key, deduct_when=_failed),
        limiter.shared_limit(_setting("LOGIN_LIMIT_PER_ACCOUNT_ALL_ADDRESSES"), scope="login-account",
                             key_func=account_key, deduct_when=_failed),
        limiter.shared_limit(_setting("LOGIN_SUCCESS_LIMIT_PER_ACCOUNT"), scope="login-success-account",
                             key_func=account_key, deduct_when=_succeeded),
        limiter.shared_limit(_setting("LOGIN_SUCCESS_LIMIT_PER_ADDRESS"), scope="login-success-address",
                             key_func=client_address, deduct_when=_succeeded),
    ]

    def decorate(view):
        for limit in reversed(limits):
            view = limit(view)
        return view

    return decorate
