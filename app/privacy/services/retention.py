"""Retention: the periods of the data inventory (docs/privacy.md), enforced by the jobs in app/privacy/jobs.py.

Periods come from config (PRIVACY_*_DAYS). Every function is safe to repeat and deletes or blanks only what is
past its period; the device history is kept by the IoT domain's own job (purge_iot_history, IOT_HISTORY_DAYS).
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from app.bookings.services import privacy as bookings_privacy
from app.core import clock, events
from app.identity import services as identity
from app.partners.services import privacy as partners_privacy
from app.push.services import privacy as push_privacy
from app.requests.services import privacy as requests_privacy


def _days_ago(setting: str) -> timedelta:
    return clock.now() - timedelta(days=current_app.config[setting])


def drop_old_stay_texts() -> dict[str, int]:
    """Message bodies, notes and comments of stays that ended more than PRIVACY_MESSAGES_RETENTION_DAYS ago."""
    ended = bookings_privacy.stays_ended_between(None, _days_ago("PRIVACY_MESSAGES_RETENTION_DAYS"))
    return requests_privacy.drop_free_text_of_stays(stay_ids=ended)


def purge_stale_credentials() -> dict[str, int]:
    """Sessions ended more than PRIVACY_SESSIONS_RETENTION_DAYS ago (device names, addresses) and old login codes."""
    return identity.purge_stale_credentials(sessions_before=_days_ago("PRIVACY_SESSIONS_RETENTION_DAYS"),
                                            codes_before=_days_ago("PRIVACY_LOGIN_CODES_RETENTION_DAYS"))


def purge_old_events() -> int:
    """Domain events older than PRIVACY_EVENTS_RETENTION_DAYS that push's feed has already read.

    The other readers keep no durable cursor: the SSE stream's clients and the IoT bridge only look at recent ids.
    """
    return events.purge_before(occurred_before=_days_ago("PRIVACY_EVENTS_RETENTION_DAYS"),
                               below_id=push_privacy.event_cursor_floor())


def purge_read_offers() -> int:
    """Offers opened more than PRIVACY_READ_OFFERS_RETENTION_DAYS ago leave the inbox."""
    return push_privacy.purge_read_offers(opened_before=_days_ago("PRIVACY_READ_OFFERS_RETENTION_DAYS"))


def purge_old_webhook_messages() -> int:
    """Partner webhook messages (lead names, shared contacts) older than PRIVACY_WEBHOOK_MESSAGES_RETENTION_DAYS."""
    return partners_privacy.purge_old_webhook_messages(before=_days_ago("PRIVACY_WEBHOOK_MESSAGES_RETENTION_DAYS"))
