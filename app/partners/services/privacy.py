"""The partners domain's part of a guest's data rights: experience bookings and what partners were sent.

A booking is a financial record (commission, statements) and stays; the lead name becomes the pseudonym and the
shared contact goes, on the booking and in the webhook messages kept for redelivery.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from app.core.records import as_records
from app.extensions import db
from app.partners.models import DeliveryStatus, ExperienceBooking, WebhookDelivery, WebhookMessage


def export_for_guest(*, guest_id: int) -> dict[str, Any]:
    return {"experience_bookings": as_records(db.session.scalars(
        select(ExperienceBooking).where(ExperienceBooking.guest_id == guest_id).order_by(ExperienceBooking.id)))}


def erase_for_guest(*, guest_id: int, pseudonym: str) -> dict[str, int]:
    bookings = list(db.session.scalars(select(ExperienceBooking).where(ExperienceBooking.guest_id == guest_id)))
    for booking in bookings:
        booking.lead_name, booking.contact_phone, booking.contact_email = pseudonym, None, None
    return {"experience_bookings": len(bookings), "webhook_messages": _scrub_messages(bookings, pseudonym)}


def _scrub_messages(bookings: list[ExperienceBooking], pseudonym: str) -> int:
    """Rewrite the kept webhook bodies about these bookings (a pending redelivery then carries the pseudonym)."""
    ids = {booking.id for booking in bookings}
    partners = {booking.partner_id for booking in bookings}
    if not ids:
        return 0
    changed = 0
    for message in db.session.scalars(select(WebhookMessage).where(
            WebhookMessage.partner_id.in_(partners), WebhookMessage.event_type.like("experience_booking.%"))):
        body = json.loads(message.body)
        data = body.get("data") or {}
        if data.get("id") in ids:
            body["data"] = {**data, "lead_name": pseudonym, "contact": None}
            message.body = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
            changed += 1
    return changed


def purge_old_webhook_messages(*, before: datetime) -> int:
    """Retention: webhook messages older than `before` with no delivery still pending (deliveries and their
    attempt logs go with them, by cascade)."""
    pending = select(WebhookDelivery.message_id).where(WebhookDelivery.status == DeliveryStatus.PENDING.value)
    return db.session.execute(delete(WebhookMessage).where(
        WebhookMessage.created_at < before, WebhookMessage.id.not_in(pending))).rowcount
