"""Room inventory: holding nights without overselling, and availability across the whole chain.

A room type's capacity is its count of active rooms; `room_type_nights.booked` counts the bookings holding each
night. A hold is ONE conditional UPDATE (`booked = booked + 1 WHERE booked < capacity`) over the stay's nights: the
database serialises concurrent holds on the same rows (row locks on PostgreSQL, the write lock on SQLite), and a
hold that finds any night full changes fewer rows than it has nights, so the use case refuses and rolls back.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.bookings import catalogue
from app.bookings.catalogue import HotelView, RoomTypeView
from app.bookings.models import RoomTypeNight
from app.bookings.services.pricing import night_price, stay_nights
from app.core.errors import Conflict
from app.extensions import db
from app.hotels.models import Room


def hold_nights(*, room_type_id: int, check_in: date, check_out: date) -> None:
    """Take one room of the type for each night, or refuse with 409 sold_out and change nothing."""
    nights = stay_nights(check_in, check_out)
    _ensure_rows(room_type_id, nights)
    capacity = select(func.count()).select_from(Room).where(
        Room.room_type_id == room_type_id, Room.is_active.is_(True)).scalar_subquery()
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
    room_type: RoomTypeView
    available: int
    rate_plan_id: int
    currency: str
    public_total: int
    direct_total: int  # net of the app-only discount, before tax
    total: int  # what the guest pays with tax


@dataclass
class HotelAvailability:
    hotel: HotelView
    offers: list[RoomTypeOffer]

    @property
    def from_total(self) -> int:
        return min(offer.total for offer in self.offers)


def search(*, check_in: date, check_out: date, guests: int, city: str | None = None) -> list[HotelAvailability]:
    """Every hotel of the chain (or of one city) with a room type free on every night for `guests` people.

    The catalogue (hotels, seasons, policies, room types, capacities, cheapest plans) comes from the per-process
    copy (app/bookings/catalogue.py); only the booked counts of the nights are read here, in one query. Prices are
    worked out once per season kind and multiplied by its nights: the same per-night rounding as a quote.
    """
    hotels = catalogue.current().hotels_in(city)
    room_types = [room_type for hotel in hotels for room_type in hotel.room_types
                  if room_type.max_occupancy >= guests and room_type.plan is not None and room_type.capacity > 0]
    if not room_types:
        return []
    busiest = _busiest_nights([room_type.id for room_type in room_types], check_in, check_out)
    nights = stay_nights(check_in, check_out)
    results = []
    by_hotel: dict[int, list[RoomTypeView]] = {}
    for room_type in room_types:
        by_hotel.setdefault(room_type.hotel_id, []).append(room_type)
    for hotel in hotels:
        candidates = [rt for rt in by_hotel.get(hotel.id, ()) if rt.capacity - busiest.get(rt.id, 0) > 0]
        if not candidates:
            continue
        season_nights = Counter(hotel.season_on(night) for night in nights)
        offers = [_offer(hotel, room_type, room_type.capacity - busiest.get(room_type.id, 0), season_nights)
                  for room_type in candidates]
        results.append(HotelAvailability(hotel=hotel, offers=sorted(offers, key=lambda o: o.total)))
    return sorted(results, key=lambda result: result.hotel.id)


def _offer(hotel: HotelView, room_type: RoomTypeView, available: int, season_nights: Counter[str]) -> RoomTypeOffer:
    plan, policy = room_type.plan, hotel.policy
    assert plan is not None
    public_total = direct_total = total = 0
    for season, count in season_nights.items():
        night = night_price(base_price=plan.base_price, adjustments_bp=plan.season_adjustments_bp, season=season,
                            direct_bp=policy.direct_discount_bp, cap_bp=policy.max_discount_bp, tax_bp=policy.tax_bp)
        public_total += night.public_price * count
        direct_total += night.net * count
        total += night.total * count
    return RoomTypeOffer(room_type=room_type, available=available, rate_plan_id=plan.id, currency=hotel.currency,
                         public_total=public_total, direct_total=direct_total, total=total)


def _busiest_nights(room_type_ids: list[int], check_in: date, check_out: date) -> dict[int, int]:
    """The most rooms of each type held on any night of the stay (types without rows have none held)."""
    return dict(db.session.execute(
        select(RoomTypeNight.room_type_id, func.max(RoomTypeNight.booked))
        .where(RoomTypeNight.room_type_id.in_(room_type_ids), RoomTypeNight.night >= check_in,
               RoomTypeNight.night < check_out)
        .group_by(RoomTypeNight.room_type_id)).all())
