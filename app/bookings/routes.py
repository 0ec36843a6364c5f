"""Guests' bookings and stays: the stay in progress, its folio, the room's do-not-disturb state."""

from flask.views import MethodView
from flask_smorest import Blueprint

from app.bookings import services
from app.bookings.schemas import FolioSchema, RoomStateSchema, StaySchema
from app.core.auth import current_guest, guest_required
from app.core.db import unit_of_work
from app.core.errors import NotFound

stays_blp = Blueprint("stays", __name__, description="The guest's stays: folio, room state, checkout")


@stays_blp.route("/current")
class CurrentStay(MethodView):
    @guest_required
    @stays_blp.response(200, StaySchema)
    def get(self):
        """Show the guest's stay in progress (404 when not checked in anywhere)."""
        stay = services.current_stay(guest_id=current_guest().id)
        if stay is None:
            raise NotFound("You are not checked in.", code="no_current_stay")
        return stay


@stays_blp.route("/<int:stay_id>")
class StayById(MethodView):
    @guest_required
    @stays_blp.response(200, StaySchema)
    def get(self, stay_id: int):
        """Show one of the guest's stays."""
        return services.guest_booking(guest_id=current_guest().id, booking_id=stay_id)


@stays_blp.route("/<int:stay_id>/folio")
class StayFolio(MethodView):
    @guest_required
    @stays_blp.response(200, FolioSchema)
    def get(self, stay_id: int):
        """Show the stay's folio as it stands: every charge posted so far and the balance."""
        return services.guest_folio(guest_id=current_guest().id, booking_id=stay_id)


@stays_blp.route("/<int:stay_id>/room-status")
class StayRoomStatus(MethodView):
    @guest_required
    @stays_blp.arguments(RoomStateSchema)
    @stays_blp.response(200, StaySchema)
    def put(self, data: dict, stay_id: int):
        """Set do-not-disturb, make-up-room, or neither, on the room of the stay in progress."""
        with unit_of_work():
            return services.set_guest_room_state(guest_id=current_guest().id, booking_id=stay_id, state=data["state"])
