"""Partner webhooks: endpoints and their secrets (rotation), the outbox a booking writes to, and the bookkeeping of
deliveries. The sending itself happens in app.partners.jobs, outside any transaction, through app.partners.clients.

Delivery is at least once: a message keeps its `webhook-id` on every retry, so a receiver de-duplicates by it.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from app.core import clock
from app.core.errors import NotFound, Unprocessable
from app.core.pagination import Page, paginate
from app.extensions import db
from app.partners.models import (
    DeliveryStatus,
    Partner,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
    WebhookSecret,
)
from app.partners.services.access import partner_owned

# While a delivery is being sent it is leased for this long; a sender that died mid-way is retried after it.
LEASE = timedelta(minutes=2)
# During a rotation the old secret keeps signing for this long, so the partner can switch without losing messages.
ROTATION_OVERLAP = timedelta(hours=24)


def new_secret() -> str:
    """"whsec_" + base64 of 32 random bytes, the Standard Webhooks secret format."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class EndpointWithSecret:
    endpoint: WebhookEndpoint
    secret: str  # shown once, when created or rotated

    def __getattr__(self, name: str) -> Any:
        return getattr(self.endpoint, name)


def _check_url(url: str) -> None:
    if current_app.config["PARTNER_WEBHOOK_REQUIRE_HTTPS"] and not url.startswith("https://"):
        raise Unprocessable("Webhook URLs must use https.", errors={"url": ["Use https://."]})


def create_endpoint(*, partner: Partner, url: str) -> EndpointWithSecret:
    """Register a URL for the partner's booking notifications, with a fresh signing secret."""
    _check_url(url)
    secret = new_secret()
    endpoint = WebhookEndpoint(partner_id=partner.id, url=url, secrets=[WebhookSecret(secret=secret)])
    db.session.add(endpoint)
    db.session.flush()
    return EndpointWithSecret(endpoint, secret)


def list_endpoints(*, partner: Partner) -> list[WebhookEndpoint]:
    return list(db.session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.partner_id == partner.id,
                                                                 WebhookEndpoint.is_active.is_(True))
                                   .order_by(WebhookEndpoint.id)))


def delete_endpoint(*, partner: Partner, endpoint_id: int) -> None:
    """Stop sending to an endpoint (its delivery log stays)."""
    endpoint = partner_owned(partner, WebhookEndpoint, endpoint_id, what="webhook endpoint")
    endpoint.is_active = False


def rotate_secret(*, partner: Partner, endpoint_id: int) -> EndpointWithSecret:
    """A new secret; the current ones keep signing alongside it for ROTATION_OVERLAP, then expire."""
    endpoint = partner_owned(partner, WebhookEndpoint, endpoint_id, what="webhook endpoint")
    now = clock.now()
    for old in endpoint.active_secrets(now):
        old.expires_at = min(old.expires_at or now + ROTATION_OVERLAP, now + ROTATION_OVERLAP)
    secret = new_secret()
    endpoint.secrets.append(WebhookSecret(secret=secret, created_at=now))
    db.session.flush()
    return EndpointWithSecret(endpoint, secret)


def enqueue(*, partner_id: int, event_type: str, data: dict[str, Any]) -> WebhookMessage | None:
    """Write the message and one pending delivery per active endpoint, in the caller's transaction."""
    endpoints = list(db.session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.partner_id == partner_id,
                                                                      WebhookEndpoint.is_active.is_(True))))
    if not endpoints:
        return None
    now = clock.now()
    body = json.dumps({"type": event_type, "timestamp": now.isoformat(), "data": data}, ensure_ascii=False,
                      separators=(",", ":"))
    message = WebhookMessage(msg_id=f"msg_{uuid.uuid4().hex}", partner_id=partner_id, event_type=event_type,
                             body=body, created_at=now)
    db.session.add(message)
    for endpoint in endpoints:
        db.session.add(WebhookDelivery(message=message, endpoint_id=endpoint.id, next_attempt_at=now))
    db.session.flush()
    return message


@dataclass(frozen=True)
class Outgoing:
    """A delivery as the sender needs it: plain values, usable after the transaction that read them has ended."""

    delivery_id: int
    msg_id: str
    url: str
    body: str
    secrets: tuple[str, ...]


def claim_due_deliveries(*, limit: int = 50) -> list[Outgoing]:
    """Pending deliveries whose time has come, leased so that no other sender takes them meanwhile."""
    now = clock.now()
    due = list(db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.status == DeliveryStatus.PENDING.value,
                                      WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)))
    claimed = []
    for delivery in due:
        leased = db.session.execute(
            update(WebhookDelivery).where(WebhookDelivery.id == delivery.id,
                                          WebhookDelivery.next_attempt_at == delivery.next_attempt_at)
            .values(next_attempt_at=now + LEASE).execution_options(synchronize_session=False))
        if leased.rowcount != 1:
            continue
        endpoint = delivery.endpoint
        if not endpoint.is_active:
            _give_up(delivery, now, "endpoint removed")
            continue
        claimed.append(Outgoing(delivery.id, delivery.message.msg_id, endpoint.url, delivery.message.body,
                                tuple(s.secret for s in endpoint.active_secrets(now))))
    return claimed


def _give_up(delivery: WebhookDelivery, now: datetime, error: str) -> None:
    delivery.status = DeliveryStatus.FAILED.value
    delivery.last_error = error
    delivery.next_attempt_at = now


def record_attempt(*, delivery_id: int, attempted_at: datetime, status_code: int | None,
                   error: str | None) -> WebhookDelivery:
    """Log one try; a 2xx ends the delivery, anything else schedules the next try or, after the last, gives up."""
    delivery = db.session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None:
        raise LookupError(f"no webhook delivery {delivery_id}")
    delivery.log.append(WebhookAttempt(attempted_at=attempted_at, status_code=status_code,
                                       error=error[:300] if error else None))
    delivery.attempts += 1
    delivery.last_attempt_at = attempted_at
    delivery.last_status_code = status_code
    delivery.last_error = error[:300] if error else None
    if status_code is not None and 200 <= status_code < 300:
        delivery.status = DeliveryStatus.SUCCEEDED.value
        delivery.delivered_at = attempted_at
        return delivery
    schedule = current_app.config["PARTNER_WEBHOOK_RETRY_SECONDS"]
    if delivery.attempts > len(schedule):
        _give_up(delivery, attempted_at, delivery.last_error or f"HTTP {status_code}")
    else:
        delivery.next_attempt_at = clock.now() + timedelta(seconds=schedule[delivery.attempts - 1])
    return delivery


def list_deliveries(*, partner: Partner, cursor: str | None, limit: int, status: str | None = None) -> Page:
    """The partner's delivery log, newest first."""
    stmt = select(WebhookDelivery).join(WebhookEndpoint).where(WebhookEndpoint.partner_id == partner.id)
    if status:
        stmt = stmt.where(WebhookDelivery.status == status)
    return paginate(stmt, keys=[WebhookDelivery.id], cursor=cursor, limit=limit, descending=True)


def retry_delivery(*, partner: Partner, delivery_id: int) -> WebhookDelivery:
    """Send a failed delivery again (same webhook-id), for example after the partner fixed its receiver."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint.partner_id != partner.id:
        raise NotFound("No such delivery.")
    if delivery.status == DeliveryStatus.FAILED and delivery.endpoint.is_active:
        delivery.status = DeliveryStatus.PENDING.value
        delivery.next_attempt_at = clock.now()
    return delivery
