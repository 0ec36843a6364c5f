"""Partners and their offerings, time slots with a capacity counter, experience bookings, and the webhook outbox."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.core import clock
from app.core.crypto import EncryptedJSON
from app.core.db import IdMixin, TimestampMixin, UTCDateTime
from app.extensions import db
from app.hotels.models import Hotel


class PartnerKind(StrEnum):
    TOUR_OPERATOR = "tour_operator"
    RESTAURANT = "restaurant"
    TRANSFER = "transfer"
    SPA = "spa"


class SlotStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # the partner stopped selling it; existing bookings stand


class ExperienceBookingStatus(StrEnum):
    PENDING = "pending"  # waiting for the partner to confirm
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    CANCELLED = "cancelled"


# Bookings that hold places in their slot.
HOLDING_STATUSES = (ExperienceBookingStatus.PENDING.value, ExperienceBookingStatus.CONFIRMED.value)


class PaymentMethod(StrEnum):
    ROOM_FOLIO = "room_folio"  # charged to the guest's stay; the hotel pays the partner (minus commission)
    AT_PARTNER = "at_partner"  # the guest pays the partner; the partner owes the hotel its commission


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # gave up after the last retry


def _index_key(values: list[str] | None) -> str:
    """",en,ru,": lets SQL find a list member with LIKE '%,en,%' on every database (no JSON operators needed)."""
    return "," + ",".join(values or []) + "," if values else ""


partner_hotels = Table(
    "partner_hotels",
    db.metadata,
    Column("partner_id", ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True),
    Column("hotel_id", ForeignKey("hotels.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Partner(IdMixin, TimestampMixin, db.Model):
    """A local business selling through the app, linked to hotels (their guests see it) or a whole city."""

    __tablename__ = "partners"
    __table_args__ = (CheckConstraint("commission_bp BETWEEN 0 AND 10000", name="commission"),)

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # PartnerKind
    city: Mapped[str | None] = mapped_column(String(100))
    city_key: Mapped[str | None] = mapped_column(String(100), index=True)  # case-folded in Python, as Hotel's
    currency: Mapped[str] = mapped_column(String(3))  # every offering and statement of the partner is in it
    commission_bp: Mapped[int] = mapped_column(Integer, default=1500)  # hotel's share, basis points of the price
    contact_email: Mapped[str | None] = mapped_column(String(254))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    hotels: Mapped[list[Hotel]] = relationship(secondary=partner_hotels, order_by=Hotel.id)

    @validates("city")
    def _keep_city_key(self, _key: str, city: str | None) -> str | None:
        self.city_key = city.strip().casefold() if city else None
        return city

    @property
    def hotel_ids(self) -> list[int]:
        return [hotel.id for hotel in self.hotels]


class Offering(IdMixin, TimestampMixin, db.Model):
    """What a partner sells: an excursion, a table, a transfer, a treatment."""

    __tablename__ = "offerings"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price"),
        CheckConstraint("commission_bp IS NULL OR commission_bp BETWEEN 0 AND 10000", name="commission"),
    )

    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    title: Mapped[dict] = mapped_column(JSON)  # {"en": ..., "ru": ...}
    description: Mapped[dict | None] = mapped_column(JSON)
    meeting_point: Mapped[dict | None] = mapped_column(JSON)
    price: Mapped[int] = mapped_column(Integer)  # per person, minor units of the partner's currency
    currency: Mapped[str] = mapped_column(String(3))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    languages: Mapped[list] = mapped_column(JSON, default=list)  # languages the experience is held in
    language_index: Mapped[str] = mapped_column(String(100), default="")
    tags: Mapped[list] = mapped_column(JSON, default=list)  # interests it suits (app.partners.services.INTERESTS)
    tag_index: Mapped[str] = mapped_column(String(400), default="")
    min_age: Mapped[int | None] = mapped_column(Integer)
    max_age: Mapped[int | None] = mapped_column(Integer)
    max_party_size: Mapped[int] = mapped_column(Integer, default=10)
    # Cancellation policy: free (fully refunded) until this many hours before the start; later, not cancellable.
    free_cancellation_hours: Mapped[int] = mapped_column(Integer, default=24)
    commission_bp: Mapped[int | None] = mapped_column(Integer)  # overrides the partner's when set
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    partner: Mapped[Partner] = relationship()

    @validates("languages")
    def _keep_language_index(self, _key: str, languages: list[str]) -> list[str]:
        self.language_index = _index_key(languages)
        return languages

    @validates("tags")
    def _keep_tag_index(self, _key: str, tags: list[str]) -> list[str]:
        self.tag_index = _index_key(tags)
        return tags

    @property
    def effective_commission_bp(self) -> int:
        return self.commission_bp if self.commission_bp is not None else self.partner.commission_bp


class ExperienceSlot(IdMixin, db.Model):
    """A start time with a number of places. `booked` only moves by conditional UPDATE (never read-modify-write),
    so the database decides who gets the last place."""

    __tablename__ = "experience_slots"
    __table_args__ = (
        CheckConstraint("booked >= 0", name="booked_not_negative"),
        CheckConstraint("booked <= capacity", name="not_oversold"),
        Index("ix_experience_slots_offering_id_starts_at", "offering_id", "starts_at"),
    )

    offering_id: Mapped[int] = mapped_column(ForeignKey("offerings.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    capacity: Mapped[int] = mapped_column(Integer)
    booked: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(10), default=SlotStatus.OPEN.value)  # SlotStatus

    offering: Mapped[Offering] = relationship()

    @property
    def available(self) -> int:
        return max(self.capacity - self.booked, 0) if self.status == SlotStatus.OPEN else 0


class ExperienceBooking(IdMixin, TimestampMixin, db.Model):
    """A guest's places in a slot. The partner sees only the lead name, party size, language and, if the guest
    agreed, a contact: those are copied here at booking time, so the partner view never reads the profile."""

    __tablename__ = "experience_bookings"
    __table_args__ = (
        CheckConstraint("party_size > 0", name="party_size"),
        Index("ix_experience_bookings_partner_id_id", "partner_id", "id"),
        Index("ix_experience_bookings_guest_id_id", "guest_id", "id"),
        Index("ix_experience_bookings_status_starts_at", "status", "starts_at"),  # pending ones, for the deadline
    )

    guest_id: Mapped[int] = mapped_column(ForeignKey("guests.id"))
    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id"), index=True)  # booked through this hotel
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    offering_id: Mapped[int] = mapped_column(ForeignKey("offerings.id"))
    slot_id: Mapped[int] = mapped_column(ForeignKey("experience_slots.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())  # copied from the slot (statements, policy)
    party_size: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(12), default=ExperienceBookingStatus.PENDING.value)
    payment: Mapped[str] = mapped_column(String(12))  # PaymentMethod
    stay_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))  # the stay charged (room_folio)
    currency: Mapped[str] = mapped_column(String(3))
    unit_price: Mapped[int] = mapped_column(Integer)
    total_amount: Mapped[int] = mapped_column(Integer)
    commission_bp: Mapped[int] = mapped_column(Integer)  # as agreed when booked
    commission_amount: Mapped[int] = mapped_column(Integer)
    lead_name: Mapped[str] = mapped_column(String(200))
    share_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_phone: Mapped[str | None] = mapped_column(String(20))  # only when share_contact
    contact_email: Mapped[str | None] = mapped_column(String(254))  # only when share_contact
    voucher_code: Mapped[str | None] = mapped_column(String(40), unique=True)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decline_reason: Mapped[str | None] = mapped_column(String(500))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    refunded_amount: Mapped[int] = mapped_column(Integer, default=0)

    offering: Mapped[Offering] = relationship()
    slot: Mapped[ExperienceSlot] = relationship()


# -- webhooks ------------------------------------------------------------------------------------------------------

class WebhookEndpoint(IdMixin, TimestampMixin, db.Model):
    """Where a partner wants its booking notifications."""

    __tablename__ = "partner_webhook_endpoints"

    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    secrets: Mapped[list[WebhookSecret]] = relationship(
        back_populates="endpoint", cascade="all, delete-orphan", order_by="WebhookSecret.id")

    def active_secrets(self, now: datetime) -> list[WebhookSecret]:
        """Newest first: every one signs while a rotation overlaps, so the receiver may verify with either."""
        live = [s for s in self.secrets if s.expires_at is None or s.expires_at > now]
        return sorted(live, key=lambda s: s.id, reverse=True)


class WebhookSecret(IdMixin, db.Model):
    """A signing secret "whsec_<base64>"; encrypted at rest (re-encrypted by `flask keys rotate`)."""

    __tablename__ = "partner_webhook_secrets"

    endpoint_id: Mapped[int] = mapped_column(ForeignKey("partner_webhook_endpoints.id", ondelete="CASCADE"),
                                             index=True)
    secret: Mapped[str] = mapped_column(EncryptedJSON())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: clock.now())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # set when a newer secret replaces it

    endpoint: Mapped[WebhookEndpoint] = relationship(back_populates="secrets")


class WebhookMessage(IdMixin, db.Model):
    """One event for one partner, its body fixed once (the signature covers these exact bytes on every retry)."""

    __tablename__ = "partner_webhook_messages"

    msg_id: Mapped[str] = mapped_column(String(40), unique=True)  # webhook-id: stable across retries, for dedup
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    event_type: Mapped[str] = mapped_column(String(60))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: clock.now())


class WebhookDelivery(IdMixin, db.Model):
    """The outbox row: one message to one endpoint, sent by the `send_partner_webhooks` job until it succeeds."""

    __tablename__ = "partner_webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("message_id", "endpoint_id"),
        Index("ix_partner_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    message_id: Mapped[int] = mapped_column(ForeignKey("partner_webhook_messages.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("partner_webhook_endpoints.id", ondelete="CASCADE"),
                                             index=True)
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: clock.now())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    message: Mapped[WebhookMessage] = relationship()
    endpoint: Mapped[WebhookEndpoint] = relationship()
    log: Mapped[list[WebhookAttempt]] = relationship(order_by="WebhookAttempt.id", cascade="all, delete-orphan")


class WebhookAttempt(IdMixin, db.Model):
    """The delivery log: every try, its answer or its error."""

    __tablename__ = "partner_webhook_attempts"

    delivery_id: Mapped[int] = mapped_column(ForeignKey("partner_webhook_deliveries.id", ondelete="CASCADE"),
                                             index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(300))
