"""A small chain for booking tests: a Black Sea resort and a Siberian ski hotel, each with its own seasons."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from app.bookings.models import PricingPolicy, RatePlan, RoomTypeNight
from app.core import clock
from app.core.db import unit_of_work
from app.extensions import db
from app.hotels.models import Hotel, Room, RoomType, Season
from tests.factories import headers_for, make_chain, make_hotel, make_room, make_room_type

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


JANUARY = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def time_machine():
    with clock.frozen(JANUARY) as advance:
        yield advance


def book(client, guest, hotel, check_in="2027-01-20", check_out="2027-01-23", key=None, headers=None, **extra):
    headers = (headers or headers_for(guest)) | ({"Idempotency-Key": key} if key else {})
    body = {"hotel_id": hotel.hotel.id, "room_type_id": hotel.room_type.id, "check_in": check_in,
            "check_out": check_out, "adults": 2, **extra}
    return client.post("/api/v1/bookings", json=body, headers=headers)


def booked_count(room_type_id: int, night: str) -> int:
    db.session.commit()
    return db.session.scalar(select(RoomTypeNight.booked).where(
        RoomTypeNight.room_type_id == room_type_id, RoomTypeNight.night == datetime.fromisoformat(night).date())) or 0


@contextmanager
def transaction_held_open(app: Any, work: Callable[[], Any]) -> Iterator[Future]:
    """Run `work` in a unit of work on another thread and keep its transaction open until the block ends; then it
    commits. Yields the future of work's result. For racing something against a transaction deterministically."""
    done_working, may_commit = threading.Event(), threading.Event()

    def run() -> Any:
        with app.app_context():
            try:
                with unit_of_work():
                    result = work()
                    done_working.set()
                    may_commit.wait(10)
                return result
            finally:
                done_working.set()
                db.session.remove()

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(run)
        assert done_working.wait(10)
        try:
            yield future
        finally:
            may_commit.set()
