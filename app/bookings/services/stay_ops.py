"""Arrival and departure, from the phone or at the front desk: check-in (room assigned from preferences, a no-show
who turned up brought back), express or desk checkout (early departures at the desk)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.audit import services as audit
from app.bookings.models import Booking, BookingStatus, ChargeKind, RoomState
from app.bookings.services import inventory
from app.bookings.services.booking import hotel_business_date
from app.bookings.services.folio import folio_view, open_folio, post_charge
from app.bookings.services.no_show import undo_no_show
from app.bookings.services.stays import guest_booking, occupied_stay_for_room, staff_booking
from app.core import clock, events
from app.core.errors import Conflict, Unprocessable
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
    _check_in_window(booking)
    preferences = db.session.get(GuestPreferences, guest_id)
    _assign_room(booking, _rooms_by_fit(booking, preferences))
    _arrive(booking, preferences, source="app")
    return booking


def desk_check_in(*, staff: Any, booking_id: int, room_id: int | None = None) -> Booking:
    """The front desk checks a guest in, in the room it picks or the best fit; audited.

    A no-show is checked in too (the guest turned up after the night audit): the audit's work is undone first,
    if the nights it released have not been sold again meanwhile.
    """
    booking = staff_booking(staff=staff, booking_id=booking_id, for_update=True)
    if booking.status not in (BookingStatus.CONFIRMED, BookingStatus.NO_SHOW):
        raise Conflict("Only a confirmed booking (or a no-show) can be checked in.", code="booking_not_checkable")
    _check_in_window(booking)
    after_no_show = booking.status == BookingStatus.NO_SHOW
    if after_no_show:
        undo_no_show(booking, staff_id=staff.id)
    preferences = db.session.get(GuestPreferences, booking.guest_id)
    rooms = [_chosen_room(booking, room_id)] if room_id is not None else _rooms_by_fit(booking, preferences)
    _assign_room(booking, rooms)
    _arrive(booking, preferences, source="desk")
    audit.record(actor=staff, action="stays.checked_in", subject_kind="booking", subject_id=booking.id,
                 hotel_id=booking.hotel_id, detail={"room_id": booking.room_id, "after_no_show": after_no_show})
    return booking


def _check_in_window(booking: Booking) -> None:
    today = hotel_business_date(db.session.get(Hotel, booking.hotel_id))
    if today < booking.check_in - timedelta(days=1):
        raise Conflict("Check-in opens the day before arrival.", code="check_in_not_open")
    if today >= booking.check_out:
        raise Conflict("The dates of this booking are over.", code="check_in_not_open")


def _arrive(booking: Booking, preferences: GuestPreferences | None, *, source: str) -> None:
    """What every check-in does once the room is assigned: nights posted, the room prepared (subscribers)."""
    _post_room_nights(booking)
    guest = db.session.get(Guest, booking.guest_id)
    events.record("booking.checked_in", hotel_id=booking.hotel_id, guest_id=booking.guest_id, subject_id=booking.id,
                  payload={"room_id": booking.room_id, "room_number": booking.room.number,
                           "preferences": preferences_payload(preferences), "language": guest.language,
                           "source": source})


def _chosen_room(booking: Booking, room_id: int) -> Room:
    """The room the desk picked, if the booking may have it: same hotel, the booked type, in service, empty."""
    room = db.session.get(Room, room_id)
    if room is None or room.hotel_id != booking.hotel_id:
        raise Unprocessable("No such room in this hotel.", code="unknown_room",
                            errors={"room_id": ["Not a room of this hotel."]})
    if room.room_type_id != booking.room_type_id:
        raise Conflict("This room is not of the booked type.", code="room_type_mismatch")
    if not room.is_active:
        raise Conflict("This room is out of service.", code="room_out_of_service")
    if occupied_stay_for_room(room_id=room.id) is not None:
        raise Conflict("Somebody is staying in this room.", code="room_occupied")
    return room


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


@dataclass(frozen=True)
class Departure:
    """What checking out today settles. A guest leaving before their last night pays tonight (the room was held
    for it and is rarely sold the same day); the nights after it are credited and go back on sale."""

    day: date  # the hotel's business date (see hotel_business_date)
    unstayed_nights: list[dict[str, Any]]  # the quote's nights credited: {"night", "net", "tax", ...}
    balance: int  # the folio's balance once they are credited: what the guest confirms and settles

    @property
    def early(self) -> bool:
        return bool(self.unstayed_nights)

    @property
    def paid_until(self) -> date | None:
        """The new check-out date of an early departure (the morning after the last night paid)."""
        return date.fromisoformat(self.unstayed_nights[0]["night"]) if self.unstayed_nights else None


def departure(booking: Booking) -> Departure:
    """What checking the stay out now would settle (it changes nothing)."""
    today = hotel_business_date(db.session.get(Hotel, booking.hotel_id))
    first_unstayed = max(today, booking.check_in) + timedelta(days=1)
    unstayed = [night for night in booking.quote.get("nights", [])
                if date.fromisoformat(night["night"]) >= first_unstayed]
    return Departure(day=today, unstayed_nights=unstayed,
                     balance=folio_view(booking).balance - sum(night["net"] + night["tax"] for night in unstayed))


def express_checkout(*, guest_id: int, booking_id: int, confirmed_balance: int) -> CheckoutResult:
    """The guest confirms the folio balance they reviewed; the stay ends, the room goes to housekeeping."""
    booking = _in_house(guest_booking(guest_id=guest_id, booking_id=booking_id, for_update=True))
    leaving = departure(booking)
    if leaving.early:
        raise Conflict("Express checkout opens on your last night; for an early departure see the front desk.",
                       code="early_departure_at_desk")
    return _check_out(booking, leaving, confirmed_balance, source="app")


def desk_checkout(*, staff: Any, booking_id: int, confirmed_balance: int) -> CheckoutResult:
    """The front desk checks a guest out, early departures included (see Departure); audited."""
    booking = _in_house(staff_booking(staff=staff, booking_id=booking_id, for_update=True))
    leaving = departure(booking)
    booked_check_out = booking.check_out
    result = _check_out(booking, leaving, confirmed_balance, source="desk", staff_id=staff.id)
    audit.record(actor=staff, action="stays.checked_out", subject_kind="booking", subject_id=booking.id,
                 hotel_id=booking.hotel_id, detail={"balance": result.balance, "early": leaving.early,
                                                    "booked_check_out": booked_check_out.isoformat()})
    return result


def _in_house(booking: Booking) -> Booking:
    if booking.status != BookingStatus.IN_HOUSE:
        raise Conflict("Only a stay in progress can be checked out.", code="stay_not_in_house")
    return booking


def _check_out(booking: Booking, leaving: Departure, confirmed_balance: int, *, source: str,
               staff_id: int | None = None) -> CheckoutResult:
    if leaving.balance != confirmed_balance:
        raise Conflict("The folio changed since you reviewed it; please review it again.", code="folio_changed",
                       balance=leaving.balance)
    booked_check_out = booking.check_out
    if leaving.early:
        _credit_unstayed_nights(booking, leaving, staff_id)
        inventory.release_nights(room_type_id=booking.room_type_id, check_in=leaving.paid_until,
                                 check_out=booking.check_out)
        booking.check_out = leaving.paid_until
    folio = open_folio(booking)
    folio.close()
    booking.status = BookingStatus.CHECKED_OUT.value
    booking.checked_out_at = clock.now()
    booking.room_state = RoomState.NONE.value
    eligible = sum(c.amount for c in folio.charges if c.kind in ELIGIBLE_KINDS)
    points = loyalty.record_completed_stay(
        guest_id=booking.guest_id, booking_id=booking.id, hotel_id=booking.hotel_id, nights=booking.nights,
        eligible_spend=eligible, currency=booking.currency, completed_at=booking.checked_out_at)
    events.record("booking.checked_out", hotel_id=booking.hotel_id, guest_id=booking.guest_id, subject_id=booking.id,
                  payload={"room_id": booking.room_id, "room_number": booking.room.number, "nights": booking.nights,
                           "balance": folio.balance, "currency": booking.currency, "points_earned": points,
                           "source": source, "booked_check_out": booked_check_out.isoformat()})
    return CheckoutResult(stay=booking, balance=folio.balance, points_earned=points)


def _credit_unstayed_nights(booking: Booking, leaving: Departure, staff_id: int | None) -> None:
    for night in leaving.unstayed_nights:
        label = night["night"]
        post_charge(booking_id=booking.id, kind=ChargeKind.ROOM_NIGHT, amount=-night["net"],
                    source=f"night:{label}:credit", posted_by_staff_id=staff_id,
                    description={"en": f"Room, night of {label}: early departure",
                                 "ru": f"Проживание, ночь {label}: ранний выезд"})
        if night["tax"]:
            post_charge(booking_id=booking.id, kind=ChargeKind.TAX, amount=-night["tax"],
                        source=f"tax:{label}:credit", posted_by_staff_id=staff_id,
                        description={"en": f"Tax, night of {label}: early departure",
                                     "ru": f"Налог, ночь {label}: ранний выезд"})
