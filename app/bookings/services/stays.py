"""Finding stays for the other domains, and the room's do-not-disturb / make-up-room state."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select

from app.bookings.models import Booking, BookingStatus, RoomState
from app.core import clock, events
from app.core.errors import Conflict, NotFound
from app.core.prepared_reads import PreparedRead
from app.extensions import db
from app.hotels.models import Hotel, Room

# The keys of a guest's own stay, read outside the Session (app/core/prepared_reads.py): for a guest's room
# commands and service requests, sent many times a stay, which need where the stay is, not the booking (loading it
# through the ORM cost more than the command's own INSERT). The room's number and the hotel's time zone come along:
# a request shows the one and checks serving hours in the other.
_GUEST_STAY_KEYS = PreparedRead(
    select(Booking.id, Booking.status, Booking.hotel_id, Booking.guest_id, Booking.room_id, Booking.currency,
           Booking.room_state, Room.number.label("room_number"), Hotel.time_zone)
    .join(Hotel, Hotel.id == Booking.hotel_id).outerjoin(Room, Room.id == Booking.room_id)
    .where(Booking.id == bindparam("booking_id"), Booking.guest_id == bindparam("guest_id")))


def current_stay(*, guest_id: int) -> Booking | None:
    """The guest's stay in progress (checked in, not yet out), if any; the latest if several."""
    return db.session.scalar(select(Booking).where(Booking.guest_id == guest_id,
                                                   Booking.status == BookingStatus.IN_HOUSE)
                             .order_by(Booking.check_in.desc(), Booking.id.desc()).limit(1))


def guest_booking(*, guest_id: int, booking_id: int, for_update: bool = False) -> Booking:
    """The guest's own booking or stay; another guest's is NotFound (never leak existence).

    `for_update` locks the row for a change of status (check-in, cancel, checkout, the night audit's no-show), so
    that two of them at the same moment run one after the other and the second sees what the first did (PostgreSQL;
    SQLite has one writer anyway). FOR NO KEY UPDATE, as post_charge takes it: rows being inserted that refer to
    the booking (a guest's new request) do not wait for it.
    """
    booking = _get_booking(booking_id, for_update)
    if booking is None or booking.guest_id != guest_id:
        raise NotFound("No such booking.")
    return booking


def staff_booking(*, staff: Any, booking_id: int, for_update: bool = False) -> Booking:
    """A booking at one of the staff member's hotels; any other is NotFound. `for_update`: see guest_booking."""
    booking = _get_booking(booking_id, for_update)
    if booking is None or not staff.can_access_hotel(booking.hotel_id):
        raise NotFound("No such booking.")
    return booking


def _get_booking(booking_id: int, for_update: bool) -> Booking | None:
    lock = {"with_for_update": {"key_share": True}, "populate_existing": True} if for_update else {}
    return db.session.get(Booking, booking_id, **lock)


def guest_stay_in_house(*, guest_id: int, booking_id: int) -> Booking:
    """The guest's own stay, which must be in progress (ordering to a room needs a checked-in guest)."""
    booking = guest_booking(guest_id=guest_id, booking_id=booking_id)
    if booking.status != BookingStatus.IN_HOUSE:
        raise Conflict("This stay is not in progress.", code="stay_not_in_house")
    return booking


def guest_stay_in_house_keys(*, guest_id: int, booking_id: int) -> Any:
    """`guest_stay_in_house`'s checks and errors, but only the stay's keys (id, status, hotel_id, guest_id,
    room_id, currency, room_state, room_number, time_zone), read in one autocommit SELECT outside the Session. Not
    for a unit of work that has written to the booking."""
    stay = _GUEST_STAY_KEYS.first(booking_id=booking_id, guest_id=guest_id)
    if stay is None:
        raise NotFound("No such booking.")
    if stay.status != BookingStatus.IN_HOUSE:
        raise Conflict("This stay is not in progress.", code="stay_not_in_house")
    return stay


def occupied_stay_for_room(*, room_id: int) -> Booking | None:
    """The stay currently in a room (for the room's devices and its DND button)."""
    return db.session.scalar(select(Booking).where(Booking.room_id == room_id,
                                                   Booking.status == BookingStatus.IN_HOUSE).limit(1))


def set_room_state(*, booking: Booking, state: str, source: str) -> Booking:
    """Set DND / make-up-room / none on an occupied room; records `room.dnd_changed` (source: app|device|staff)."""
    if booking.status != BookingStatus.IN_HOUSE or booking.room_id is None:
        raise Conflict("Only an occupied room has a do-not-disturb state.", code="room_not_occupied")
    previous = booking.room_state
    if previous == state:
        return booking
    booking.room_state = RoomState(state).value
    booking.room_state_changed_at = clock.now()
    events.record("room.dnd_changed", hotel_id=booking.hotel_id, guest_id=booking.guest_id, subject_id=booking.id,
                  payload={"room_id": booking.room_id, "state": booking.room_state, "previous": previous,
                           "source": source})
    return booking


def set_guest_room_state(*, guest_id: int, booking_id: int, state: str) -> Booking:
    """The guest sets the state of their own occupied room from the app."""
    return set_room_state(booking=guest_booking(guest_id=guest_id, booking_id=booking_id), state=state, source="app")
