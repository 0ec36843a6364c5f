"""Guest profile, preferences, family members, consent ledger, and which hotels know the guest."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ColumnElement, Date, ForeignKey, Index, Integer, Numeric, String, and_
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship, validates

from app.core import clock
from app.core.crypto import EncryptedJSON
from app.core.db import IdMixin, TimestampMixin, UTCDateTime
from app.extensions import db
from app.identity.models import PasswordCredentialMixin


class ConsentPurpose(StrEnum):
    MARKETING_PUSH = "marketing_push"
    MARKETING_EMAIL = "marketing_email"
    PROFILING = "profiling"
    LOCATION = "location"
    CHILDREN_BIRTHDAYS = "children_birthdays"


class GuestSource(StrEnum):
    APP = "app"  # registered in the app with a password
    CODE = "code"  # first came in by one-time code
    FRONT_DESK = "front_desk"  # walk-in profile made by a clerk


class Guest(IdMixin, TimestampMixin, PasswordCredentialMixin, db.Model):
    __tablename__ = "guests"
    audit_kind = "guest"

    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)  # E.164
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    phone_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(Date)
    language: Mapped[str] = mapped_column(String(2), default="en")
    time_zone: Mapped[str | None] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(2))
    city: Mapped[str | None] = mapped_column(String(100))
    # Only what a hotel must register by law (type, number, issuing country, expiry); ciphertext at rest.
    # Deferred: decrypting on every load of a guest (each authenticated request) would cost for nothing.
    identity_document: Mapped[dict | None] = mapped_column(EncryptedJSON(), deferred=True)
    has_identity_document: Mapped[bool] = column_property(identity_document.column.is_not(None))
    source: Mapped[str] = mapped_column(String(20))  # GuestSource
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("guests.id"), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when the guest's personal data was erased (app/privacy): the row stays as the pseudonym of the
    # financial records the law requires us to keep.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Name and contacts case-folded in Python, for staff search: SQL lower() folds only ASCII ("Иванова").
    search_text: Mapped[str] = mapped_column(String(600), default="")

    preferences: Mapped[GuestPreferences | None] = relationship(
        back_populates="guest", cascade="all, delete-orphan", uselist=False
    )
    family: Mapped[list[FamilyMember]] = relationship(
        back_populates="guest", cascade="all, delete-orphan", order_by="FamilyMember.id"
    )

    @validates("first_name", "last_name", "email", "phone")
    def _keep_search_text(self, key: str, value: str | None) -> str | None:
        parts = {name: getattr(self, name) for name in ("first_name", "last_name", "email", "phone")}
        parts[key] = value
        self.search_text = " ".join(part for part in parts.values() if part).casefold()
        return value

    @hybrid_property
    def can_sign_in(self) -> bool:
        """False once merged into another profile or deactivated: its tokens stop working at once."""
        return self.is_active and self.merged_into_id is None

    @can_sign_in.inplace.expression
    @classmethod
    def _can_sign_in_expression(cls) -> ColumnElement[bool]:
        # The same rule in SQL, on the table's columns: the per-request session check reads it without the ORM.
        columns = cls.__table__.c
        return and_(columns.is_active.is_(True), columns.merged_into_id.is_(None))

    @property
    def has_account(self) -> bool:
        """A walk-in profile has no way to log in until its owner proves their phone or email."""
        return self.password_hash is not None or self.source == GuestSource.CODE or bool(
            self.email_verified_at or self.phone_verified_at
        )


class GuestPreferences(db.Model):
    """Structured preferences, the same in every hotel of the chain; the room is prepared from them."""

    __tablename__ = "guest_preferences"

    guest_id: Mapped[int] = mapped_column(ForeignKey("guests.id", ondelete="CASCADE"), primary_key=True)
    room_temperature_c: Mapped[Decimal | None] = mapped_column(Numeric(3, 1))
    light_level: Mapped[int | None] = mapped_column(Integer)  # percent
    curtains_position: Mapped[int | None] = mapped_column(Integer)  # percent open: 0 closed, 100 open
    pillow: Mapped[str | None] = mapped_column(String(20))
    bed: Mapped[str | None] = mapped_column(String(20))
    floor: Mapped[str | None] = mapped_column(String(10))  # high | low | any
    quiet_room: Mapped[bool | None] = mapped_column(Boolean)
    # Health data: ciphertext at rest like the identity document (re-encrypted by `flask keys rotate`).
    allergies: Mapped[list] = mapped_column(EncryptedJSON(), default=list)
    diet: Mapped[list] = mapped_column(JSON, default=list)
    newspaper: Mapped[str | None] = mapped_column(String(60))
    service_language: Mapped[str | None] = mapped_column(String(2))
    notes: Mapped[str | None] = mapped_column(EncryptedJSON())  # free text, may speak of health: encrypted too
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=lambda: clock.now(), onupdate=lambda: clock.now()
    )

    guest: Mapped[Guest] = relationship(back_populates="preferences")


class FamilyMember(IdMixin, db.Model):
    __tablename__ = "guest_family_members"

    guest_id: Mapped[int] = mapped_column(ForeignKey("guests.id", ondelete="CASCADE"), index=True)
    relation: Mapped[str] = mapped_column(String(20))  # spouse | partner | child | parent | other
    first_name: Mapped[str] = mapped_column(String(100))
    # A child's birthday is kept only with the parent's consent (ConsentPurpose.CHILDREN_BIRTHDAYS).
    birth_date: Mapped[date | None] = mapped_column(Date)

    guest: Mapped[Guest] = relationship(back_populates="family")


class ConsentRecord(IdMixin, db.Model):
    """Append-only: the current state of a purpose is its latest record."""

    __tablename__ = "consent_records"
    __table_args__ = (Index("ix_consent_records_guest_purpose", "guest_id", "purpose", "id"),)

    guest_id: Mapped[int] = mapped_column(ForeignKey("guests.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(30))  # ConsentPurpose
    granted: Mapped[bool] = mapped_column(Boolean)
    policy_version: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))  # app | front_desk | merge
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: clock.now())
    recorded_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))


class GuestHotelLink(db.Model):
    """Which hotels know a guest (walk-in there, booked there): staff of those hotels may see the profile."""

    __tablename__ = "guest_hotel_links"

    guest_id: Mapped[int] = mapped_column(ForeignKey("guests.id", ondelete="CASCADE"), primary_key=True)
    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id", ondelete="CASCADE"), primary_key=True, index=True)
    reason: Mapped[str] = mapped_column(String(20))  # walk_in | booking | merge
    since: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: clock.now())
