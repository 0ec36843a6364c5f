"""Room inventory: holding nights without overselling, and availability across the whole chain.

A room type's capacity is its count of active rooms; `room_type_nights.booked` counts the bookings holding each
night. A hold is ONE conditional UPDATE (`booked = booked + 1 WHERE booked < capacity`) over the stay's nights: the
database serialises concurrent holds on the same rows (row locks on PostgreSQL, the write lock on SQLite), and a
hold that finds any night full changes fewer rows than it has nights, so the use case refuses and rolls back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import selectinload

from app.bookings.models import RatePlan, RoomTypeNight
from app.bookings.services.pricing import policies_for, price_nights, stay_nights
from app.core.errors import Conflict
from app.extensions import db
from app.hotels.models import Hotel, Room, RoomType


def capacity_of(room_type_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Room).where(
        Room.room_type_id == room_type_id, Room.is_active.is_(True))) or 0


def hold_nights(*, room_type_id: int, check_in: date, check_out: date) -> None:
    """Take one room of the type for each night, or refuse with 409 sold_out and change nothing."""
    nights = stay_nights(check_in, check_out)
    capacity = capacity_of(room_type_id)
    _ensure_rows(room_type_id, nights)
    held = db.session.execute(
        update(RoomTypeNight)
        .where(RoomTypeNight.room_type_id == room_type_id, RoomTypeNight.night >= check_in,
               RoomTypeNight.night < check_out, RoomTypeNight.booked < capacity)
        .values(booked=RoomTypeNight.booked + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if held != len(nights):
        raise Conflict("No room of this type is left for these dates.", code="sold_out")


def release_nights(*, room_type_id: int, check_in: date, check_out: date) -> None:
    """Give back the nights a booking held (cancellation, date change, early departure)."""
    db.session.execute(
        update(RoomTypeNight)
        .where(RoomTypeNight.room_type_id == room_type_id, RoomTypeNight.night >= check_in,
               RoomTypeNight.night < check_out, RoomTypeNight.booked > 0)
        .values(booked=RoomTypeNight.booked - 1)
        .execution_options(synchronize_session=False)
    )


def _ensure_rows(room_type_id: int, nights: list[date]) -> None:
    rows = [{"room_type_id": room_type_id, "night": night, "booked": 0} for night in nights]
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(RoomTypeNight).values(rows).on_conflict_do_nothing())


@dataclass
class RoomTypeOffer:
    room_type: RoomType
    available: int
    rate_plan_id: int
    currency: str
    public_total: int
    direct_total: int  # net of the app-only discount, before tax
    total: int  # what the guest pays with tax


@dataclass
class HotelAvailability:
    hotel: Hotel
    offers: list[RoomTypeOffer]

    @property
    def from_total(self) -> int:
        return min(offer.total for offer in self.offers)


def search(*, check_in: date, check_out: date, guests: int, city: str | None = None) -> list[HotelAvailability]:
    """Every hotel of the chain (or of one city) with a room type free on every night for `guests` people."""
    hotels = _hotels(city)
    room_types = list(db.session.scalars(select(RoomType).where(
        RoomType.hotel_id.in_(hotels), RoomType.max_occupancy >= guests)))
    if not room_types:
        return []
    ids = [room_type.id for room_type in room_types]
    free = _free_rooms(ids, check_in, check_out)
    plans = _cheapest_plans(ids)
    nights = stay_nights(check_in, check_out)
    policies = policies_for(list(hotels))
    by_hotel: dict[int, list[RoomTypeOffer]] = {}
    for room_type in room_types:
        if free.get(room_type.id, 0) <= 0 or room_type.id not in plans:
            continue
        hotel = hotels[room_type.hotel_id]
        priced = price_nights(hotel=hotel, plan=plans[room_type.id], policy=policies[hotel.id], nights=nights)
        by_hotel.setdefault(hotel.id, []).append(RoomTypeOffer(
            room_type=room_type, available=free[room_type.id], rate_plan_id=plans[room_type.id].id,
            currency=hotel.currency, public_total=sum(n.public_price for n in priced),
            direct_total=sum(n.net for n in priced), total=sum(n.total for n in priced)))
    return [HotelAvailability(hotel=hotels[hotel_id], offers=sorted(offers, key=lambda o: o.total))
            for hotel_id, offers in sorted(by_hotel.items())]


def _hotels(city: str | None) -> dict[int, Hotel]:
    query = select(Hotel).where(Hotel.is_active.is_(True)).options(selectinload(Hotel.seasons))
    if city:
        query = query.where(Hotel.city_key == Hotel.fold_city(city))
    return {hotel.id: hotel for hotel in db.session.scalars(query)}


def _free_rooms(room_type_ids: list[int], check_in: date, check_out: date) -> dict[int, int]:
    capacity = dict(db.session.execute(
        select(Room.room_type_id, func.count()).where(Room.room_type_id.in_(room_type_ids), Room.is_active.is_(True))
        .group_by(Room.room_type_id)).all())
    busiest = dict(db.session.execute(
        select(RoomTypeNight.room_type_id, func.max(RoomTypeNight.booked))
        .where(RoomTypeNight.room_type_id.in_(room_type_ids), RoomTypeNight.night >= check_in,
               RoomTypeNight.night < check_out)
        .group_by(RoomTypeNight.room_type_id)).all())
    return {room_type_id: count - (busiest.get(room_type_id) or 0) for room_type_id, count in capacity.items()}


def _cheapest_plans(room_type_ids: list[int]) -> dict[int, RatePlan]:
    plans: dict[int, RatePlan] = {}
    for plan in db.session.scalars(select(RatePlan).where(RatePlan.room_type_id.in_(room_type_ids),
                                                          RatePlan.is_active.is_(True))
                                   .order_by(RatePlan.base_price.desc(), RatePlan.id.desc())):
        plans[plan.room_type_id] = plan  # the cheapest comes last and wins
    return plans
