from flask import g, request
from flask.views import MethodView

from ..auth.access import allowed_before_password_change, any_session_token, authenticate, public, roles
from ..observability import client_address
from ..people.schemas import UserSchema
from ..security import Blueprint, json_body
from . import services
from .limits import limit_sign_ins
from .schemas import LoginSchema, PasswordChangeSchema, TokensSchema

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Sign-in and tokens")


def _login_in_body():
    body = json_body()
    return body.get("login") if isinstance(body, dict) else None


@blp.route("/auth/login")
class Login(MethodView):
    decorators = [limit_sign_ins(_login_in_body)]

    @public
    @blp.arguments(LoginSchema)
    @blp.response(200, TokensSchema)
    @blp.alt_response(401, description="Wrong login or password")
    @blp.alt_response(429, description="Too many sign-ins (failed or not) for this login or address")
    @blp.doc(operationId="signIn")
    def post(self, credentials):
        """Sign in by phone or e-mail and password."""
        _, tokens = services.login(**credentials, address=client_address(),
                                   user_agent=request.headers.get("User-Agent"))
        return tokens


@blp.route("/auth/refresh")
class Refresh(MethodView):
    @any_session_token
    @blp.response(200, TokensSchema, description=(
        "A new access token and a new refresh token; the presented refresh token is retired. "
        "**Retry:** the same refresh token presented again within 60 seconds of its rotation (the phone "
        "never got the answer) answers the same new pair again, byte for byte, and the session goes on. "
        "**Replay:** presented later than that, or a refresh token older than the last one, it ends the whole "
        "session (401): someone else may hold a copy. The server stores no token to do this: the pair is "
        "derived again from the session's row."))
    @blp.alt_response(401, description="No, an invalid, a revoked, or a retired refresh token past the 60-second "
                                       "retry window (which also ends the session)")
    @blp.doc(operationId="refreshSession")
    def post(self):
        """Exchange a refresh token for a new access token and a new refresh token (retry-safe for 60 s)."""
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


@blp.route("/auth/password")
class ChangePassword(MethodView):
    @roles("admin", "inspector", "volunteer")
    @allowed_before_password_change
    @blp.arguments(PasswordChangeSchema)
    @blp.response(204)
    @blp.alt_response(422, description="The current password is wrong, or the new one is too short, common or "
                                       "easy to guess (`errors` says which and why)")
    @blp.doc(operationId="changePassword")
    def post(self, data):
        """Change your password (at least 10 characters, not a common one); your other sessions end at once."""
        services.change_password(user=g.current_user, keep_session_id=g.auth_session.id, **data)


@blp.route("/me")
class Me(MethodView):
    @roles("admin", "inspector", "volunteer")
    @allowed_before_password_change
    @blp.response(200, UserSchema)
    @blp.doc(operationId="getCurrentUser")
    def get(self):
        """Read the signed-in user."""
        return g.current_user
