"""Staff login and the logged-in staff member's profile."""

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from app.core.auth import current_staff, staff_required
from app.core.db import unit_of_work
from app.extensions import limiter
from app.identity.schemas import TokenPairSchema
from app.identity.web import client_info
from app.staff import services
from app.staff.schemas import StaffLoginSchema, StaffSchema

blp = Blueprint("staff", __name__, description="Staff accounts")


@blp.route("/auth/login")
class StaffLogin(MethodView):
    @limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"])
    @blp.arguments(StaffLoginSchema)
    @blp.response(200, TokenPairSchema)
    def post(self, data: dict):
        """Log a staff member in with email and password."""
        check = services.check_login(email=data["email"], password=data["password"])  # slow hash, no lock held
        with unit_of_work():
            return services.log_in(check=check, client=client_info(data.get("device_name")))


@blp.route("/me")
class StaffMe(MethodView):
    @staff_required()
    @blp.response(200, StaffSchema)
    def get(self):
        """Show my staff account: role and hotels."""
        return current_staff()
