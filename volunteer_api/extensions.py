"""The Flask extensions, created unbound and initialised by the application factory."""
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
jwt = JWTManager()
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
