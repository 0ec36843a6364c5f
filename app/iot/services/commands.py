"""Commands to room devices: who may send what, the outbox row the bridge delivers, and their status."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import marshmallow as ma
from flask import current_app
from sqlalchemy import bindparam, select, text

from app.audit import services as audit
from app.bookings import services as bookings
from app.bookings.models import Booking
from app.core import clock, events
from app.core.db import after_commit
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.core.prepared_reads import PreparedRead
from app.extensions import db
from app.iot import direct, topics
from app.iot.models import CommandStatus, Device, DeviceCommand, DeviceKind, KeyBlock
from app.iot.schemas import load_command_values
from app.iot.services.registry import staff_room

NOTIFY_CHANNEL = "iot_commands"
# Guests control comfort and their door; the DND indicator follows the stay's room state, sensors only report.
GUEST_KINDS = (DeviceKind.LIGHT, DeviceKind.CLIMATE, DeviceKind.CURTAINS, DeviceKind.LOCK)


class DeviceKeys(Protocol):
    """What a command needs of its device: a `Device`, or a row of these columns (`_DEVICE_KEYS`)."""

    id: int
    hotel_id: int
    room_id: int
    kind: str
    topic: str


# A guest's command reads its device outside the Session, as it reads the stay (bookings.guest_stay_in_house_keys).
_DEVICE_KEYS = PreparedRead(select(Device.id, Device.hotel_id, Device.room_id, Device.kind, Device.topic)
                            .where(Device.id == bindparam("device_id")))


@dataclass(frozen=True)
class CommandToPublish:
    """A command as it goes on the wire (docs/mqtt.md, "Commands")."""

    command_id: int
    topic: str
    payload: bytes
    expiry_seconds: int
    response_topic: str
    correlation_data: bytes
    expires_at: datetime


def to_publish(*, command_id: int, device_topic: str, values: dict[str, Any], correlation_id: str,
               expires_at: datetime, remaining_seconds: int) -> CommandToPublish:
    body = {"id": command_id, "values": values, "expires_at": expires_at.isoformat()}
    return CommandToPublish(
        command_id=command_id, topic=f"{device_topic}/{topics.SET}",
        payload=json.dumps(body, separators=(",", ":")).encode(), expiry_seconds=remaining_seconds,
        response_topic=f"{device_topic}/{topics.RESPONSE}", correlation_data=correlation_id.encode(),
        expires_at=expires_at)


def issue(*, device: DeviceKeys, values: dict[str, Any], issued_by: str, source: str, stay_id: int | None = None,
          actor: Any = None) -> DeviceCommand:
    """Record a pending command (the outbox row), published once the transaction commits: by this process when
    its MQTT connection is up (app/iot/direct.py), else by a bridge."""
    return _record(device=device, values=validated_values(device, values), issued_by=issued_by, source=source,
                   stay_id=stay_id, actor=actor)


def _record(*, device: DeviceKeys, values: dict[str, Any], issued_by: str, source: str, stay_id: int | None,
            actor: Any) -> DeviceCommand:
    """`issue` for values already checked by `validated_values`."""
    ttl = current_app.config["IOT_LOCK_COMMAND_TTL_SECONDS" if device.kind == DeviceKind.LOCK
                             else "IOT_COMMAND_TTL_SECONDS"]
    now = clock.now()
    command = DeviceCommand(hotel_id=device.hotel_id, room_id=device.room_id, device_id=device.id, stay_id=stay_id,
                            issued_by=issued_by, source=source, values=values, correlation_id=uuid.uuid4().hex,
                            status=CommandStatus.PENDING.value, created_at=now, expires_at=now + timedelta(seconds=ttl))
    publisher = direct.publisher_for(current_app._get_current_object())  # type: ignore[attr-defined]
    if publisher is not None and publisher.ready():
        # Claimed in this transaction, so that no bridge publishes it too; published after the commit.
        command.claimed_by = publisher.client_id
        command.claimed_until = now + timedelta(seconds=publisher.claim_seconds)
        command.publish_count = 1
    else:
        publisher = None
    db.session.add(command)
    db.session.flush()
    if device.kind == DeviceKind.LOCK:
        audit.record(actor=actor, action="room.unlock" if not values["locked"] else "room.lock",
                     subject_kind="room", subject_id=device.room_id, hotel_id=device.hotel_id,
                     detail={"command_id": command.id, "device_id": device.id, "source": source})
    if publisher is None:
        wake_bridges()
    else:
        message = to_publish(command_id=command.id, device_topic=device.topic, values=values,
                             correlation_id=command.correlation_id, expires_at=command.expires_at,
                             remaining_seconds=ttl)
        after_commit(lambda: publisher.publish(message))
    return command


def validated_values(device: Device, values: Any) -> dict[str, Any]:
    """The values checked against what this kind of device accepts (422 invalid_command otherwise)."""
    try:
        return load_command_values(device.kind, values)
    except ma.ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {"values": error.messages}
        raise Unprocessable("These values cannot be sent to this device.", code="invalid_command",
                            errors=messages if "device_id" in messages else {"values": messages}) from None


def wake_bridges() -> None:
    # On PostgreSQL a NOTIFY is delivered at commit, so a bridge blocked in LISTEN publishes at once, not at its
    # next poll; on SQLite bridges poll.
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))


# -- guests ----------------------------------------------------------------------------------------------------

def _guest_stay(guest: Any, stay_id: int) -> Any:
    """The guest's stay in progress, with a room: its keys (id, status, hotel_id, room_id), read by key outside the
    Session (bookings.guest_stay_in_house_keys); what the room's devices need of it, many times a stay."""
    stay = bookings.guest_stay_in_house_keys(guest_id=guest.id, booking_id=stay_id)
    if stay.room_id is None:
        raise Conflict("No room is assigned to this stay yet.", code="no_room_assigned")
    return stay


def guest_devices(*, guest: Any, stay_id: int) -> list[Device]:
    """The devices of the room of the guest's stay in progress."""
    stay = _guest_stay(guest, stay_id)
    return list(db.session.scalars(select(Device).where(Device.room_id == stay.room_id).order_by(Device.id)))


def guest_command(*, guest: Any, stay_id: int, device_id: int, values: dict[str, Any]) -> DeviceCommand:
    """A guest commands a device of their own room, between check-in and checkout.

    The stay and the device are read by key outside the Session (two autocommit SELECTs): this runs for every
    light switched from the app, and the two ORM loads it replaced cost more than the command's INSERT."""
    stay = _guest_stay(guest, stay_id)
    device = _DEVICE_KEYS.first(device_id=device_id)
    if device is None or device.room_id != stay.room_id:
        raise NotFound("No such device in your room.")
    if device.kind not in GUEST_KINDS:
        raise Forbidden("This device is not controlled from the app.", code="device_not_guest_controlled")
    values = validated_values(device, values)  # before the key check: it needs `locked` as a boolean
    if device.kind == DeviceKind.LOCK and values["locked"] is False:
        _ensure_key_allowed(stay)
    return _record(device=device, values=values, issued_by=f"guest:{guest.id}", source="app", stay_id=stay.id,
                   actor=guest)


def guest_unlock(*, guest: Any, stay_id: int) -> DeviceCommand:
    """Open the door of the guest's room (a digital key: the stay must be in house and its key not blocked)."""
    stay = _guest_stay(guest, stay_id)
    _ensure_key_allowed(stay)
    lock = db.session.scalar(select(Device).where(Device.room_id == stay.room_id, Device.kind == DeviceKind.LOCK)
                             .order_by(Device.id).limit(1))
    if lock is None:
        raise Conflict("This room has no connected lock.", code="no_lock")
    return issue(device=lock, values={"locked": False}, issued_by=f"guest:{guest.id}", source="app",
                 stay_id=stay.id, actor=guest)


def _ensure_key_allowed(stay: Any) -> None:  # a Booking, or its keys
    if db.session.get(KeyBlock, stay.id) is not None:
        raise Forbidden("The digital key of this stay is blocked; please contact the front desk.",
                        code="key_blocked")


def guest_command_status(*, guest: Any, stay_id: int, command_id: int) -> DeviceCommand:
    """One of the commands sent for the guest's stay (any stay of theirs, also after checkout)."""
    stay = bookings.guest_booking(guest_id=guest.id, booking_id=stay_id)
    command = db.session.get(DeviceCommand, command_id)
    if command is None or command.stay_id != stay.id:
        raise NotFound("No such command.")
    return command


# -- staff -------------------------------------------------------------------------------------------------------

def staff_command(*, staff: Any, room_id: int, device_id: int, values: dict[str, Any]) -> DeviceCommand:
    """Staff command a device of a room of their hotel."""
    room = staff_room(staff, room_id)
    device = db.session.get(Device, device_id)
    if device is None or device.room_id != room.id:
        raise NotFound("No such device in this room.")
    stay = bookings.occupied_stay_for_room(room_id=room.id)
    return issue(device=device, values=values, issued_by=f"staff:{staff.id}", source="staff",
                 stay_id=stay.id if stay else None, actor=staff)


def staff_command_status(*, staff: Any, command_id: int) -> DeviceCommand:
    command = db.session.get(DeviceCommand, command_id)
    if command is None or not staff.can_access_hotel(command.hotel_id):
        raise NotFound("No such command.")
    return command


def block_key(*, staff: Any, stay_id: int, reason: str | None) -> None:
    """Block the digital key of a stay at my hotel (audited)."""
    stay = _staff_stay(staff, stay_id)
    if db.session.get(KeyBlock, stay.id) is None:
        db.session.add(KeyBlock(stay_id=stay.id, blocked_by_staff_id=staff.id, reason=reason))
        audit.record(actor=staff, action="room.key_blocked", subject_kind="stay", subject_id=stay.id,
                     hotel_id=stay.hotel_id, detail={"reason": reason})


def unblock_key(*, staff: Any, stay_id: int) -> None:
    """Give the stay its digital key back (audited)."""
    stay = _staff_stay(staff, stay_id)
    block = db.session.get(KeyBlock, stay.id)
    if block is not None:
        db.session.delete(block)
        audit.record(actor=staff, action="room.key_unblocked", subject_kind="stay", subject_id=stay.id,
                     hotel_id=stay.hotel_id)


def _staff_stay(staff: Any, stay_id: int) -> Booking:
    stay = db.session.get(Booking, stay_id)
    if stay is None or not staff.can_access_hotel(stay.hotel_id):
        raise NotFound("No such stay.")
    return stay


def record_transition(command: DeviceCommand, status: CommandStatus) -> None:
    """Move a command to `status` and record `command.<status>` (guests see their own commands' events)."""
    command.status = status.value
    now = clock.now()
    if status == CommandStatus.SENT:
        command.sent_at = now
    else:
        command.completed_at = now
    announce_transition(command, status)


def announce_transition(command: Any, status: CommandStatus) -> None:
    """Record `command.<status>` for a command now in `status`."""
    announce_transitions([command], status)


def announce_transitions(commands: list[Any], status: CommandStatus) -> None:
    """Record `command.<status>` for each command (a DeviceCommand, or a row with its columns), in one INSERT."""
    events.record_many(f"command.{status.value}", [
        {"hotel_id": command.hotel_id, "subject_id": command.id,
         "guest_id": int(command.issued_by.split(":")[1]) if command.issued_by.startswith("guest:") else None,
         "payload": {"device_id": command.device_id, "room_id": command.room_id, "source": command.source}}
        for command in commands])
