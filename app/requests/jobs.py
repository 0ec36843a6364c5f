"""Periodic work of the request queue: escalate overdue requests, repeat unacknowledged staff alerts."""

from __future__ import annotations

from app.core.db import unit_of_work
from app.requests import services


def escalate_overdue_requests() -> int:
    """Overdue requests go to their department, then to the hotel manager; returns how many moved up."""
    with unit_of_work():
        return services.escalate_overdue()


def repeat_staff_alerts() -> int:
    """Alerts nobody has acknowledged are delivered again; returns how many."""
    with unit_of_work():
        return services.repeat_due_alerts()
