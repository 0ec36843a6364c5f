"""Bookings use cases, split by what they manage. Other domains use these, never the models' tables directly."""

from app.bookings.services.folio import guest_folio, open_folio, post_charge
from app.bookings.services.queries import find_booking, guest_bookings
from app.bookings.services.stays import (
    current_stay,
    guest_booking,
    guest_stay_in_house,
    occupied_stay_for_room,
    set_guest_room_state,
    set_room_state,
)

__all__ = [
    "current_stay", "find_booking", "guest_booking", "guest_bookings", "guest_folio", "guest_stay_in_house",
    "occupied_stay_for_room", "open_folio", "post_charge", "set_guest_room_state", "set_room_state",
]
