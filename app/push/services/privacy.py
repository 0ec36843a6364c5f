"""The push domain's part of a guest's data rights and retention: devices, settings, the inbox, campaign sends.

Erasure forgets the guest's devices (FCM tokens) and settings and cancels whatever was still to be pushed; the
inbox rows stay (campaign statistics count them) and hold only the chain's own texts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update

from app.core.records import as_record, as_records
from app.extensions import db
from app.push.models import Category, Delivery, DeliveryStatus, Device, Notification, NotificationSettings, PushCursor


def export_for_guest(*, guest_id: int) -> dict[str, Any]:
    notifications = list(db.session.scalars(
        select(Notification).where(Notification.guest_id == guest_id).order_by(Notification.id)))
    settings = db.session.get(NotificationSettings, guest_id)
    deliveries: dict[int, list[dict[str, Any]]] = {}
    if notifications:
        for delivery in db.session.scalars(select(Delivery).where(
                Delivery.notification_id.in_([n.id for n in notifications])).order_by(Delivery.id)):
            deliveries.setdefault(delivery.notification_id, []).append(
                as_record(delivery, exclude=("claimed_at", "detail")))
    inbox = [{**record, "deliveries": deliveries.get(record["id"], [])} for record in as_records(notifications)]
    return {
        "push_devices": as_records(db.session.scalars(
            select(Device).where(Device.guest_id == guest_id).order_by(Device.id))),
        "notification_settings": as_record(settings) if settings else None,
        "inbox": [item for item in inbox if item["category"] != Category.OFFER],
        "offers": [item for item in inbox if item["category"] == Category.OFFER],
    }


def erase_for_guest(*, guest_id: int, pseudonym: str) -> dict[str, int]:
    mine = select(Notification.id).where(Notification.guest_id == guest_id)
    cancelled = db.session.execute(update(Delivery).where(
        Delivery.notification_id.in_(mine), Delivery.status == DeliveryStatus.PENDING.value,
    ).values(status=DeliveryStatus.CANCELLED.value)).rowcount
    devices = db.session.execute(delete(Device).where(Device.guest_id == guest_id)).rowcount
    db.session.execute(delete(NotificationSettings).where(NotificationSettings.guest_id == guest_id))
    return {"push_devices": devices, "pushes_cancelled": cancelled}


def purge_read_offers(*, opened_before: datetime) -> int:
    """Retention: offers the guest opened before `opened_before` leave the inbox (their deliveries go too)."""
    return db.session.execute(delete(Notification).where(
        Notification.category == Category.OFFER.value, Notification.opened_at.is_not(None),
        Notification.opened_at < opened_before)).rowcount


def event_cursor_floor() -> int | None:
    """The lowest domain event id push's feed has not yet read past (None: the feed keeps no cursor yet)."""
    return db.session.scalar(select(func.min(PushCursor.last_event_id)))
