"""Push jobs for the scheduler. Each opens its own units of work; the HTTP calls to FCM happen between them."""

from __future__ import annotations

import logging

from flask import current_app

from app.core.db import unit_of_work
from app.push import fcm, services

log = logging.getLogger(__name__)


def queue_event_notifications() -> None:
    """Turn new domain events into transactional pushes, then send them."""
    with unit_of_work():
        services.queue_event_notifications()
    send_pending_pushes()


def queue_checkout_reminders() -> None:
    """Remind in-house guests on their departure day."""
    with unit_of_work():
        services.queue_checkout_reminders()


def run_campaigns() -> None:
    """Queue the audience of every due campaign run, a chunk per transaction, then mark finished runs sent."""
    with unit_of_work():
        campaign_ids = services.start_due_campaigns()
    for campaign_id in campaign_ids:
        while True:
            with unit_of_work():
                more = services.queue_campaign_chunk(campaign_id=campaign_id)
            if not more:
                break
    send_pending_pushes()
    with unit_of_work():
        services.finish_campaigns()


def send_birthday_offers() -> None:
    """Queue birthday offers for guests whose birthday is a month away in their own time zone."""
    with unit_of_work():
        services.queue_birthday_offers()


def propose_low_season_campaigns() -> None:
    """Propose (or create, for hotels that opted in) campaigns ahead of each hotel's low season."""
    with unit_of_work():
        services.propose_low_season_campaigns()


def prune_stale_devices() -> None:
    """Delete devices whose tokens FCM has most likely dropped."""
    with unit_of_work():
        services.prune_stale_devices()


def send_pending_pushes() -> int:
    """Send due deliveries in batches of at most PUSH_BATCH_SIZE; stop early when FCM says we are over quota."""
    config = current_app.config
    sender = fcm.sender()
    with unit_of_work():
        services.expire_stale_claims()
    sent = 0
    for _ in range(config["PUSH_MAX_BATCHES_PER_RUN"]):
        with unit_of_work():
            claimed = services.claim_batch(size=config["PUSH_BATCH_SIZE"])
        if not claimed:
            break
        # Outside any transaction. If this raises, the claims stay `sending` and expire as `unknown`: never resent.
        results = sender.send([item.message for item in claimed])
        with unit_of_work():
            outcome = services.record_results(claimed=claimed, results=results)
        sent += outcome.sent
        if outcome.errors:
            log.info("push batch: %s sent, errors %s", outcome.sent, outcome.errors)
        if outcome.quota_hit:
            break
    return sent
