"""Arrival and departure: mobile check-in (room assigned from preferences) and express checkout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.bookings.models import Booking, BookingStatus, ChargeKind, RoomState
from app.bookings.services.booking import hotel_today
from app.bookings.services.folio import open_folio, post_charge
from app.bookings.services.stays import guest_booking
from app.core import clock, events
from app.core.errors import Conflict
from app.extensions import db
from app.guests.models import Guest, GuestPreferences
from app.hotels.models import Hotel, Room
from app.loyalty import services as loyalty

# Spend that earns loyalty points: the stay and services, not taxes, fees or points themselves.
ELIGIBLE_KINDS = {ChargeKind.ROOM_NIGHT, ChargeKind.ROOM_SERVICE, ChargeKind.LAUNDRY, ChargeKind.MINIBAR,
                  ChargeKind.EXCURSION}


def check_in(*, guest_id: int, booking_id: int) -> Booking:
    """Mobile check-in from the day before arrival: a room is assigned (preferences first), nights posted."""
    booking = guest_booking(guest_id=guest_id, booking_id=booking_id, for_update=True)
    if booking.status != BookingStatus.CONFIRMED:
        raise Conflict("Only a confirmed booking can be checked in.", code="booking_not_checkable")
    hotel = db.session.get(Hotel, booking.hotel_id)
    today = hotel_today(hotel)
    if not booking.check_in - timedelta(days=1) <= today < booking.check_out:
        raise Conflict("Mobile check-in opens the day before arrival.", code="check_in_not_open")
    preferences = db.session.get(GuestPreferences, guest_id)
    _assign_room(booking, _rooms_by_fit(booking, preferences))
    _post_room_nights(booking)
    guest = db.session.get(Guest, guest_id)
    events.record("booking.checked_in", hotel_id=booking.hotel_id, guest_id=guest_id, subject_id=booking.id,
                  payload={"room_id": booking.room_id, "room_number": booking.room.number,
                           "preferences": preferences_payload(preferences), "language": guest.language})
    return booking


# Rooms tried, best fit first, when guests checking in at the same moment were given the same one.
ROOM_ATTEMPTS = 5


def _rooms_by_fit(booking: Booking, preferences: GuestPreferences | None) -> list[Room]:
    occupied = select(Booking.room_id).where(Booking.status == BookingStatus.IN_HOUSE, Booking.room_id.is_not(None))
    rooms = list(db.session.scalars(select(Room).where(
        Room.room_type_id == booking.room_type_id, Room.is_active.is_(True), Room.id.not_in(occupied))))
    if not rooms:
        raise Conflict("No room of your type is ready yet; the front desk will assign one.", code="no_room_ready")
    return sorted(rooms, key=lambda room: (_fit(room, preferences), -room.id), reverse=True)


def _assign_room(booking: Booking, rooms: list[Room]) -> None:
    """Give the booking the first of `rooms` nobody else is in, and make it in-house.

    Guests checking in at the same moment see the same free rooms and prefer the same one. The unique index on
    in-house rooms lets one of them have it; on PostgreSQL the others wait for that one's commit, then fail, and
    try the next room in a savepoint (SQLite runs one writer at a time: nobody ever races there).
    """
    for room in rooms[:ROOM_ATTEMPTS]:
        try:
            with db.session.begin_nested():
                booking.room_id = room.id
                booking.status = BookingStatus.IN_HOUSE.value
                booking.checked_in_at = clock.now()
                db.session.flush()
            return
        except IntegrityError:  # another check-in took this room a moment ago
            continue
    raise Conflict("The room was just taken; please try again.", code="room_assignment_conflict")


def _fit(room: Room, preferences: GuestPreferences | None) -> tuple[int, int]:
    """How well a room matches: quiet first, then the floor wish (high: higher is better; low: lower)."""
    if preferences is None:
        return 0, 0
    quiet = int(bool(preferences.quiet_room) and "quiet" in (room.features or []))
    floor = {"high": room.floor, "low": -room.floor}.get(preferences.floor or "", 0)
    return quiet, floor


# Encrypted in the profile (health data, free text): never copied into an event or a request's plain details.
PRIVATE_PREFERENCES = ("allergies", "notes")


def preferences_payload(preferences: GuestPreferences | None) -> dict[str, Any]:
    """The guest's chain-wide preferences as plain JSON, for room preparation and the room's devices; without
    PRIVATE_PREFERENCES (see private_preferences)."""
    if preferences is None:
        return {}
    names = ("room_temperature_c", "light_level", "curtains_position", "pillow", "bed", "floor", "quiet_room",
             "diet", "newspaper", "service_language")
    values = {name: getattr(preferences, name) for name in names}
    return {name: str(value) if isinstance(value, Decimal) else value for name, value in values.items()
            if value not in (None, [], "")}


def private_preferences(*, guest_id: int) -> dict[str, Any]:
    """The guest's allergies and notes, for the staff who prepare the room (kept encrypted wherever copied)."""
    preferences = db.session.get(GuestPreferences, guest_id)
    if preferences is None:
        return {}
    values = {name: getattr(preferences, name) for name in PRIVATE_PREFERENCES}
    return {name: value for name, value in values.items() if value not in (None, [], "")}


def _post_room_nights(booking: Booking) -> None:
    for night in booking.quote.get("nights", []):
        label = night["night"]
        post_charge(booking_id=booking.id, kind=ChargeKind.ROOM_NIGHT, amount=night["net"], source=f"night:{label}",
                    description={"en": f"Room, night of {label}", "ru": f"Проживание, ночь {label}"})
        if night["tax"]:
            post_charge(booking_id=booking.id, kind=ChargeKind.TAX, amount=night["tax"], source=f"tax:{label}",
                        description={"en": f"Tax, night of {label}", "ru": f"Налог, ночь {label}"})


@dataclass
class CheckoutResult:
    stay: Booking
    balance: int
    points_earned: int


def express_checkout(*, guest_id: int, booking_id: int, confirmed_balance: int) -> CheckoutResult:
    """The guest confirms the folio balance they reviewed; the stay ends, the room goes to housekeeping."""
    booking = guest_booking(guest_id=guest_id, booking_id=booking_id, for_update=True)
    if booking.status != BookingStatus.IN_HOUSE:
        raise Conflict("Only a stay in progress can be checked out.", code="stay_not_in_house")
    if hotel_today(db.session.get(Hotel, booking.hotel_id)) < booking.check_out - timedelta(days=1):
        raise Conflict("Express checkout opens on your last night; for an early departure see the front desk.",
                       code="early_departure_at_desk")
    folio = open_folio(booking)
    if folio.balance != confirmed_balance:
        raise Conflict("The folio changed since you reviewed it; please review it again.", code="folio_changed",
                       balance=folio.balance)
    folio.close()
    booking.status = BookingStatus.CHECKED_OUT.value
    booking.checked_out_at = clock.now()
    booking.room_state = RoomState.NONE.value
    eligible = sum(c.amount for c in folio.charges if c.kind in ELIGIBLE_KINDS)
    points = loyalty.record_completed_stay(
        guest_id=guest_id, booking_id=booking.id, hotel_id=booking.hotel_id, nights=booking.nights,
        eligible_spend=eligible, currency=booking.currency, completed_at=booking.checked_out_at)
    events.record("booking.checked_out", hotel_id=booking.hotel_id, guest_id=guest_id, subject_id=booking.id,
                  payload={"room_id": booking.room_id, "room_number": booking.room.number, "nights": booking.nights,
                           "balance": folio.balance, "currency": booking.currency, "points_earned": points})
    return CheckoutResult(stay=booking, balance=folio.balance, points_earned=points)
