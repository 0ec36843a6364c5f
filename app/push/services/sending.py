"""The outbox's two transactions around each send: claim a batch, then record what FCM answered for each message.

Exactly once per notification and device: a delivery row is claimed (pending -> sending) and committed before the
HTTP calls, and its result is committed after them. A sender that dies between the two leaves rows in `sending`;
once older than PUSH_CLAIM_TIMEOUT_SECONDS they become `unknown` and are NOT sent again, because FCM may already
have delivered them (FCM v1 has no idempotency key) and a duplicate marketing push is worse than a missing one.
At most one batch (PUSH_BATCH_SIZE) is in that window. Quota (429) and server errors go back to `pending` with
back-off (Retry-After when FCM gives one); dead tokens (UNREGISTERED, INVALID_ARGUMENT) delete the device.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, text, update

from app.core import clock
from app.core.i18n import localise
from app.extensions import db
from app.push.fcm import PushMessage, PushResult
from app.push.models import Delivery, DeliveryStatus, Device, Notification
from app.push.services.devices import forget_tokens

MAX_BACKOFF = timedelta(hours=1)
RETRYABLE = ("quota", "unavailable")
DEAD_TOKEN = ("unregistered", "invalid_token")


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    attempts: int  # including this one
    device_id: int
    message: PushMessage


@dataclass
class Outcome:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    invalid_tokens: int = 0
    quota_hit: bool = False
    errors: dict[str, int] = field(default_factory=dict)


def expire_stale_claims() -> int:
    """Claims older than the timeout belong to a sender that died: mark them unknown (never resent)."""
    cutoff = clock.now() - timedelta(seconds=current_app.config["PUSH_CLAIM_TIMEOUT_SECONDS"])
    return db.session.execute(update(Delivery).where(
        Delivery.status == DeliveryStatus.SENDING.value, Delivery.claimed_at < cutoff,
    ).values(status=DeliveryStatus.UNKNOWN.value, error="interrupted")).rowcount or 0


def claim_batch(*, size: int) -> list[Claimed]:
    """Claim up to `size` due deliveries (pending -> sending) and build their messages in the device's language."""
    now = clock.now()
    rows = db.session.execute(
        select(Delivery.id.label("delivery_id"), Delivery.attempts, Delivery.device_id, Device.token,
               Device.language, Notification.id.label("notification_id"), Notification.category,
               Notification.title, Notification.body, Notification.deep_link)
        .join(Notification, Notification.id == Delivery.notification_id)
        .outerjoin(Device, Device.id == Delivery.device_id)
        .where(Delivery.status == DeliveryStatus.PENDING.value, Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at, Delivery.id).limit(size)
        .with_for_update(of=Delivery, skip_locked=True)).all()
    orphans = [row.delivery_id for row in rows if row.token is None]  # the device was removed meanwhile
    if orphans:
        db.session.execute(update(Delivery).where(Delivery.id.in_(orphans)).values(
            status=DeliveryStatus.FAILED.value, error="no_device"))
    claimed = [Claimed(delivery_id=row.delivery_id, attempts=row.attempts + 1, device_id=row.device_id,
                       message=_message(row)) for row in rows if row.token is not None]
    if claimed:
        db.session.execute(update(Delivery).where(Delivery.id.in_([c.delivery_id for c in claimed])).values(
            status=DeliveryStatus.SENDING.value, claimed_at=now, attempts=Delivery.attempts + 1))
    return claimed


def _message(row: Any) -> PushMessage:
    return PushMessage(
        token=row.token, title=localise(row.title, row.language) or "", body=localise(row.body, row.language) or "",
        data={"notification_id": str(row.notification_id), "category": row.category,
              "deep_link": row.deep_link or ""})


def record_results(*, claimed: Sequence[Claimed], results: Sequence[PushResult]) -> Outcome:
    """Write each message's result onto its delivery; dead tokens delete their devices."""
    now, outcome = clock.now(), Outcome()
    changes, dead_devices = [], []
    for item, result in zip(claimed, results, strict=True):
        if result.error:
            outcome.errors[result.error] = outcome.errors.get(result.error, 0) + 1
        change = {"id": item.delivery_id, "error": result.error, "detail": result.detail}
        if result.ok:
            change.update(status=DeliveryStatus.SENT.value, sent_at=now, message_id=result.message_id)
            outcome.sent += 1
        elif result.error in DEAD_TOKEN:
            change.update(status=DeliveryStatus.INVALID_TOKEN.value)
            dead_devices.append(item.device_id)
            outcome.invalid_tokens += 1
        elif result.error in RETRYABLE and item.attempts < current_app.config["PUSH_MAX_ATTEMPTS"]:
            change.update(status=DeliveryStatus.PENDING.value, next_attempt_at=now + _delay(item.attempts, result))
            outcome.retried += 1
            outcome.quota_hit |= result.error == "quota"
        else:
            change.update(status=DeliveryStatus.FAILED.value)
            outcome.failed += 1
        changes.append(change)
    _write_results(changes)
    forget_tokens(dead_devices)
    return outcome


_RECORD_RESULTS = text(
    "UPDATE push_deliveries AS d SET status = v.status, error = v.error, detail = v.detail, "
    "sent_at = coalesce(v.sent_at, d.sent_at), message_id = coalesce(v.message_id, d.message_id), "
    "next_attempt_at = coalesce(v.next_attempt_at, d.next_attempt_at) "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS varchar[]), CAST(:errors AS varchar[]), "
    "CAST(:details AS varchar[]), CAST(:sent AS timestamp[]), CAST(:message_ids AS varchar[]), "
    "CAST(:next AS timestamp[])) AS v(id, status, error, detail, sent_at, message_id, next_attempt_at) "
    "WHERE d.id = v.id")


def _write_results(changes: list[dict[str, Any]]) -> None:
    """One statement for the whole batch on PostgreSQL (arrays: the same statement whatever the batch size);
    elsewhere the ORM's bulk update by primary key (one UPDATE per row)."""
    if not changes:
        return
    if db.session.get_bind().dialect.name != "postgresql":
        db.session.execute(update(Delivery), changes)
        return

    def naive(value: Any) -> Any:
        return value.astimezone(UTC).replace(tzinfo=None) if value is not None else None

    db.session.execute(_RECORD_RESULTS, {
        "ids": [c["id"] for c in changes], "statuses": [c["status"] for c in changes],
        "errors": [c["error"] for c in changes], "details": [c["detail"] for c in changes],
        "sent": [naive(c.get("sent_at")) for c in changes], "message_ids": [c.get("message_id") for c in changes],
        "next": [naive(c.get("next_attempt_at")) for c in changes]})


def _delay(attempts: int, result: PushResult) -> timedelta:
    if result.retry_after is not None:
        return min(timedelta(seconds=max(result.retry_after, 0)), MAX_BACKOFF)
    base = current_app.config["PUSH_RETRY_BASE_SECONDS"]
    return min(timedelta(seconds=base * 2 ** (attempts - 1)), MAX_BACKOFF)
