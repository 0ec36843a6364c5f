"""Chain -> hotels -> room types -> rooms, plus each hotel's season calendar and departments."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.core.db import IdMixin, TimestampMixin
from app.extensions import db


class SeasonKind(StrEnum):
    HIGH = "high"
    SHOULDER = "shoulder"
    LOW = "low"


class DepartmentKind(StrEnum):
    FRONT_DESK = "front_desk"
    HOUSEKEEPING = "housekeeping"
    MAINTENANCE = "maintenance"
    KITCHEN = "kitchen"
    CONCIERGE = "concierge"
    LAUNDRY = "laundry"


class Chain(IdMixin, TimestampMixin, db.Model):
    __tablename__ = "chains"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Hotel(IdMixin, TimestampMixin, db.Model):
    __tablename__ = "hotels"

    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[dict] = mapped_column(JSON)  # {"en": ..., "ru": ...}
    description: Mapped[dict | None] = mapped_column(JSON)
    city: Mapped[str] = mapped_column(String(100), index=True)
    # The city case-folded in Python: SQL lower() folds only ASCII on SQLite and under a C locale ("Сочи").
    city_key: Mapped[str] = mapped_column(String(100), index=True)
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    address: Mapped[str | None] = mapped_column(String(300))
    time_zone: Mapped[str] = mapped_column(String(64))  # IANA, e.g. Europe/Moscow
    currency: Mapped[str] = mapped_column(String(3))  # ISO 4217, e.g. RUB
    stars: Mapped[int | None] = mapped_column(Integer)
    check_in_time: Mapped[str] = mapped_column(String(5), default="14:00")
    check_out_time: Mapped[str] = mapped_column(String(5), default="12:00")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    seasons: Mapped[list[Season]] = relationship(
        back_populates="hotel", cascade="all, delete-orphan", order_by="Season.start_month, Season.start_day"
    )
    departments: Mapped[list[Department]] = relationship(cascade="all, delete-orphan", order_by="Department.id")

    @staticmethod
    def fold_city(city: str) -> str:
        return city.strip().casefold()

    @validates("city")
    def _keep_city_key(self, _key: str, city: str) -> str:
        self.city_key = self.fold_city(city)
        return city


class Season(IdMixin, db.Model):
    """A period of the year that repeats every year; it may wrap over New Year (a ski hotel's winter)."""

    __tablename__ = "seasons"
    __table_args__ = (
        CheckConstraint("start_month BETWEEN 1 AND 12 AND end_month BETWEEN 1 AND 12", name="months"),
        CheckConstraint("start_day BETWEEN 1 AND 31 AND end_day BETWEEN 1 AND 31", name="days"),
    )

    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # SeasonKind
    name: Mapped[dict | None] = mapped_column(JSON)
    start_month: Mapped[int] = mapped_column(Integer)
    start_day: Mapped[int] = mapped_column(Integer)
    end_month: Mapped[int] = mapped_column(Integer)  # inclusive
    end_day: Mapped[int] = mapped_column(Integer)

    hotel: Mapped[Hotel] = relationship(back_populates="seasons")

    def covers(self, day: date) -> bool:
        start, end, here = (self.start_month, self.start_day), (self.end_month, self.end_day), (day.month, day.day)
        if start <= end:
            return start <= here <= end
        return here >= start or here <= end  # wraps over New Year


class RoomType(IdMixin, TimestampMixin, db.Model):
    __tablename__ = "room_types"
    __table_args__ = (UniqueConstraint("hotel_id", "code"),)

    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[dict] = mapped_column(JSON)
    description: Mapped[dict | None] = mapped_column(JSON)
    max_occupancy: Mapped[int] = mapped_column(Integer)
    bed_type: Mapped[str | None] = mapped_column(String(40))
    size_m2: Mapped[int | None] = mapped_column(Integer)
    amenities: Mapped[list] = mapped_column(JSON, default=list)
    photos: Mapped[list] = mapped_column(JSON, default=list)  # absolute URLs


class Room(IdMixin, TimestampMixin, db.Model):
    __tablename__ = "rooms"
    __table_args__ = (UniqueConstraint("hotel_id", "number"),)

    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id"), index=True)
    room_type_id: Mapped[int] = mapped_column(ForeignKey("room_types.id"), index=True)
    number: Mapped[str] = mapped_column(String(20))
    floor: Mapped[int] = mapped_column(Integer)
    features: Mapped[list] = mapped_column(JSON, default=list)  # sea_view, quiet, accessible, ...
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    room_type: Mapped[RoomType] = relationship()


class Department(IdMixin, db.Model):
    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("hotel_id", "kind"),)

    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # DepartmentKind
    name: Mapped[dict] = mapped_column(JSON)
