"""A per-process, read-through copy of the chain's catalogue: what availability search needs besides the nights.

Hotels (with their season calendars and pricing policies), room types with their count of active rooms, and each
room type's cheapest active rate plan change a few times a day, yet every search read them all through the ORM
(about 60 % of its cost). Each process keeps them as plain immutable objects and rebuilds them when they change.

Invalidation is exact and works across processes: any ORM change to a catalogue model bumps a stamp
(`catalogue_stamps`, one row, a random number) in the same transaction (an `after_flush` hook, so no admin service
can forget it), and every search reads the stamp in its own transaction first: a different stamp, and the copy is
rebuilt from that same transaction. Changes made behind the ORM's back (SQL by hand, bulk loads) are picked up
after CATALOGUE_CACHE_SECONDS at the latest.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import BigInteger, Integer, event, func, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.bookings.models import PricingPolicy, RatePlan
from app.extensions import db
from app.hotels.models import Hotel, Room, RoomType, Season, SeasonKind

_EXTENSION = "catalogue_cache"
_STAMP_ID = 1
# Of a room only these matter to the catalogue (its count per type); a room's other changes do not bump the stamp.
_ROOM_FIELDS = ("is_active", "room_type_id", "hotel_id")
_WATCHED = (Hotel, Season, RoomType, PricingPolicy, RatePlan)


class CatalogueStamp(db.Model):
    """One row whose `stamp` changes with every committed change to the catalogue."""

    __tablename__ = "catalogue_stamps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stamp: Mapped[int] = mapped_column(BigInteger)


@dataclass(frozen=True)
class PlanView:
    id: int
    base_price: int
    season_adjustments_bp: dict[str, int]


@dataclass(frozen=True)
class PolicyView:
    direct_discount_bp: int
    max_discount_bp: int
    tax_bp: int
    free_cancellation_hours: int
    late_cancellation_fee_nights: int


@dataclass(frozen=True)
class RoomTypeView:
    id: int
    hotel_id: int
    name: dict[str, str]
    max_occupancy: int
    photos: list[str]
    capacity: int  # active rooms
    plans: tuple[PlanView, ...]  # active rate plans, cheapest first (base price, then id)

    @property
    def plan(self) -> PlanView | None:
        """The cheapest active rate plan."""
        return self.plans[0] if self.plans else None

    def plan_by_id(self, plan_id: int | None) -> PlanView | None:
        """An active plan of this room type (`None`: the cheapest)."""
        if plan_id is None:
            return self.plan
        return next((plan for plan in self.plans if plan.id == plan_id), None)


@dataclass(frozen=True)
class HotelView:
    id: int
    name: dict[str, str]
    city: str
    city_key: str
    currency: str
    time_zone: str
    check_in_time: str
    seasons: tuple[tuple[str, tuple[int, int], tuple[int, int]], ...]  # (kind, (month, day) start, end) in order
    policy: PolicyView
    room_types: tuple[RoomTypeView, ...]
    _season_of: dict[tuple[int, int], str] = field(default_factory=dict, compare=False, repr=False)

    def room_type(self, room_type_id: int) -> RoomTypeView | None:
        return next((room_type for room_type in self.room_types if room_type.id == room_type_id), None)

    def season_on(self, night: date) -> str:
        """The season kind of a night (the first season covering it, as Season.covers decides; else shoulder)."""
        here = (night.month, night.day)
        kind = self._season_of.get(here)
        if kind is None:
            kind = next((k for k, start, end in self.seasons
                         if (start <= here <= end if start <= end else here >= start or here <= end)),
                        SeasonKind.SHOULDER.value)
            self._season_of[here] = kind
        return kind


@dataclass(frozen=True)
class Catalogue:
    stamp: int | None
    built_at: float
    hotels: dict[int, HotelView]  # active hotels, by id

    def hotels_in(self, city: str | None) -> list[HotelView]:
        if not city:
            return list(self.hotels.values())
        key = Hotel.fold_city(city)
        return [hotel for hotel in self.hotels.values() if hotel.city_key == key]


def current() -> Catalogue:
    """The catalogue as of the caller's transaction: the cached copy when its stamp is current, else rebuilt.

    The stamp is read once per transaction (a booking asks several times).
    """
    session = db.session()
    memo = session.info.get(_EXTENSION)
    if memo is not None and memo[0] is session.get_transaction():
        return memo[1]
    catalogue = _current(session)
    session.info[_EXTENSION] = (session.get_transaction(), catalogue)
    return catalogue


def _current(session: Session) -> Catalogue:
    stamp = session.scalar(select(CatalogueStamp.stamp).where(CatalogueStamp.id == _STAMP_ID))
    holder = current_app.extensions.setdefault(_EXTENSION, {"catalogue": None, "lock": threading.Lock()})
    cached: Catalogue | None = holder["catalogue"]
    max_age = current_app.config.get("CATALOGUE_CACHE_SECONDS", 60)
    if cached is not None and cached.stamp == stamp and time.monotonic() - cached.built_at < max_age:
        return cached
    catalogue = _build(stamp)
    holder["catalogue"] = catalogue
    return catalogue


def _build(stamp: int | None) -> Catalogue:
    built_at = time.monotonic()
    hotels = list(db.session.scalars(select(Hotel).where(Hotel.is_active.is_(True)).order_by(Hotel.id)))
    ids = [hotel.id for hotel in hotels]
    seasons: dict[int, list[Season]] = {}
    for season in db.session.scalars(select(Season).where(Season.hotel_id.in_(ids))
                                     .order_by(Season.hotel_id, Season.start_month, Season.start_day, Season.id)):
        seasons.setdefault(season.hotel_id, []).append(season)
    policies = {p.hotel_id: p for p in db.session.scalars(select(PricingPolicy).where(
        PricingPolicy.hotel_id.in_(ids)))}
    room_types: dict[int, list[RoomType]] = {}
    for room_type in db.session.scalars(select(RoomType).where(RoomType.hotel_id.in_(ids)).order_by(RoomType.id)):
        room_types.setdefault(room_type.hotel_id, []).append(room_type)
    capacity = dict(db.session.execute(
        select(Room.room_type_id, func.count()).where(Room.hotel_id.in_(ids), Room.is_active.is_(True))
        .group_by(Room.room_type_id)).all())
    plans: dict[int, list[PlanView]] = {}
    for plan in db.session.scalars(select(RatePlan).where(RatePlan.hotel_id.in_(ids), RatePlan.is_active.is_(True))
                                   .order_by(RatePlan.base_price, RatePlan.id)):
        plans.setdefault(plan.room_type_id, []).append(
            PlanView(plan.id, plan.base_price, dict(plan.season_adjustments_bp or {})))
    views = {hotel.id: _hotel_view(hotel, seasons.get(hotel.id, []), policies.get(hotel.id),
                                   room_types.get(hotel.id, []), capacity, plans) for hotel in hotels}
    return Catalogue(stamp=stamp, built_at=built_at, hotels=views)


def _hotel_view(hotel: Hotel, seasons: list[Season], policy: PricingPolicy | None, room_types: list[RoomType],
                capacity: dict[int, int], plans: dict[int, list[PlanView]]) -> HotelView:
    from app.bookings.services.pricing import DEFAULT_POLICY

    settings = DEFAULT_POLICY if policy is None else {name: getattr(policy, name) for name in DEFAULT_POLICY}
    policy_view = PolicyView(**{name: settings[name] for name in PolicyView.__dataclass_fields__})
    return HotelView(
        id=hotel.id, name=dict(hotel.name or {}), city=hotel.city, city_key=hotel.city_key, currency=hotel.currency,
        time_zone=hotel.time_zone, check_in_time=hotel.check_in_time,
        seasons=tuple((s.kind, (s.start_month, s.start_day), (s.end_month, s.end_day)) for s in seasons),
        policy=policy_view,
        room_types=tuple(RoomTypeView(
            id=rt.id, hotel_id=rt.hotel_id, name=dict(rt.name or {}), max_occupancy=rt.max_occupancy,
            photos=list(rt.photos or []), capacity=capacity.get(rt.id, 0), plans=tuple(plans.get(rt.id, ())),
        ) for rt in room_types),
    )


# -- the stamp -----------------------------------------------------------------------------------------------------

def _touches_catalogue(session: Session) -> bool:
    for obj in (*session.new, *session.deleted):
        if isinstance(obj, (*_WATCHED, Room)):
            return True
    for obj in session.dirty:
        if isinstance(obj, _WATCHED) and session.is_modified(obj):
            return True
        if isinstance(obj, Room):
            attrs = inspect(obj).attrs
            if any(attrs[name].history.has_changes() for name in _ROOM_FIELDS):
                return True
    return False


def bump_stamp(session: Session) -> None:
    """Give the catalogue a new stamp in the session's transaction (every process rebuilds its copy)."""
    session.info.pop(_EXTENSION, None)  # this transaction's copy is out of date too
    connection = session.connection()
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    stamp = secrets.randbits(62)
    connection.execute(insert(CatalogueStamp.__table__).values(id=_STAMP_ID, stamp=stamp)
                       .on_conflict_do_update(index_elements=["id"], set_={"stamp": stamp}))


@event.listens_for(Session, "after_flush")
def _stamp_catalogue_changes(session: Session, _context: Any) -> None:
    if _touches_catalogue(session):
        bump_stamp(session)
