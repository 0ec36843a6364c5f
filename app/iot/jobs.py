"""Periodic IoT jobs (app/scheduler.py runs them): expire commands, keep history bounded, alert on dead devices."""

from __future__ import annotations

from app.core.db import unit_of_work
from app.iot.services import ingest, upkeep


def expire_overdue_commands() -> int:
    """Commands nobody delivered (or acknowledged) in time become `expired`; bridges do it too while running."""
    with unit_of_work():
        return ingest.expire_overdue()


def purge_device_history() -> int:
    with unit_of_work():
        return upkeep.purge_history()


def alert_offline_devices() -> int:
    with unit_of_work():
        return upkeep.alert_offline_devices()
