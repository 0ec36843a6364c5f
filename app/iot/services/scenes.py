"""Scenes (welcome, sleep, away, checkout) and the automations that react to bookings' events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.bookings.models import Booking
from app.bookings.services.stay_ops import preferences_payload
from app.core.errors import NotFound
from app.core.events import DomainEvent
from app.extensions import db
from app.iot.models import Device, DeviceCommand, DeviceKind
from app.iot.schemas import SCENES
from app.iot.services.commands import GUEST_KINDS, _guest_stay, issue

DEFAULT_SETPOINT_C = 22.0
DEFAULT_LIGHT_LEVEL = 70
DEFAULT_CURTAINS_POSITION = 100  # open: the room greets the guest with daylight unless they asked otherwise


def scene_values(scene: str, preferences: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """What each kind of device is set to in a scene; the welcome scene follows the guest's preferences."""
    preferences = preferences or {}
    if scene == "welcome":
        setpoint = preferences.get("room_temperature_c")
        level = preferences.get("light_level")
        curtains = preferences.get("curtains_position")
        return {
            DeviceKind.CLIMATE: {"power": True, "mode": "auto",
                                 "setpoint_c": _half_degrees(setpoint) if setpoint is not None else DEFAULT_SETPOINT_C},
            DeviceKind.LIGHT: {"on": True, "brightness": int(level) if level is not None else DEFAULT_LIGHT_LEVEL},
            DeviceKind.CURTAINS: {"position": int(curtains) if curtains is not None else DEFAULT_CURTAINS_POSITION},
        }
    if scene == "sleep":
        return {DeviceKind.LIGHT: {"on": False}, DeviceKind.CURTAINS: {"position": 0},
                DeviceKind.CLIMATE: {"fan": "low"}}
    if scene == "away":
        return {DeviceKind.LIGHT: {"on": False}, DeviceKind.CLIMATE: {"mode": "eco"}}
    # checkout: the energy-saving reset of an empty room
    return {DeviceKind.LIGHT: {"on": False}, DeviceKind.CLIMATE: {"power": False}, DeviceKind.CURTAINS: {"position": 0},
            DeviceKind.INDICATOR: {"mode": "none"}}


def _half_degrees(value: Any) -> float:
    return min(30.0, max(16.0, round(float(value) * 2) / 2))


def apply_scene(*, room_id: int, scene: str, issued_by: str, stay_id: int | None, actor: Any = None,
                preferences: dict[str, Any] | None = None, kinds: tuple[str, ...] | None = None
                ) -> list[DeviceCommand]:
    """Queue one command per device of the room that the scene sets (locks never: a scene opens no door)."""
    values = scene_values(scene, preferences)
    devices = db.session.scalars(select(Device).where(Device.room_id == room_id).order_by(Device.id))
    return [issue(device=device, values=values[device.kind], issued_by=issued_by, source=f"scene:{scene}",
                  stay_id=stay_id, actor=actor)
            for device in devices if device.kind in values and (kinds is None or device.kind in kinds)]


def guest_scene(*, guest: Any, stay_id: int, scene: str) -> list[DeviceCommand]:
    """The guest applies a scene to the room of their stay in progress (welcome uses their preferences)."""
    if scene not in SCENES:
        raise NotFound("No such scene.", code="unknown_scene")
    stay = _guest_stay(guest, stay_id)
    preferences = preferences_payload(guest.preferences) if scene == "welcome" else None
    return apply_scene(room_id=stay.room_id, scene=scene, issued_by=f"guest:{guest.id}", stay_id=stay.id,
                       actor=guest, preferences=preferences, kinds=GUEST_KINDS)


# -- subscribers (run inside the transaction that recorded the event) ---------------------------------------------

def on_checked_in(event: DomainEvent) -> None:
    """`booking.checked_in`: the welcome scene from the guest's chain-wide preferences."""
    room_id = event.payload.get("room_id")
    if isinstance(room_id, int):
        apply_scene(room_id=room_id, scene="welcome", issued_by="system", stay_id=event.subject_id,
                    preferences=event.payload.get("preferences") or {})


def on_checked_out(event: DomainEvent) -> None:
    """`booking.checked_out`: the energy-saving reset of the empty room."""
    room_id = event.payload.get("room_id")
    if not isinstance(room_id, int) and event.subject_id is not None:
        booking = db.session.get(Booking, event.subject_id)
        room_id = booking.room_id if booking else None
    if isinstance(room_id, int):
        apply_scene(room_id=room_id, scene="checkout", issued_by="system", stay_id=event.subject_id)


def on_dnd_changed(event: DomainEvent) -> None:
    """`room.dnd_changed`: the room's indicator shows the new state (unless its own button made the change)."""
    if event.payload.get("source") == "device":
        return
    room_id, state = event.payload.get("room_id"), event.payload.get("state")
    indicators = db.session.scalars(select(Device).where(Device.room_id == room_id,
                                                         Device.kind == DeviceKind.INDICATOR))
    for indicator in indicators:
        issue(device=indicator, values={"mode": state}, issued_by="system", source="dnd", stay_id=event.subject_id)
