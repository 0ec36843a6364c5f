"""Periodic upkeep of the IoT tables: history retention and alerts for devices offline in occupied rooms."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select

from app.bookings.models import Booking, BookingStatus
from app.core import clock, events
from app.extensions import db
from app.iot.models import Device, DeviceReading


def purge_history() -> int:
    """Delete readings older than IOT_HISTORY_DAYS."""
    horizon = clock.now() - timedelta(days=current_app.config["IOT_HISTORY_DAYS"])
    return db.session.execute(delete(DeviceReading).where(DeviceReading.recorded_at < horizon)).rowcount


def alert_offline_devices() -> int:
    """A device offline longer than the threshold in an occupied room records `device.fault` once per outage."""
    horizon = clock.now() - timedelta(minutes=current_app.config["IOT_OFFLINE_ALERT_MINUTES"])
    occupied = select(Booking.room_id).where(Booking.status == BookingStatus.IN_HOUSE, Booking.room_id.is_not(None))
    offline = db.session.scalars(select(Device).where(
        Device.available.is_(False), Device.availability_at <= horizon, Device.offline_alerted.is_(False),
        Device.room_id.in_(occupied)).with_for_update(skip_locked=True)).all()
    for device in offline:
        device.offline_alerted = True
        events.record("device.fault", hotel_id=device.hotel_id, subject_id=device.id,
                      payload={"room_id": device.room_id, "kind": device.kind, "reason": "offline",
                               "fault": "offline since " + device.availability_at.isoformat()})
    return len(offline)
