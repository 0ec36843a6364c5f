"""The staff's room view: every room of a hotel with occupancy, DND state and its devices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.bookings.models import Booking, BookingStatus, RoomState
from app.core.errors import NotFound
from app.extensions import db
from app.hotels.models import Room
from app.iot.models import Device
from app.iot.services.registry import DeviceView, views


@dataclass(frozen=True)
class RoomView:
    room_id: int
    number: str
    occupied: bool
    stay_id: int | None
    room_state: str
    devices: list[DeviceView]


def staff_rooms(*, staff: Any, hotel_id: int) -> list[RoomView]:
    """The rooms of one of my hotels with their devices (another hotel answers 404)."""
    if not staff.can_access_hotel(hotel_id):
        raise NotFound("No such hotel.")
    rooms = list(db.session.scalars(select(Room).where(Room.hotel_id == hotel_id).order_by(Room.number)))
    stays = {stay.room_id: stay for stay in db.session.scalars(
        select(Booking).where(Booking.hotel_id == hotel_id, Booking.status == BookingStatus.IN_HOUSE,
                              Booking.room_id.is_not(None)))}
    devices: dict[int, list[Device]] = {}
    for device in db.session.scalars(select(Device).where(Device.hotel_id == hotel_id).order_by(Device.id)):
        devices.setdefault(device.room_id, []).append(device)
    result = []
    for room in rooms:
        stay = stays.get(room.id)
        result.append(RoomView(room_id=room.id, number=room.number, occupied=stay is not None,
                               stay_id=stay.id if stay else None,
                               room_state=stay.room_state if stay else RoomState.NONE.value,
                               devices=views(devices.get(room.id, []))))
    return result
