from flask import current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from ..auth.access import any_session_token, authenticate, public, roles
from ..extensions import limiter
from ..observability import client_address
from ..people.schemas import UserSchema
from ..security import json_body
from . import services
from .schemas import LoginSchema, TokensSchema

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Sign-in and tokens")


def _login_key() -> str:
    body = json_body()
    return services.login_limit_key(body.get("login") if isinstance(body, dict) else None) \
        or f"login:{client_address()}"


def _failed(response) -> bool:
    return response.status_code == 401


@blp.route("/auth/login")
class Login(MethodView):
    # Shared limits: the console's sign-in page counts into the same buckets (one login, one budget).
    decorators = [
        limiter.shared_limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], scope="login-address",
                             key_func=client_address, deduct_when=_failed),
        limiter.shared_limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], scope="login-account",
                             key_func=_login_key, deduct_when=_failed),
    ]

    @public
    @blp.arguments(LoginSchema)
    @blp.response(200, TokensSchema)
    @blp.alt_response(401, description="Wrong login or password")
    @blp.alt_response(429, description="Too many failed attempts for this login or address")
    @blp.doc(operationId="signIn")
    def post(self, credentials):
        """Sign in by phone or e-mail and password."""
        _, tokens = services.login(**credentials, address=client_address(),
                                   user_agent=request.headers.get("User-Agent"))
        return tokens


@blp.route("/auth/refresh")
class Refresh(MethodView):
    @any_session_token
    @blp.response(200, TokensSchema)
    @blp.alt_response(401, description="No, an invalid, a used or a revoked refresh token")
    @blp.doc(operationId="refreshSession")
    def post(self):
        """Exchange a refresh token for a new access token and a new refresh token."""
        user = authenticate(token="refresh")
        return services.rotate_refresh_token(user=user, session=g.auth_session, presented_jti=g.jwt_claims["jti"])


@blp.route("/auth/logout")
class Logout(MethodView):
    @any_session_token
    @blp.response(204)
    @blp.alt_response(401, description="No valid token")
    @blp.doc(operationId="signOut")
    def post(self):
        """Sign out: the session's access and refresh tokens stop working at once."""
        authenticate(token="any")
        services.logout(g.auth_session)


@blp.route("/me")
class Me(MethodView):
    @roles("admin", "inspector", "volunteer")
    @blp.response(200, UserSchema)
    @blp.doc(operationId="getCurrentUser")
    def get(self):
        """Read the signed-in user."""
        return g.current_user
