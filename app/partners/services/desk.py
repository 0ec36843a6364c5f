"""The hotel desk's view of excursions: today's bookings made through one of my hotels, per partner."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.core import clock
from app.core.errors import NotFound
from app.extensions import db
from app.hotels.models import Hotel
from app.partners.models import ExperienceBooking, ExperienceBookingStatus, Partner

# What the desk needs to know about: bookings that still take place.
LIVE = (ExperienceBookingStatus.PENDING.value, ExperienceBookingStatus.CONFIRMED.value)


def hotel_day_bookings(*, staff: Any, hotel_id: int, day: date | None = None) -> list[dict[str, Any]]:
    """[{partner, bookings}] for the excursions starting on `day` (the hotel's today by default), by start time."""
    hotel = db.session.get(Hotel, hotel_id)
    if hotel is None or not staff.can_access_hotel(hotel_id):
        raise NotFound("No such hotel.")
    zone = ZoneInfo(hotel.time_zone)
    day = day or clock.now().astimezone(zone).date()
    start = datetime.combine(day, time.min, tzinfo=zone)
    rows = db.session.execute(
        select(ExperienceBooking, Partner).join(Partner, Partner.id == ExperienceBooking.partner_id)
        .where(ExperienceBooking.hotel_id == hotel_id, ExperienceBooking.status.in_(LIVE),
               ExperienceBooking.starts_at >= start, ExperienceBooking.starts_at < start + timedelta(days=1))
        .order_by(Partner.name, Partner.id, ExperienceBooking.starts_at, ExperienceBooking.id)).all()
    grouped: dict[int, dict[str, Any]] = {}
    for booking, partner in rows:
        grouped.setdefault(partner.id, {"partner": partner, "bookings": []})["bookings"].append(booking)
    return list(grouped.values())
