"""The Flask extensions, created unbound and initialised by the application factory."""
import threading
import time

import cachetools
from flask import current_app, has_app_context
from flask_babel import Babel
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_smorest import Api
from flask_wtf.csrf import CSRFProtect

from .database import db  # noqa: F401 - Flask-SQLAlchemy, made in database.py beside its declarative Base
from .ids import IdConverter
from .openapi import ExamplesPlugin, ProblemResponsesPlugin

migrate = Migrate()

# Where an application keeps the claims of the tokens it verified (app.extensions).
VERIFIED_TOKENS = "volunteer_monitor.verified_tokens"
# Access tokens remembered per application: every phone's current one, with room to spare (~1 KB each).
VERIFIED_TOKENS_KEPT = 10_000
_VERIFIED_TOKENS_LOCK = threading.Lock()  # TLRUCache is not thread-safe (gthread workers, test servers)


class RememberingJWTManager(JWTManager):
    """flask-jwt-extended's manager, remembering the claims of the tokens it verified until they expire.

    Verifying a token is most of what authentication costs in Python: flask-jwt-extended decodes it three
    times (claims, header, then with the signature checked), and PyJWT checks every character of every
    segment each time — about half a millisecond per request. A phone sends the same access token with
    every request for its 15 minutes, so the claims of a token that passed verification are kept, per
    application, under the whole encoded token (its signature included: any other token, however alike,
    is verified afresh), until the token's own `exp`. Only access tokens are kept (a refresh token is
    presented once); a token that fails verification is never kept, nor one decoded with `allow_expired`.
    Nothing else is skipped: the token's type and its session row (revocation, expiry, the account's
    state) are still checked on every request (auth/access.py).
    """

    def init_app(self, app, add_context_processor: bool = False) -> None:
        super().init_app(app, add_context_processor)
        app.extensions[VERIFIED_TOKENS] = cachetools.TLRUCache(
            maxsize=VERIFIED_TOKENS_KEPT, ttu=lambda _key, claims, _now: claims["exp"], timer=time.time)

    def _decode_jwt_from_config(self, encoded_token: str, csrf_value=None, allow_expired: bool = False) -> dict:
        if allow_expired or not has_app_context():
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        verified = current_app.extensions[VERIFIED_TOKENS]
        key = (encoded_token, csrf_value)
        with _VERIFIED_TOKENS_LOCK:
            claims = verified.get(key)
        if claims is None:
            claims = super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
            if claims.get("type") == "access" and isinstance(claims.get("exp"), int):
                with _VERIFIED_TOKENS_LOCK:
                    verified[key] = claims
        return claims


jwt = RememberingJWTManager()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, strategy="moving-window")
# CSRF for the console's cookie session only (WTF_CSRF_CHECK_DEFAULT=False; the console calls protect()).
csrf = CSRFProtect()


class ProblemApi(Api):
    """flask-smorest's Api, with its error handler replaced by ours (RFC 9457, see errors.py)."""

    # A "default" response would make every status conform; we document the real ones.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self):
        """Leave error handling to volunteer_api.errors, registered by the factory."""


api = ProblemApi(spec_kwargs={"extra_plugins": [ProblemResponsesPlugin(), ExamplesPlugin()]})
api.register_converter(IdConverter, lambda _converter: {"type": "string", "pattern": "^[0-9]+$"})
