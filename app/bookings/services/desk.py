"""The front desk's lists of a hotel's day (who arrives, who leaves, who is in the house), one stay as the desk sees
it, and bookings made at the desk.

The desk works from these: who is still expected today, who has checked in on the phone and got which room, who
did not come (after the night audit), who leaves. A hotel's day is its own: dates are the hotel's local dates.
Reading the lists shows guests' names, so each read is audited like a guest search.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.audit import services as audit
from app.bookings.models import Booking, BookingChannel, BookingStatus, Folio
from app.bookings.services.booking import create_booking, hotel_business_date, make_quote
from app.bookings.services.folio import folio_view
from app.bookings.services.pricing import Quote, StayRequest
from app.bookings.services.stay_ops import Departure, departure
from app.bookings.services.stays import staff_booking
from app.core.errors import NotFound
from app.core.pagination import Page, paginate
from app.extensions import db
from app.guests import services as guests
from app.guests.models import Guest
from app.hotels.models import Hotel


class DeskList(StrEnum):
    ARRIVALS = "arrivals"  # arriving on the day: still expected, already in, or a no-show
    DEPARTURES = "departures"  # leaving on the day: still in, or already out
    IN_HOUSE = "in_house"  # checked in now, whatever the day


_LISTS = {
    DeskList.ARRIVALS: (Booking.check_in, (BookingStatus.CONFIRMED, BookingStatus.IN_HOUSE, BookingStatus.NO_SHOW)),
    DeskList.DEPARTURES: (Booking.check_out, (BookingStatus.IN_HOUSE, BookingStatus.CHECKED_OUT)),
    DeskList.IN_HOUSE: (None, (BookingStatus.IN_HOUSE,)),
}


@dataclass(frozen=True)
class DeskEntry:
    booking: Booking
    guest_name: str  # as the guest gave it; empty for a profile without a name


def desk_list(*, staff: Any, hotel_id: int, kind: DeskList, day: date | None, cursor: str | None,
              limit: int) -> tuple[date, Page]:
    """One of the desk's lists for the hotel's `day`, in booking order; by default its business date (the night
    clerk at 02:00 still sees the evening's late arrivals)."""
    hotel = db.session.get(Hotel, hotel_id)
    if hotel is None or not staff.can_access_hotel(hotel_id):
        raise NotFound("No such hotel.")
    day = day or hotel_business_date(hotel)
    date_column, statuses = _LISTS[kind]
    stmt = (select(Booking).options(joinedload(Booking.room))
            .where(Booking.hotel_id == hotel_id, Booking.status.in_([status.value for status in statuses])))
    if date_column is not None:
        stmt = stmt.where(date_column == day)
    page = paginate(stmt, keys=[Booking.id], cursor=cursor, limit=limit)
    guest_ids = sorted({booking.guest_id for booking in page.items})
    names = {guest_id: _full_name(first, last) for guest_id, first, last in
             db.session.execute(select(Guest.id, Guest.first_name, Guest.last_name).where(Guest.id.in_(guest_ids)))}
    audit.record(actor=staff, action="stays.listed", subject_kind="hotel", subject_id=hotel_id, hotel_id=hotel_id,
                 detail={"list": kind.value, "day": day.isoformat(), "guests": guest_ids})
    entries = [DeskEntry(booking=booking, guest_name=names.get(booking.guest_id, "")) for booking in page.items]
    return day, Page(entries, page.next_cursor)


def desk_quote(*, staff: Any, guest_id: int | None, stay: StayRequest) -> Quote:
    """The price at the desk of one of my hotels: the public price less the guest's tier discount and a promo code,
    never the app-only discount."""
    _my_hotel(staff, stay.hotel_id)
    if guest_id is not None:
        guests.visible_guest(staff=staff, guest_id=guest_id)
    return make_quote(guest_id=guest_id, stay=stay, channel=BookingChannel.FRONT_DESK)


def desk_book(*, staff: Any, guest_id: int, stay: StayRequest, expected_total: int | None = None,
              special_requests: str | None = None) -> Booking:
    """Book a stay at one of my hotels for a guest the desk knows (a walk-in profile, or a guest of the chain who
    stayed with us), at the desk's price; audited. The guest sees it in the app like their own bookings."""
    _my_hotel(staff, stay.hotel_id)
    guests.visible_guest(staff=staff, guest_id=guest_id)
    booking = create_booking(guest_id=guest_id, stay=stay, expected_total=expected_total,
                             special_requests=special_requests, channel=BookingChannel.FRONT_DESK)
    audit.record(actor=staff, action="stays.booked", subject_kind="booking", subject_id=booking.id,
                 hotel_id=booking.hotel_id, detail={"guest_id": guest_id, "total": booking.total_amount})
    return booking


def _my_hotel(staff: Any, hotel_id: int) -> None:
    if not staff.can_access_hotel(hotel_id) or db.session.get(Hotel, hotel_id) is None:
        raise NotFound("No such hotel.")


@dataclass(frozen=True)
class DeskStay(DeskEntry):
    folio: Folio
    departure: Departure | None  # what checking out now settles; only for a stay in progress


def desk_stay(*, staff: Any, booking_id: int) -> DeskStay:
    """One booking of the staff member's hotels as the desk works on it: guest, room, folio, and what checking out
    now would settle (audited like the lists)."""
    booking = staff_booking(staff=staff, booking_id=booking_id)
    guest = db.session.get(Guest, booking.guest_id)
    audit.record(actor=staff, action="stays.viewed", subject_kind="booking", subject_id=booking.id,
                 hotel_id=booking.hotel_id, detail={"guest_id": booking.guest_id})
    return DeskStay(booking=booking, guest_name=_full_name(guest.first_name, guest.last_name),
                    folio=folio_view(booking),
                    departure=departure(booking) if booking.status == BookingStatus.IN_HOUSE else None)


def _full_name(first: str | None, last: str | None) -> str:
    return " ".join(part for part in (first, last) if part)
