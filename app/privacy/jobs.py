"""Retention jobs (app/scheduler.py runs them daily): each enforces one period of the data inventory."""

from __future__ import annotations

from app.core.db import unit_of_work
from app.privacy.services import retention


def drop_old_stay_texts() -> dict[str, int]:
    with unit_of_work():
        return retention.drop_old_stay_texts()


def purge_stale_credentials() -> dict[str, int]:
    with unit_of_work():
        return retention.purge_stale_credentials()


def purge_old_events() -> int:
    with unit_of_work():
        return retention.purge_old_events()


def purge_read_offers() -> int:
    with unit_of_work():
        return retention.purge_read_offers()


def purge_old_webhook_messages() -> int:
    with unit_of_work():
        return retention.purge_old_webhook_messages()
