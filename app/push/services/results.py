"""A campaign's results over time: pushes sent, notifications opened and attributed bookings, per day (UTC)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, func, select

from app.bookings.models import Booking
from app.extensions import db
from app.push.models import Delivery, DeliveryStatus, Notification
from app.push.services.campaigns import get_campaign


def campaign_timeline(*, staff: Any, campaign_id: int) -> list[dict[str, Any]]:
    """[{day, sent, opened, bookings}] for every day something happened, oldest first (the same attribution as
    campaign_stats: a booking made within 7 days of the guest's push)."""
    campaign = get_campaign(staff=staff, campaign_id=campaign_id)
    sent_day = func.date(Delivery.sent_at)
    sent = db.session.execute(select(sent_day, func.count()).where(
        Delivery.campaign_id == campaign.id, Delivery.status == DeliveryStatus.SENT.value,
        Delivery.sent_at.is_not(None)).group_by(sent_day)).all()
    opened_day = func.date(Notification.opened_at)
    opened = db.session.execute(select(opened_day, func.count()).where(
        Notification.campaign_id == campaign.id, Notification.opened_at.is_not(None)).group_by(opened_day)).all()
    booked_day = func.date(Booking.created_at)
    booked = db.session.execute(
        select(booked_day, func.count(func.distinct(Booking.id))).select_from(Notification).join(Booking, and_(
            Booking.guest_id == Notification.guest_id, Booking.created_at >= Notification.push_after,
            Booking.created_at < Notification.attribution_ends_at))
        .where(Notification.campaign_id == campaign.id).group_by(booked_day)).all()
    days: dict[date, dict[str, Any]] = {}
    for key, rows in (("sent", sent), ("opened", opened), ("bookings", booked)):
        for day, count in rows:
            day = day if isinstance(day, date) else date.fromisoformat(str(day)[:10])  # SQLite answers a string
            days.setdefault(day, {"day": day, "sent": 0, "opened": 0, "bookings": 0})[key] = count
    return [days[day] for day in sorted(days)]
