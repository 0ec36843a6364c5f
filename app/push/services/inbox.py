"""The guest's side: notification settings, the inbox, opens; and the transactional feed made from domain events.

The feed tails `domain_events` with a stored cursor (PushCursor "events") instead of subscribing in the event's
transaction: the notifications and the advanced cursor commit together, so each event is turned into
notifications exactly once, and the domains that record events pay nothing for push in their transactions.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from app.bookings.models import Booking, BookingStatus
from app.core import clock, events
from app.core.errors import NotFound
from app.core.pagination import Page, paginate
from app.extensions import db
from app.hotels.models import Hotel
from app.push.models import TRANSACTIONAL, Category, Notification, NotificationSettings, PushCursor
from app.push.services.queueing import Draft, queue
from app.push.services.templates import CHECKOUT_REMINDER, EVENT_TEMPLATES, template_for

FEED_CURSOR = "events"
FEED_BATCH = 500


def get_settings(*, guest_id: int) -> NotificationSettings:
    """The guest's transactional categories (all on until the guest says otherwise)."""
    return db.session.get(NotificationSettings, guest_id) or NotificationSettings(
        guest_id=guest_id, booking=True, request=True, stay=True, chat=True)


def replace_settings(*, guest_id: int, settings: dict[str, bool]) -> NotificationSettings:
    """Turn transactional categories on or off (marketing is governed by the marketing_push consent)."""
    row = db.session.get(NotificationSettings, guest_id)
    if row is None:
        row = NotificationSettings(guest_id=guest_id)
        db.session.add(row)
    for category in TRANSACTIONAL:
        setattr(row, category.value, settings[category.value])
    db.session.flush()
    return row


def list_inbox(*, guest_id: int, cursor: str | None, limit: int, category: str | None = None) -> Page:
    """The guest's notifications and offers, newest first (also those never pushed: no device, capped)."""
    stmt = select(Notification).where(Notification.guest_id == guest_id)
    if category:
        stmt = stmt.where(Notification.category == category)
    return paginate(stmt, keys=[Notification.id], cursor=cursor, limit=limit, descending=True)


def mark_opened(*, guest_id: int, notification_id: int) -> Notification:
    """The app reports that the guest opened a notification (from the push or the inbox); the first time counts."""
    note = db.session.get(Notification, notification_id)
    if note is None or note.guest_id != guest_id:
        raise NotFound("No such notification.")
    if note.opened_at is None:
        note.opened_at = clock.now()
        db.session.flush()
    return note


def queue_event_notifications() -> int:
    """Read the events after the stored cursor and queue the transactional pushes they call for."""
    cursor = db.session.get(PushCursor, FEED_CURSOR)
    if cursor is None:
        cursor = PushCursor(name=FEED_CURSOR, last_event_id=0)
        db.session.add(cursor)
    batch, cursor.last_event_id = events.tail(cursor.last_event_id, types=EVENT_TEMPLATES, limit=FEED_BATCH)
    drafts = [draft for event in batch if (draft := _draft_for(event)) is not None]
    queue(_wanted(drafts), marketing=False)
    db.session.flush()
    return len(batch)


def _draft_for(event: Any) -> Draft | None:
    template = template_for(event.type, event.payload or {})
    if template is None or event.guest_id is None:
        return None
    return Draft(guest_id=event.guest_id, category=template.category.value, dedupe_key=f"event:{event.id}",
                 title=template.title, body=template.body, deep_link=template.link_for(event.subject_id, event.payload),
                 event_id=event.id)


def _wanted(drafts: list[Draft]) -> list[Draft]:
    """Drop the drafts whose category the guest turned off."""
    guest_ids = {draft.guest_id for draft in drafts}
    if not guest_ids:
        return []
    settings = {row.guest_id: row for row in db.session.scalars(
        select(NotificationSettings).where(NotificationSettings.guest_id.in_(guest_ids)))}
    return [draft for draft in drafts
            if draft.guest_id not in settings or getattr(settings[draft.guest_id], draft.category)]


def queue_checkout_reminders() -> int:
    """On departure day, from PUSH_CHECKOUT_REMINDER_HOUR hotel time, remind each in-house guest (once per stay)."""
    now = clock.now()
    hour = current_app.config["PUSH_CHECKOUT_REMINDER_HOUR"]
    rows = db.session.execute(
        select(Booking.id, Booking.guest_id, Booking.check_out, Hotel.time_zone)
        .join(Hotel, Hotel.id == Booking.hotel_id)
        .where(Booking.status == BookingStatus.IN_HOUSE.value,
               Booking.check_out.between((now - timedelta(days=1)).date(), (now + timedelta(days=1)).date())))
    drafts = [
        Draft(guest_id=guest_id, category=Category.STAY.value, dedupe_key=f"checkout:{booking_id}",
              title=CHECKOUT_REMINDER.title, body=CHECKOUT_REMINDER.body,
              deep_link=CHECKOUT_REMINDER.link_for(booking_id))
        for booking_id, guest_id, check_out, zone in rows if _reminder_due(now, check_out, zone, hour)
    ]
    return len(queue(_wanted(drafts), marketing=False))


def _reminder_due(now: datetime, check_out: Any, zone: str, hour: int) -> bool:
    local = now.astimezone(ZoneInfo(zone))
    return local.date() == check_out and local.time() >= time(hour)
