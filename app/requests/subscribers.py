"""The requests domain's reactions to lower domains' events (registered in app/__init__.py), in their transaction."""

from __future__ import annotations

import logging

from app.core.events import DomainEvent
from app.requests.services import creation

log = logging.getLogger(__name__)


def open_repair_on_device_fault(event: DomainEvent) -> None:
    """`device.fault` (a reported fault, or offline too long in an occupied room): one maintenance request per
    device while it is open, however often the device repeats itself."""
    room_id = event.payload.get("room_id")
    if not isinstance(room_id, int) or event.subject_id is None:
        return
    request = creation.open_device_repair(device_id=event.subject_id, room_id=room_id,
                                          kind=event.payload.get("kind"), fault=event.payload.get("fault"),
                                          reason=event.payload.get("reason"))
    if request is None:
        log.info("device %s fault: no new request (room empty or a repair is open)", event.subject_id)
