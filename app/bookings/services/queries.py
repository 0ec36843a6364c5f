"""Read-only lookups of bookings and stays for higher domains (requests: staff on a guest's behalf, summaries)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from app.bookings.models import Booking
from app.extensions import db


def find_booking(*, booking_id: int) -> Booking | None:
    """A booking or stay by id, whoever it belongs to (the caller checks who may see it)."""
    return db.session.get(Booking, booking_id)


def guest_bookings(*, guest_id: int, hotel_ids: Iterable[int] | None = None, limit: int = 20) -> list[Booking]:
    """A guest's bookings, latest arrival first; `hotel_ids=None` means at every hotel."""
    stmt = select(Booking).where(Booking.guest_id == guest_id)
    if hotel_ids is not None:
        stmt = stmt.where(Booking.hotel_id.in_(list(hotel_ids)))
    return list(db.session.scalars(stmt.order_by(Booking.check_in.desc(), Booking.id.desc()).limit(limit)))
