"""The device registry per room, and how devices look to guests and staff (availability needs a live bridge)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.core import clock
from app.core.errors import Conflict, NotFound
from app.extensions import db
from app.hotels.models import Hotel, Room
from app.iot import topics
from app.iot.models import BridgeHeartbeat, Device, DeviceKind


@dataclass(frozen=True)
class DeviceView:
    id: int
    room_id: int
    hotel_id: int
    key: str
    kind: str
    name: dict
    topic: str
    available: bool | None
    availability_at: datetime | None
    state: dict | None
    state_at: datetime | None
    fault: str | None


def bridge_alive() -> bool:
    """Whether some bridge has reported within three heartbeat periods."""
    horizon = clock.now() - timedelta(seconds=3 * current_app.config["IOT_BRIDGE_HEARTBEAT_SECONDS"])
    return db.session.scalar(select(BridgeHeartbeat.bridge_id).where(BridgeHeartbeat.seen_at >= horizon)
                             .limit(1)) is not None


def views(devices: list[Device]) -> list[DeviceView]:
    """Devices as the API shows them: with no live bridge nobody knows whether a device is reachable."""
    alive = bridge_alive()
    return [DeviceView(id=d.id, room_id=d.room_id, hotel_id=d.hotel_id, key=d.key, kind=d.kind, name=d.name,
                       topic=d.topic, available=d.available if alive else None, availability_at=d.availability_at,
                       state=d.state, state_at=d.state_at, fault=d.fault) for d in devices]


def room_devices(room_id: int) -> list[Device]:
    return list(db.session.scalars(select(Device).where(Device.room_id == room_id).order_by(Device.id)))


def staff_room(staff: Any, room_id: int) -> Room:
    """A room of one of the staff member's hotels; another hotel's room is NotFound."""
    room = db.session.get(Room, room_id)
    if room is None or not staff.can_access_hotel(room.hotel_id):
        raise NotFound("No such room.")
    return room


def list_room_devices(*, staff: Any, room_id: int) -> list[DeviceView]:
    """The devices of a room of my hotel."""
    return views(room_devices(staff_room(staff, room_id).id))


def register_device(*, staff: Any, room_id: int, key: str, kind: str, name: dict[str, str]) -> DeviceView:
    """Register a device in a room; its topics follow from the hotel code, the room number and the key."""
    room = staff_room(staff, room_id)
    hotel = db.session.get(Hotel, room.hotel_id)
    base = topics.room_topic(hotel.code, room.number)
    topic = topics.device_topic(base, key)
    if db.session.scalar(select(Device.id).where(Device.topic == topic)) is not None:
        raise Conflict("This room already has a device with this key.", code="device_exists")
    device = Device(hotel_id=room.hotel_id, room_id=room.id, key=key, kind=kind, name=name, room_topic=base,
                    topic=topic)
    db.session.add(device)
    db.session.flush()
    return views([device])[0]


def remove_device(*, staff: Any, device_id: int) -> None:
    """Remove a device from the registry (its commands and history go with it)."""
    device = db.session.get(Device, device_id)
    if device is None or not staff.can_access_hotel(device.hotel_id):
        raise NotFound("No such device.")
    db.session.delete(device)


def register_demo_devices(*, rooms_per_hotel: int) -> int:
    """Development data: one device of each kind in the first rooms of every hotel that has none yet."""
    count = 0
    for hotel in db.session.scalars(select(Hotel).order_by(Hotel.id)):
        rooms = db.session.scalars(select(Room).where(Room.hotel_id == hotel.id).order_by(Room.number)
                                   .limit(rooms_per_hotel))
        for room in rooms:
            if room_devices(room.id):
                continue
            base = topics.room_topic(hotel.code, room.number)
            for kind in DeviceKind:
                db.session.add(Device(hotel_id=hotel.id, room_id=room.id, key=kind.value, kind=kind.value,
                                      name={"en": kind.value.title(), "ru": kind.value}, room_topic=base,
                                      topic=topics.device_topic(base, kind.value)))
                count += 1
    return count


def all_devices() -> list[Device]:
    """Every registered device (discovery configs, the simulator)."""
    return list(db.session.scalars(select(Device).order_by(Device.id)))


def hotel_devices(*, hotel_code: str) -> list[Device]:
    hotel = db.session.scalar(select(Hotel).where(Hotel.code == hotel_code))
    if hotel is None:
        raise NotFound(f"No hotel with code {hotel_code}.")
    return list(db.session.scalars(select(Device).where(Device.hotel_id == hotel.id).order_by(Device.id)))


_DISCOVERY_VALUE = {
    "light": "{{ 'on' if value_json.on else 'off' }}",
    "climate": "{{ value_json.setpoint_c }}",
    "curtains": "{{ value_json.position }}",
    "lock": "{{ 'locked' if value_json.locked else 'unlocked' }}",
    "indicator": "{{ value_json.mode }}",
    "sensor": "{{ value_json.temperature_c }}",
}


def discovery_configs() -> list[tuple[str, dict[str, Any]]]:
    """Home Assistant MQTT discovery: one retained config per device (read-only: commands go through the API,
    where guests are authorised, locks audited and every command gets an expiry)."""
    configs = []
    for device in all_devices():
        object_id = device.topic.removeprefix("hotel/").replace("/room/", "_").replace("/", "_")
        configs.append((f"{topics.DISCOVERY_PREFIX}/sensor/{object_id}/config", {
            "name": device.name.get("en") or device.key,
            "unique_id": f"hotel_{object_id}",
            "state_topic": f"{device.topic}/{topics.STATE}",
            "json_attributes_topic": f"{device.topic}/{topics.STATE}",
            "value_template": _DISCOVERY_VALUE[device.kind],
            "availability_topic": f"{device.topic}/{topics.AVAILABILITY}",
            "payload_available": topics.ONLINE.decode(),
            "payload_not_available": topics.OFFLINE.decode(),
            "device": {"identifiers": [device.room_topic.replace("/", "_")], "name": device.room_topic,
                       "manufacturer": "hotel-guest-app", "model": "room controller"},
        }))
    return configs
