"""Hotels: the public catalogue, and creating and changing hotels for the chain's administration."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.core.errors import Conflict, Forbidden, Unprocessable
from app.core.pagination import Page, paginate
from app.extensions import db
from app.hotels.models import Chain, Hotel
from app.hotels.services.access import Actor, active_hotel, flush_unique, managed_hotel
from app.hotels.services.seasons import DEFAULT_RESORT_CALENDAR, build_calendar

# A hotel's code names it to other systems (staff accounts are scoped by it), and being listed is the chain's call.
CHAIN_ONLY_FIELDS = frozenset({"code", "is_active"})


def list_hotels(*, cursor: str | None, limit: int, city: str | None = None) -> Page:
    """Active hotels of the chain, optionally in one city (case-insensitive exact match)."""
    stmt = select(Hotel).where(Hotel.is_active.is_(True))
    if city:
        stmt = stmt.where(Hotel.city_key == Hotel.fold_city(city))
    return paginate(stmt, keys=[Hotel.id], cursor=cursor, limit=limit)


def get_hotel(*, hotel_id: int) -> Hotel:
    """A hotel of the public catalogue (inactive ones are not found)."""
    return active_hotel(hotel_id)


def get_managed_hotel(*, staff: Actor, hotel_id: int) -> Hotel:
    """A hotel the staff member manages, active or not."""
    return managed_hotel(staff, hotel_id)


def find_chain(*, code: str) -> Chain | None:
    """The chain with `code`, if there is one."""
    return db.session.scalars(select(Chain).where(Chain.code == code)).one_or_none()


def create_chain(*, code: str, name: str) -> Chain:
    """Create a hotel chain (the seed and the first deployment make one)."""
    chain = Chain(code=code, name=name)
    db.session.add(chain)
    db.session.flush()
    return chain


def create_hotel(
    *, code: str, chain_id: int | None = None, seasons: list[dict[str, Any]] | None = None, **details: Any
) -> Hotel:
    """Create a hotel with its season calendar (the resort default when none is given)."""
    _ensure_code_free(code)
    hotel = Hotel(chain_id=_chain_id(chain_id), code=code, **details)
    hotel.seasons = build_calendar(DEFAULT_RESORT_CALENDAR if seasons is None else seasons)
    db.session.add(hotel)
    flush_unique(_code_taken(code))
    return hotel


def update_hotel(*, staff: Actor, hotel_id: int, changes: dict[str, Any]) -> Hotel:
    """Change some fields of a hotel; its code and catalogue listing only by a chain admin."""
    hotel = managed_hotel(staff, hotel_id)
    reserved = sorted(CHAIN_ONLY_FIELDS & changes.keys())
    if reserved and not staff.is_chain_wide:
        raise Forbidden("Only a chain admin changes a hotel's code or whether it is listed.", code="chain_admin_only",
                        errors={name: ["Chain admins only."] for name in reserved})
    if changes.get("code", hotel.code) != hotel.code:
        _ensure_code_free(changes["code"])
    for name, value in changes.items():
        setattr(hotel, name, value)
    flush_unique(_code_taken(hotel.code))
    return hotel


def _chain_id(chain_id: int | None) -> int:
    if chain_id is not None:
        if db.session.get(Chain, chain_id) is None:
            raise Unprocessable("No such chain.", code="unknown_chain", errors={"chain_id": ["No such chain."]})
        return chain_id
    chain_ids = db.session.scalars(select(Chain.id).limit(2)).all()
    if len(chain_ids) != 1:
        raise Unprocessable("Say which chain the hotel belongs to.", code="chain_required",
                            errors={"chain_id": ["Required unless the database holds exactly one chain."]})
    return chain_ids[0]


def _ensure_code_free(code: str) -> None:
    if db.session.scalars(select(Hotel.id).where(Hotel.code == code)).first() is not None:
        raise _code_taken(code)


def _code_taken(code: str) -> Conflict:
    return Conflict(f"A hotel with code {code} exists.", code="hotel_code_taken", errors={"code": ["Already in use."]})
