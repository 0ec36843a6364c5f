"""Periodic work of the bookings domain."""

from __future__ import annotations

import logging

from flask import current_app

from app.bookings.services import no_show
from app.core import clock
from app.core.db import unit_of_work

log = logging.getLogger(__name__)


def record_no_shows(batch: int = 200) -> int:
    """The night audit: close the bookings whose guest did not arrive (app/bookings/services/no_show.py), each in
    its own unit of work so that one failing booking does not hold up the others. Returns how many were closed."""
    now, audit_hour = clock.now(), current_app.config["NO_SHOW_AUDIT_HOUR"]
    with unit_of_work():
        due = no_show.due_no_show_ids(now=now, audit_hour=audit_hour, limit=batch)
    recorded = 0
    for booking_id in due:
        try:
            with unit_of_work():
                recorded += no_show.record_no_show(booking_id=booking_id, now=now, audit_hour=audit_hour)
        except Exception:
            log.exception("could not record booking %s as a no-show", booking_id)
    return recorded
