"""A small chain for booking tests: a Black Sea resort and a Siberian ski hotel, each with its own seasons."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.bookings.models import PricingPolicy, RatePlan
from app.core.db import unit_of_work
from app.extensions import db
from app.hotels.models import Hotel, Room, RoomType, Season
from tests.factories import make_chain, make_hotel, make_room, make_room_type

BASE_PRICE = 1_000_000  # 10,000.00 RUB a night


@dataclass
class ChainHotel:
    hotel: Hotel
    room_type: RoomType
    plan: RatePlan
    rooms: list[Room]


def _seasons(hotel: Hotel, *periods: tuple[str, int, int, int, int]) -> None:
    with unit_of_work():
        merged = db.session.merge(hotel)
        merged.seasons = [Season(kind=kind, start_month=sm, start_day=sd, end_month=em, end_day=ed)
                          for kind, sm, sd, em, ed in periods]


def build_hotel(chain_id: int, *, city: str, time_zone: str, seasons: list, floors: tuple[int, ...],
                direct_bp: int = 1000, cap_bp: int = 2500, tax_bp: int = 100) -> ChainHotel:
    hotel = make_hotel(chain_id=chain_id, city=city, time_zone=time_zone)
    _seasons(hotel, *seasons)
    room_type = make_room_type(hotel, max_occupancy=3)
    rooms = [make_room(room_type, floor=floor, features=["quiet"] if floor == max(floors) else [])
             for floor in floors]
    with unit_of_work():
        plan = RatePlan(hotel_id=hotel.id, room_type_id=room_type.id, code="flex", name={"en": "Flexible"},
                        base_price=BASE_PRICE, season_adjustments_bp={"high": 15000, "low": 8000})
        db.session.add_all([plan, PricingPolicy(hotel_id=hotel.id, direct_discount_bp=direct_bp,
                                                max_discount_bp=cap_bp, tax_bp=tax_bp,
                                                free_cancellation_hours=48, late_cancellation_fee_nights=1)])
    return ChainHotel(hotel=hotel, room_type=room_type, plan=plan, rooms=rooms)


@pytest.fixture
def chain() -> dict[str, ChainHotel]:
    chain_id = make_chain().id
    resort = build_hotel(chain_id, city="Sochi", time_zone="Europe/Moscow", floors=(1, 2, 5),
                         seasons=[("high", 4, 15, 10, 15), ("low", 10, 16, 4, 14)])
    ski = build_hotel(chain_id, city="Sheregesh", time_zone="Asia/Novokuznetsk", floors=(1, 3, 4),
                      seasons=[("high", 12, 1, 3, 31), ("low", 4, 1, 11, 30)])
    return {"resort": resort, "ski": ski}
