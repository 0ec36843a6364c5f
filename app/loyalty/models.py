"""Club members, the append-only points ledger with its allocations, qualifying stays and members-only offers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.db import IdMixin, TimestampMixin, UTCDateTime
from app.extensions import db


class EntryKind(StrEnum):
    STAY = "stay"  # points for a completed stay (base + tier bonus)
    REFERRAL = "referral"  # the referrer, when the friend's first stay is completed
    WELCOME = "welcome"  # the referred member, on their first completed stay
    BIRTHDAY = "birthday"
    GOODWILL = "goodwill"  # staff service recovery (audited)
    REDEMPTION = "redemption"
    EXPIRY = "expiry"


# What the guest reads in the ledger for each kind.
ENTRY_TITLES: dict[str, dict[str, str]] = {
    EntryKind.STAY: {"en": "Points for your stay", "ru": "Баллы за проживание"},
    EntryKind.REFERRAL: {"en": "A friend you invited completed a stay",
                         "ru": "Приглашённый вами друг завершил поездку"},
    EntryKind.WELCOME: {"en": "Welcome bonus for joining by invitation", "ru": "Приветственный бонус по приглашению"},
    EntryKind.BIRTHDAY: {"en": "Happy birthday!", "ru": "С днём рождения!"},
    EntryKind.GOODWILL: {"en": "Points from our team", "ru": "Баллы от нашей команды"},
    EntryKind.REDEMPTION: {"en": "Points redeemed", "ru": "Списание баллов"},
    EntryKind.EXPIRY: {"en": "Points expired", "ru": "Сгорание баллов"},
}


class OfferKind(StrEnum):
    OFFER = "offer"  # a members-only deal
    COMPLIMENT = "compliment"  # something given on arrival (welcome drink, late checkout)


class LoyaltyMember(db.Model):
    """A guest enrolled in the club. The tier is stored (it has a history and a grace period); the balance is not."""

    __tablename__ = "loyalty_members"

    guest_id: Mapped[int] = mapped_column(ForeignKey("guests.id", ondelete="CASCADE"), primary_key=True)
    tier: Mapped[str] = mapped_column(String(20))  # a Tier code of the program
    tier_since: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set when an evaluation finds the member below their tier; the downgrade happens only after this moment.
    downgrade_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    referral_code: Mapped[str] = mapped_column(String(12), unique=True)
    referred_by_guest_id: Mapped[int | None] = mapped_column(ForeignKey("guests.id", ondelete="SET NULL"), index=True)
    referral_rewarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: clock.now())


class PointsEntry(IdMixin, db.Model):
    """Append-only: an award (points > 0, with its expiry) or a debit (points < 0: redemption, expiry).

    `dedupe_key` makes an award happen at most once per member ("stay:12", "birthday:2027", "referral:34").
    """

    __tablename__ = "loyalty_points_entries"
    __table_args__ = (
        UniqueConstraint("guest_id", "dedupe_key"),
        CheckConstraint("points <> 0", name="points_not_zero"),
        Index("ix_loyalty_points_entries_guest_id_id", "guest_id", "id"),
    )

    guest_id: Mapped[int] = mapped_column(ForeignKey("loyalty_members.guest_id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # EntryKind
    points: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str | None] = mapped_column(String(80))  # "booking:12" for stays and redemptions
    dedupe_key: Mapped[str | None] = mapped_column(String(80))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)  # awards only
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: clock.now())
    hotel_id: Mapped[int | None] = mapped_column(ForeignKey("hotels.id", ondelete="SET NULL"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id", ondelete="SET NULL"))
    title: Mapped[dict] = mapped_column(JSON)  # {"en": ..., "ru": ...}
    detail: Mapped[dict | None] = mapped_column(JSON)  # e.g. {"base": 300, "bonus": 75, "tier": "gold"}

    @property
    def is_award(self) -> bool:
        return self.points > 0


class PointsAllocation(IdMixin, db.Model):
    """Which award a debit drew from, and how much: an award's remaining points are exact after partial use."""

    __tablename__ = "loyalty_points_allocations"
    __table_args__ = (CheckConstraint("points > 0", name="points_positive"),)

    debit_entry_id: Mapped[int] = mapped_column(ForeignKey("loyalty_points_entries.id", ondelete="CASCADE"),
                                                index=True)
    award_entry_id: Mapped[int] = mapped_column(ForeignKey("loyalty_points_entries.id", ondelete="CASCADE"),
                                                index=True)
    points: Mapped[int] = mapped_column(Integer)


class QualifyingStay(IdMixin, db.Model):
    """A completed stay as the club counts it (nights and spend for tiers), once per booking, member or not."""

    __tablename__ = "loyalty_qualifying_stays"
    __table_args__ = (Index("ix_loyalty_qualifying_stays_guest_id_completed_at", "guest_id", "completed_at"),)

    guest_id: Mapped[int] = mapped_column(ForeignKey("guests.id", ondelete="CASCADE"))
    booking_id: Mapped[int] = mapped_column(unique=True)  # bookings sit above loyalty: no foreign key upwards
    hotel_id: Mapped[int | None] = mapped_column(ForeignKey("hotels.id", ondelete="SET NULL"))
    nights: Mapped[int] = mapped_column(Integer)
    eligible_spend: Mapped[int] = mapped_column(Integer)  # minor units of `currency`
    currency: Mapped[str] = mapped_column(String(3))
    qualifying_points: Mapped[int] = mapped_column(Integer)  # base points of the spend: comparable across currencies
    points_awarded: Mapped[int] = mapped_column(Integer, default=0)
    was_member: Mapped[bool] = mapped_column(Boolean)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LoyaltyOffer(IdMixin, TimestampMixin, db.Model):
    """A members-only offer or compliment, visible to members of `min_tier` and above."""

    __tablename__ = "loyalty_offers"

    kind: Mapped[str] = mapped_column(String(20))  # OfferKind
    title: Mapped[dict] = mapped_column(JSON)
    description: Mapped[dict | None] = mapped_column(JSON)
    min_tier: Mapped[str] = mapped_column(String(20))
    hotel_id: Mapped[int | None] = mapped_column(ForeignKey("hotels.id", ondelete="CASCADE"), index=True)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id", ondelete="SET NULL"))
