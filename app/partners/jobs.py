"""Periodic work of the partners domain."""

from __future__ import annotations

import logging

from flask import current_app

from app.core import clock
from app.core.db import unit_of_work
from app.partners.clients import WebhookClient
from app.partners.services import bookings, webhooks

log = logging.getLogger(__name__)


def send_partner_webhooks(batch: int = 50) -> int:
    """Send the webhook deliveries that are due: claim them in one transaction, POST each outside any transaction,
    record each outcome in its own. Returns how many were attempted."""
    with unit_of_work():
        due = webhooks.claim_due_deliveries(limit=batch)
    client = WebhookClient(timeout=current_app.config["PARTNER_WEBHOOK_TIMEOUT_SECONDS"],
                           allow_private_addresses=current_app.config["PARTNER_WEBHOOK_ALLOW_PRIVATE_ADDRESSES"])
    for item in due:
        attempted_at = clock.now()
        result = client.send(url=item.url, msg_id=item.msg_id, body=item.body, secrets=item.secrets,
                             timestamp=int(attempted_at.timestamp()))
        if result.error:
            log.info("webhook %s to %s failed: %s", item.msg_id, item.url, result.error)
        with unit_of_work():
            webhooks.record_attempt(delivery_id=item.delivery_id, attempted_at=attempted_at,
                                    status_code=result.status_code, error=result.error)
    return len(due)


def decline_unanswered_bookings(batch: int = 200) -> int:
    """Pending bookings whose partner has not answered by the confirmation deadline are declined for it, each in
    its own unit of work (one failing booking does not hold up the others). Returns how many were declined."""
    with unit_of_work():
        candidates = bookings.unanswered_booking_ids(now=clock.now(), limit=batch)
    declined = 0
    for booking_id in candidates:
        try:
            with unit_of_work():
                declined += bookings.decline_unanswered(booking_id=booking_id)
        except Exception:
            log.exception("could not decline unanswered experience booking %s", booking_id)
    return declined
