"""A guest's data rights (/me/export, /me/erasure) and the chain administrator's variant (/staff/guests/{id}/...)."""

from flask.views import MethodView
from flask_jwt_extended import get_jwt
from flask_smorest import Blueprint

from app.core.auth import Role, current_guest, current_guest_id, current_staff, guest_required, staff_required
from app.core.db import unit_of_work
from app.core.idempotency import idempotent
from app.privacy import services
from app.privacy.schemas import ErasureRequestSchema, ErasureSchema, GuestExportSchema

me_blp = Blueprint("privacy", __name__, description="My data: take it away, or have it erased")
staff_blp = Blueprint("staff-privacy", __name__, description="Guests' data requests, handled by the chain")


@me_blp.route("/export")
class MyExport(MethodView):
    @guest_required
    @me_blp.response(200, GuestExportSchema)
    def get(self):
        """Download everything the chain holds on me, as JSON."""
        return services.export_guest(guest_id=current_guest_id())


@me_blp.route("/erasure")
class MyErasure(MethodView):
    @guest_required
    @idempotent
    @me_blp.arguments(ErasureRequestSchema)
    @me_blp.response(200, ErasureSchema)
    def post(self, data: dict):
        """Erase my account and personal data (bills and points are kept under a pseudonym); I am logged out."""
        guest = current_guest()
        check = services.check_erasure_credentials(guest=guest, password=data.get("password"), claims=get_jwt())
        with unit_of_work():
            return services.erase_own_account(guest=guest, check=check)


@staff_blp.route("/<int:guest_id>/export")
class GuestExport(MethodView):
    @staff_required(Role.CHAIN_ADMIN)
    @staff_blp.response(200, GuestExportSchema)
    def get(self, guest_id: int):
        """Export everything the chain holds on a guest, for their data request (audited)."""
        with unit_of_work():
            return services.staff_export(staff=current_staff(), guest_id=guest_id)


@staff_blp.route("/<int:guest_id>/erasure")
class GuestErasure(MethodView):
    @staff_required(Role.CHAIN_ADMIN)
    @idempotent
    @staff_blp.response(200, ErasureSchema)
    def post(self, guest_id: int):
        """Erase a guest's personal data on their request (audited; financial records kept under a pseudonym)."""
        with unit_of_work():
            return services.erase_guest(guest_id=guest_id, actor=current_staff())
