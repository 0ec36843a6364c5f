"""Token refresh, logout and session management for every account kind; the service-account check."""

from flask.views import MethodView
from flask_jwt_extended import get_jwt, jwt_required
from flask_smorest import Blueprint

from app.core.auth import (
    account_required,
    api_key_required,
    current_service_account,
    current_session_id,
    current_subject,
)
from app.core.db import unit_of_work
from app.identity import services
from app.identity.schemas import ServiceAccountSchema, SessionSchema, TokenPairSchema

blp = Blueprint("auth", __name__, description="Tokens and sessions (guests and staff)")
service_blp = Blueprint("service-accounts", __name__, description="Machines calling with API keys")


@blp.route("/refresh")
class Refresh(MethodView):
    @jwt_required(refresh=True)
    @blp.doc(security=[{"bearerAuth": []}])
    @blp.response(200, TokenPairSchema)
    def post(self):
        """Exchange a refresh token (as the bearer token) for a new pair; each refresh token works once."""
        claims = get_jwt()
        with unit_of_work():
            return services.rotate_refresh_token(jti=claims["jti"], session_id=claims["sid"])


@blp.route("/logout")
class Logout(MethodView):
    @account_required
    @blp.response(204)
    def post(self):
        """End the current session on this device."""
        with unit_of_work():
            services.end_session(session_id=current_session_id())


@blp.route("/sessions")
class Sessions(MethodView):
    @account_required
    @blp.response(200, SessionSchema(many=True))
    def get(self):
        """List my active sessions (one per device), the current one marked."""
        kind, principal_id = current_subject()
        return services.list_sessions(kind=kind, principal_id=principal_id)


@blp.route("/sessions/<int:session_id>")
class SessionById(MethodView):
    @account_required
    @blp.response(204)
    def delete(self, session_id: int):
        """End one of my sessions, for example on a lost phone."""
        kind, principal_id = current_subject()
        with unit_of_work():
            services.revoke_session(kind=kind, principal_id=principal_id, session_id=session_id)


@service_blp.route("/me")
class ServiceAccountMe(MethodView):
    @api_key_required()
    @service_blp.response(200, ServiceAccountSchema)
    def get(self):
        """Show which service account the presented API key belongs to."""
        return current_service_account()
