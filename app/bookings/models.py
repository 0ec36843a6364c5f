"""Rate plans, the per-night inventory counter, bookings (a booking becomes the stay once checked in) and folios."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.db import IdMixin, TimestampMixin, UTCDateTime
from app.core.errors import Conflict
from app.extensions import db
from app.hotels.models import Room


class BookingStatus(StrEnum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    IN_HOUSE = "in_house"
    CHECKED_OUT = "checked_out"
    NO_SHOW = "no_show"


# Statuses that hold a room for their nights (the inventory counter counts them).
HOLDING_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.IN_HOUSE)


class BookingChannel(StrEnum):
    APP = "app"  # the guest, in the app: the app-only direct discount applies
    FRONT_DESK = "front_desk"  # a clerk, for a guest at the desk or on the phone: no app-only discount


class RoomState(StrEnum):
    """Do-not-disturb and make-up-room are states of an occupied room, mutually exclusive."""

    NONE = "none"
    DND = "dnd"
    MAKE_UP_ROOM = "make_up_room"


class FolioStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ChargeKind(StrEnum):
    ROOM_NIGHT = "room_night"
    TAX = "tax"
    ROOM_SERVICE = "room_service"
    LAUNDRY = "laundry"
    MINIBAR = "minibar"
    EXCURSION = "excursion"
    FEE = "fee"  # cancellation or modification fee
    POINTS = "points"  # loyalty points redeemed (negative amount)
    OTHER = "other"


class PricingPolicy(IdMixin, db.Model):
    """A hotel's commercial settings: the app-only discount, the cap on stacked discounts, the tax, cancellation."""

    __tablename__ = "pricing_policies"
    __table_args__ = (
        CheckConstraint("direct_discount_bp BETWEEN 0 AND 10000", name="direct_discount"),
        CheckConstraint("max_discount_bp BETWEEN 0 AND 10000", name="max_discount"),
    )

    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id", ondelete="CASCADE"), unique=True)
    # Basis points (1/100 of a percent) off the public price, for booking in the app.
    direct_discount_bp: Mapped[int] = mapped_column(Integer, default=1000)
    # The sum of all discounts (direct, tier, promo) never exceeds this share of the public price.
    max_discount_bp: Mapped[int] = mapped_column(Integer, default=3000)
    # Tax added on top of the net room price (the resort fee / tourist tax in Russia), in basis points.
    tax_bp: Mapped[int] = mapped_column(Integer, default=0)
    tax_name: Mapped[dict | None] = mapped_column(JSON)
    # Free cancellation until this many hours before the check-in time on the arrival day; then the fee.
    free_cancellation_hours: Mapped[int] = mapped_column(Integer, default=48)
    late_cancellation_fee_nights: Mapped[int] = mapped_column(Integer, default=1)


class RatePlan(IdMixin, TimestampMixin, db.Model):
    """A nightly public price for a room type, adjusted by season (basis points of the base)."""

    __tablename__ = "rate_plans"
    __table_args__ = (UniqueConstraint("room_type_id", "code"),)

    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id"), index=True)
    room_type_id: Mapped[int] = mapped_column(ForeignKey("room_types.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[dict] = mapped_column(JSON)
    base_price: Mapped[int] = mapped_column(Integer)  # minor units of the hotel's currency, per night
    # {"high": 13000, "shoulder": 11000, "low": 8000}: 130 % of the base in high season; missing kind = 100 %.
    season_adjustments_bp: Mapped[dict] = mapped_column(JSON, default=dict)
    includes_breakfast: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class PromoCode(IdMixin, TimestampMixin, db.Model):
    """A code a marketer hands out; a percentage of the public price, stacked under the hotel's cap."""

    __tablename__ = "promo_codes"
    __table_args__ = (
        CheckConstraint("discount_bp BETWEEN 1 AND 10000", name="discount"),
        CheckConstraint("max_redemptions IS NULL OR redemptions <= max_redemptions", name="redemptions"),
    )

    code: Mapped[str] = mapped_column(String(40), unique=True)  # stored upper-case
    hotel_id: Mapped[int | None] = mapped_column(ForeignKey("hotels.id"), index=True)  # None: chain-wide
    discount_bp: Mapped[int] = mapped_column(Integer)
    description: Mapped[dict | None] = mapped_column(JSON)
    valid_from: Mapped[date | None] = mapped_column(Date)  # booking date window
    valid_until: Mapped[date | None] = mapped_column(Date)
    members_only: Mapped[bool] = mapped_column(Boolean, default=False)
    max_redemptions: Mapped[int | None] = mapped_column(Integer)
    redemptions: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class RoomTypeNight(db.Model):
    """How many rooms of a type are held on a night. Booking increments it only while it stays under the count of
    rooms, in one conditional UPDATE: the database, not the application, decides who gets the last room."""

    __tablename__ = "room_type_nights"
    __table_args__ = (CheckConstraint("booked >= 0", name="booked_not_negative"),)

    room_type_id: Mapped[int] = mapped_column(ForeignKey("room_types.id", ondelete="CASCADE"), primary_key=True)
    night: Mapped[date] = mapped_column(Date, primary_key=True)
    booked: Mapped[int] = mapped_column(Integer, default=0)


class Booking(IdMixin, TimestampMixin, db.Model):
    """A reservation; from check-in on it is the guest's stay (the API's /stays/{id} is the same id)."""

    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("check_out > check_in", name="dates"),
        Index("ix_bookings_guest_id_check_in", "guest_id", "check_in"),
        Index("ix_bookings_hotel_id_status_check_in", "hotel_id", "status", "check_in"),
        Index("ix_bookings_room_id_status", "room_id", "status"),
        # One in-house stay per room: two check-ins racing for the same room cannot both win.
        Index("uq_bookings_room_id_in_house", "room_id", unique=True, sqlite_where=text("status = 'in_house'"),
              postgresql_where=text("status = 'in_house'")),
    )

    reference: Mapped[str] = mapped_column(String(12), unique=True)  # what the guest reads out at the desk
    guest_id: Mapped[int] = mapped_column(ForeignKey("guests.id"))
    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id"))
    room_type_id: Mapped[int] = mapped_column(ForeignKey("room_types.id"))
    rate_plan_id: Mapped[int | None] = mapped_column(ForeignKey("rate_plans.id"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"))  # assigned at check-in
    check_in: Mapped[date] = mapped_column(Date)
    check_out: Mapped[date] = mapped_column(Date)
    adults: Mapped[int] = mapped_column(Integer, default=1)
    children: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default=BookingStatus.CONFIRMED.value)  # BookingStatus
    channel: Mapped[str] = mapped_column(String(20), default=BookingChannel.APP.value)  # BookingChannel
    currency: Mapped[str] = mapped_column(String(3))
    total_amount: Mapped[int] = mapped_column(Integer)  # the quoted total, minor units, taxes included
    quote: Mapped[dict] = mapped_column(JSON, default=dict)  # the night-by-night explanation the guest accepted
    promo_code: Mapped[str | None] = mapped_column(String(40))
    special_requests: Mapped[str | None] = mapped_column(String(1000))
    room_state: Mapped[str] = mapped_column(String(20), default=RoomState.NONE.value)  # RoomState
    room_state_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancellation_fee: Mapped[int] = mapped_column(Integer, default=0)

    folio: Mapped[Folio | None] = relationship(back_populates="booking", uselist=False)
    room: Mapped[Room | None] = relationship()

    @property
    def nights(self) -> int:
        return (self.check_out - self.check_in).days

    @property
    def is_in_house(self) -> bool:
        return self.status == BookingStatus.IN_HOUSE


class Folio(IdMixin, db.Model):
    """The running bill of a stay. Charges are appended, never edited; a correction is a negative charge."""

    __tablename__ = "folios"

    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(10), default=FolioStatus.OPEN.value)  # FolioStatus
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    booking: Mapped[Booking] = relationship(back_populates="folio")
    charges: Mapped[list[FolioCharge]] = relationship(back_populates="folio", order_by="FolioCharge.id")

    @property
    def balance(self) -> int:
        return sum(charge.amount for charge in self.charges)

    def add_charge(self, charge: FolioCharge) -> FolioCharge:
        if self.status != FolioStatus.OPEN:
            raise Conflict("This folio is closed; no charge can be added.", code="folio_closed")
        self.charges.append(charge)
        return charge

    def close(self) -> None:
        self.status = FolioStatus.CLOSED.value
        self.closed_at = clock.now()

    def reopen(self) -> None:
        """Only for a booking brought back to life (a no-show who turned up): a checked-out stay stays closed."""
        self.status = FolioStatus.OPEN.value
        self.closed_at = None


class FolioCharge(IdMixin, db.Model):
    __tablename__ = "folio_charges"
    # One source (say "request:42" or "experience_booking:7") posts at most once to a folio.
    __table_args__ = (UniqueConstraint("folio_id", "source"),)

    folio_id: Mapped[int] = mapped_column(ForeignKey("folios.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # ChargeKind
    description: Mapped[dict] = mapped_column(JSON)  # {"en": ..., "ru": ...}
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    amount: Mapped[int] = mapped_column(Integer)  # minor units, total for the quantity; negative for credits
    source: Mapped[str] = mapped_column(String(80))
    service_date: Mapped[date | None] = mapped_column(Date)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: clock.now())
    posted_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))

    folio: Mapped[Folio] = relationship(back_populates="charges")


class SurveyResponse(IdMixin, db.Model):
    """The guest's answers to the after-stay survey: one per stay."""

    __tablename__ = "survey_responses"

    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True)
    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id"), index=True)
    answers: Mapped[dict] = mapped_column(JSON)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: clock.now())
