"""Who may manage which hotel, and the shared lookups that answer 404 for anything outside the caller's hotels."""

from __future__ import annotations

from typing import Protocol, TypeVar

from sqlalchemy.exc import IntegrityError

from app.core.errors import Conflict, NotFound
from app.extensions import db
from app.hotels.models import Hotel, Room, RoomType


class Actor(Protocol):
    """A staff member as hotels see one (app.staff is a higher domain: duck-typed, never imported)."""

    @property
    def is_chain_wide(self) -> bool: ...

    def can_access_hotel(self, hotel_id: int) -> bool: ...


Owned = TypeVar("Owned", RoomType, Room)


def active_hotel(hotel_id: int) -> Hotel:
    """A hotel in the public catalogue; inactive and unknown hotels are both simply not found."""
    hotel = db.session.get(Hotel, hotel_id)
    if hotel is None or not hotel.is_active:
        raise NotFound("No such hotel.")
    return hotel


def managed_hotel(staff: Actor, hotel_id: int) -> Hotel:
    """A hotel the staff member may manage (active or not); another hotel answers 404, as if it did not exist."""
    hotel = db.session.get(Hotel, hotel_id)
    if hotel is None or not staff.can_access_hotel(hotel.id):
        raise NotFound("No such hotel.")
    return hotel


def owned(staff: Actor, model: type[Owned], object_id: int, *, what: str) -> Owned:
    """A room or room type of one of the staff member's hotels."""
    found = db.session.get(model, object_id)
    if found is None or not staff.can_access_hotel(found.hotel_id):
        raise NotFound(f"No such {what}.")
    return found


def flush_unique(conflict: Conflict) -> None:
    """Flush; a unique constraint that a concurrent request claimed since our check answers as `conflict`."""
    try:
        db.session.flush()
    except IntegrityError as error:
        raise conflict from error
