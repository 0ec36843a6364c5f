"""The folio: the one way any part of the system bills a stay."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.bookings.models import Booking, Folio, FolioCharge
from app.bookings.services.stays import guest_booking
from app.core import events
from app.core.errors import Unprocessable
from app.extensions import db


def open_folio(booking: Booking) -> Folio:
    """The stay's folio, created on first use."""
    if booking.folio is None:
        booking.folio = Folio(currency=booking.currency)
        db.session.add(booking.folio)
        db.session.flush()
    return booking.folio


def guest_folio(*, guest_id: int, booking_id: int) -> Folio:
    """The folio of the guest's own booking (an empty one before anything is posted)."""
    return folio_view(guest_booking(guest_id=guest_id, booking_id=booking_id))


def folio_view(booking: Booking) -> Folio:
    """The booking's folio to show: an empty, unsaved one before anything is posted (reading creates nothing)."""
    return booking.folio or Folio(booking_id=booking.id, currency=booking.currency, charges=[])


def post_charge(*, booking_id: int, kind: str, amount: int, source: str, description: dict[str, str],
                quantity: int = 1, service_date: date | None = None,
                posted_by_staff_id: int | None = None) -> FolioCharge:
    """Post a charge to a stay's folio, at most once per `source` (e.g. "request:42"): a repeat returns the first.

    `amount` is the total for the quantity, in minor units of the stay's currency. Raises Conflict(folio_closed)
    once the guest has checked out.
    """
    if not source:
        raise Unprocessable("A charge needs a source reference.", code="charge_source_required")
    # FOR NO KEY UPDATE (key_share): charges to one stay still go one at a time, but rows being inserted that
    # point at the booking (a guest's new request holds a KEY SHARE lock on it until commit) do not block us.
    # With FOR UPDATE, a staff member completing a request (event lock held) waited for such a guest, who waited
    # for the event lock: a deadlock (bench/run-load on PostgreSQL found it).
    booking = db.session.get(Booking, booking_id, with_for_update={"key_share": True})
    if booking is None:
        raise LookupError(f"no booking {booking_id}")
    folio = open_folio(booking)
    existing = db.session.scalar(select(FolioCharge).where(FolioCharge.folio_id == folio.id,
                                                           FolioCharge.source == source))
    if existing is not None:
        return existing
    charge = folio.add_charge(FolioCharge(kind=kind, amount=amount, source=source, description=description,
                                          quantity=quantity, service_date=service_date,
                                          posted_by_staff_id=posted_by_staff_id))
    db.session.flush()
    events.record("folio.charge_posted", hotel_id=booking.hotel_id, guest_id=booking.guest_id,
                  subject_id=booking.id, payload={"charge_id": charge.id, "kind": kind, "amount": amount,
                                                  "currency": folio.currency, "source": source})
    return charge
