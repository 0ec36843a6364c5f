"""The night audit's no-shows: a confirmed booking whose guest never arrived is closed the morning after.

Until it runs, a booking nobody checked in stays `confirmed` for ever: its room counted as taken on every later
night of the stay (so not sold again), and the fee the guest agreed to never charged. A hotel's night audit closes
such bookings after the arrival day: here at NO_SHOW_AUDIT_HOUR, hotel time, on the day after arrival (guests
arriving after midnight can still check in until then). The booking becomes `no_show`:
- the nights from that day on go back on sale (the arrival night stays counted: the room was held for it);
- the fee agreed at booking for a late cancellation is posted to its folio, which is closed (the usual terms: not
  arriving costs what cancelling too late would);
- `booking.no_show` is recorded (the guest gets a push).
A guest who turns up after all is checked in by the front desk, which undoes this first (undo_no_show).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.bookings.models import Booking, BookingStatus, ChargeKind
from app.bookings.services import inventory
from app.bookings.services.folio import open_folio, post_charge
from app.core import events
from app.core.errors import Conflict
from app.extensions import db
from app.hotels.models import Hotel


def last_arrival_due(now: datetime, time_zone: str, audit_hour: int) -> date:
    """The latest arrival date whose no-shows are due at `now` in a hotel of `time_zone`."""
    local = now.astimezone(ZoneInfo(time_zone))
    days_back = 1 if local.time() >= time(audit_hour) else 2
    return local.date() - timedelta(days=days_back)


def due_no_show_ids(*, now: datetime, audit_hour: int, limit: int) -> list[int]:
    """Confirmed bookings, in every hotel, whose arrival day is over by the hotel's audit hour (oldest first)."""
    ids: list[int] = []
    for hotel_id, time_zone in db.session.execute(select(Hotel.id, Hotel.time_zone).order_by(Hotel.id)).all():
        if len(ids) >= limit:
            break
        ids += db.session.scalars(  # ix_bookings_hotel_id_status_check_in
            select(Booking.id).where(Booking.hotel_id == hotel_id, Booking.status == BookingStatus.CONFIRMED.value,
                                     Booking.check_in <= last_arrival_due(now, time_zone, audit_hour))
            .order_by(Booking.check_in, Booking.id).limit(limit - len(ids)))
    return ids


def record_no_show(*, booking_id: int, now: datetime, audit_hour: int) -> bool:
    """Close one booking as a no-show if it is still due; False if it is not (checked in or cancelled meanwhile)."""
    # Locked like every change of a booking's status (see stays.guest_booking): a check-in arriving at the same
    # moment waits, then finds the booking no longer confirmed.
    booking = db.session.get(Booking, booking_id, with_for_update={"key_share": True}, populate_existing=True)
    if booking is None or booking.status != BookingStatus.CONFIRMED:
        return False
    hotel = db.session.get(Hotel, booking.hotel_id)
    if booking.check_in > last_arrival_due(now, hotel.time_zone, audit_hour):
        return False
    audit_day = now.astimezone(ZoneInfo(hotel.time_zone)).date()
    if audit_day < booking.check_out:
        inventory.release_nights(room_type_id=booking.room_type_id, check_in=max(booking.check_in, audit_day),
                                 check_out=booking.check_out)
    fee = booking.quote.get("cancellation", {}).get("fee", 0)
    booking.status = BookingStatus.NO_SHOW.value
    booking.cancelled_at = now
    booking.cancellation_fee = fee
    if fee:
        post_charge(booking_id=booking.id, kind=ChargeKind.FEE, amount=fee, source="no_show",
                    description={"en": "No-show fee", "ru": "Штраф за незаезд"})
    open_folio(booking).close()
    events.record("booking.no_show", hotel_id=booking.hotel_id, guest_id=booking.guest_id, subject_id=booking.id,
                  payload={"reference": booking.reference, "check_in": booking.check_in.isoformat(), "fee": fee,
                           "currency": booking.currency})
    return True


def undo_no_show(booking: Booking, *, staff_id: int) -> None:
    """The guest turned up after the night audit: make the booking confirmed again, as if the audit had not run.

    The nights the audit released are taken again (409 sold_out if they were sold meanwhile: the desk then books
    the guest what is left), the no-show fee is credited and the folio reopened for the stay. The caller holds the
    booking's lock (see stays.guest_booking) and checks the guest in next.
    """
    hotel = db.session.get(Hotel, booking.hotel_id)
    audit_day = booking.cancelled_at.astimezone(ZoneInfo(hotel.time_zone)).date()
    released_from = max(booking.check_in, audit_day)
    if released_from < booking.check_out:
        try:
            inventory.hold_nights(room_type_id=booking.room_type_id, check_in=released_from,
                                  check_out=booking.check_out)
        except Conflict as error:
            raise Conflict("The nights the night audit released have been sold again.", code=error.code) from error
    open_folio(booking).reopen()
    if booking.cancellation_fee:
        post_charge(booking_id=booking.id, kind=ChargeKind.FEE, amount=-booking.cancellation_fee,
                    source="no_show:waived", posted_by_staff_id=staff_id,
                    description={"en": "No-show fee waived: the guest arrived",
                                 "ru": "Штраф за незаезд отменён: гость прибыл"})
    booking.status = BookingStatus.CONFIRMED.value
    booking.cancelled_at = None
    booking.cancellation_fee = 0
