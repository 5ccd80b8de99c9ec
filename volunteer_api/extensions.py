"""The Flask extensions, created unbound and initialised by the application factory."""
from flask import has_request_context, request
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

# Where a request keeps the claims of the tokens it decoded (its environ, like the parsed JSON body).
DECODED_TOKENS = "volunteer_monitor.decoded_tokens"


class OnceDecodingJWTManager(JWTManager):
    """flask-jwt-extended's manager, decoding a token once per request.

    A write is decoded twice otherwise: by the write limiter's key (security.writer_key, which runs before
    the view) and by the view's authentication. Both go through `_decode_jwt_from_config` (the library's
    one decoding method, used by `decode_token` and `verify_jwt_in_request`), so the verified claims are
    kept per request here, by token and by what the verification allowed. A token that fails verification
    is not kept: the next decode raises again. Outside a request nothing is kept.
    """

    def _decode_jwt_from_config(self, encoded_token: str, csrf_value=None, allow_expired: bool = False) -> dict:
        if not has_request_context():
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        decoded = request.environ.setdefault(DECODED_TOKENS, {})
        key = (encoded_token, csrf_value, allow_expired)
        if key not in decoded:
            decoded[key] = super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        return decoded[key]


jwt = OnceDecodingJWTManager()
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
