"""Room types, rooms and departments of a hotel, managed by its managers and the chain's admins."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from app.core.errors import Conflict, Unprocessable
from app.core.pagination import Page, paginate
from app.extensions import db
from app.hotels.models import Department, Hotel, Room, RoomType
from app.hotels.services.access import Actor, active_hotel, flush_unique, managed_hotel, owned

# -- room types --------------------------------------------------------------------------------------------------


def list_room_types(*, hotel_id: int) -> list[RoomType]:
    """The room types of a hotel in the catalogue."""
    return _room_types_of(active_hotel(hotel_id).id)


def list_managed_room_types(*, staff: Actor, hotel_id: int) -> list[RoomType]:
    """The room types of a hotel the staff member manages."""
    return _room_types_of(managed_hotel(staff, hotel_id).id)


def _room_types_of(hotel_id: int) -> list[RoomType]:
    return list(db.session.scalars(select(RoomType).where(RoomType.hotel_id == hotel_id).order_by(RoomType.id)))


def create_room_type(
    *, staff: Actor, hotel_id: int, code: str, amenities: Sequence[str] = (), photos: Sequence[str] = (),
    **details: Any,
) -> RoomType:
    """Add a room type to a hotel; its code is unique within the hotel."""
    hotel = managed_hotel(staff, hotel_id)
    _ensure_room_type_code_free(hotel.id, code)
    room_type = RoomType(hotel_id=hotel.id, code=code, amenities=list(amenities), photos=list(photos), **details)
    db.session.add(room_type)
    flush_unique(_room_type_code_taken(code))
    return room_type


def update_room_type(*, staff: Actor, room_type_id: int, changes: dict[str, Any]) -> RoomType:
    """Change some fields of a room type."""
    room_type = owned(staff, RoomType, room_type_id, what="room type")
    if changes.get("code", room_type.code) != room_type.code:
        _ensure_room_type_code_free(room_type.hotel_id, changes["code"])
    for name, value in changes.items():
        setattr(room_type, name, value)
    flush_unique(_room_type_code_taken(room_type.code))
    return room_type


def _ensure_room_type_code_free(hotel_id: int, code: str) -> None:
    taken = select(RoomType.id).where(RoomType.hotel_id == hotel_id, RoomType.code == code)
    if db.session.scalars(taken).first() is not None:
        raise _room_type_code_taken(code)


def _room_type_code_taken(code: str) -> Conflict:
    return Conflict(f"The hotel has a room type with code {code}.", code="room_type_code_taken",
                    errors={"code": ["Already in use in this hotel."]})


# -- rooms -------------------------------------------------------------------------------------------------------

def list_rooms(*, staff: Actor, hotel_id: int, cursor: str | None, limit: int) -> Page:
    """The rooms of a hotel the staff member manages, in the order they were added."""
    hotel = managed_hotel(staff, hotel_id)
    return paginate(select(Room).where(Room.hotel_id == hotel.id), keys=[Room.id], cursor=cursor, limit=limit)


def create_room(
    *, staff: Actor, hotel_id: int, number: str, floor: int, room_type_id: int, features: Sequence[str] = (),
    is_active: bool = True,
) -> Room:
    """Add a room of one of the hotel's room types; its number is unique within the hotel."""
    hotel = managed_hotel(staff, hotel_id)
    _ensure_room_type_of(hotel.id, room_type_id)
    _ensure_room_number_free(hotel.id, number)
    room = Room(hotel_id=hotel.id, number=number, floor=floor, room_type_id=room_type_id, features=list(features),
                is_active=is_active)
    db.session.add(room)
    flush_unique(_room_number_taken(number))
    return room


def update_room(*, staff: Actor, room_id: int, changes: dict[str, Any]) -> Room:
    """Change some fields of a room (its type only for another type of the same hotel)."""
    room = owned(staff, Room, room_id, what="room")
    if "room_type_id" in changes:
        _ensure_room_type_of(room.hotel_id, changes["room_type_id"])
    if changes.get("number", room.number) != room.number:
        _ensure_room_number_free(room.hotel_id, changes["number"])
    for name, value in changes.items():
        setattr(room, name, value)
    flush_unique(_room_number_taken(room.number))
    return room


def _ensure_room_type_of(hotel_id: int, room_type_id: int) -> None:
    room_type = db.session.get(RoomType, room_type_id)
    if room_type is None or room_type.hotel_id != hotel_id:
        raise Unprocessable("No such room type in this hotel.", code="unknown_room_type",
                            errors={"room_type_id": ["No such room type in this hotel."]})


def _ensure_room_number_free(hotel_id: int, number: str) -> None:
    taken = select(Room.id).where(Room.hotel_id == hotel_id, Room.number == number)
    if db.session.scalars(taken).first() is not None:
        raise _room_number_taken(number)


def _room_number_taken(number: str) -> Conflict:
    return Conflict(f"The hotel has a room {number}.", code="room_number_taken",
                    errors={"number": ["Already in use in this hotel."]})


# -- departments -------------------------------------------------------------------------------------------------

def list_departments(*, staff: Actor, hotel_id: int) -> Hotel:
    """A hotel the staff member manages, with its departments."""
    return managed_hotel(staff, hotel_id)


def replace_departments(*, staff: Actor, hotel_id: int, departments: list[dict[str, Any]]) -> Hotel:
    """Make the hotel's departments exactly `departments`; one whose kind stays keeps its id (requests point to it)."""
    hotel = managed_hotel(staff, hotel_id)
    current = {department.kind: department for department in hotel.departments}
    kept = []
    for wanted in departments:
        department = current.get(wanted["kind"]) or Department(kind=wanted["kind"])
        department.name = wanted["name"]
        kept.append(department)
    hotel.departments = kept  # delete-orphan removes the departments left out
    db.session.flush()
    db.session.expire(hotel, ["departments"])  # reload in id order
    return hotel
