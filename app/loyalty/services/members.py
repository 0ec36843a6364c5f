"""Enrolment, referral codes, the member's status and ledger, and what bookings asks about a guest's tier."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.core import clock
from app.core.errors import Conflict, Unprocessable
from app.core.pagination import Page, paginate
from app.extensions import db
from app.loyalty.models import LoyaltyMember, PointsEntry, QualifyingStay
from app.loyalty.program import Tier, program
from app.loyalty.services.ledger import balance, expiring_soon, lock_member, require_member
from app.loyalty.services.tiers import activity, evaluate_tier, windows

REFERRAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read out and typed
REFERRAL_CODE_LENGTH = 8


def member_tier(*, guest_id: int) -> str | None:
    """The member's tier code; None when the guest has not enrolled."""
    member = db.session.get(LoyaltyMember, guest_id)
    return member.tier if member else None


def tier_discount_bp(*, guest_id: int) -> int:
    """The member's discount on room prices in basis points (0 for guests who have not enrolled)."""
    tier = member_tier(guest_id=guest_id)
    return program().tier(tier).discount_bp if tier else 0


def _new_referral_code() -> str:
    for _ in range(10):
        code = "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(REFERRAL_CODE_LENGTH))
        if db.session.scalar(select(LoyaltyMember.guest_id).where(LoyaltyMember.referral_code == code)) is None:
            return code
    raise RuntimeError("could not draw a free referral code")  # 32^8 codes: practically unreachable


def _referrer(guest_id: int, referral_code: str) -> LoyaltyMember:
    code = referral_code.strip().upper()
    referrer = db.session.scalars(select(LoyaltyMember).where(LoyaltyMember.referral_code == code)).one_or_none()
    if referrer is None or referrer.guest_id == guest_id:
        raise Unprocessable("This referral code is not valid.", code="referral_code_invalid",
                            errors={"referral_code": ["Not a referral code of another member."]})
    if db.session.scalar(select(QualifyingStay.id).where(QualifyingStay.guest_id == guest_id).limit(1)):
        raise Unprocessable("Referral codes are for guests new to the chain.", code="referral_not_eligible",
                            errors={"referral_code": ["You have stayed with us before."]})
    return referrer


def enrol(*, guest_id: int, referral_code: str | None = None) -> LoyaltyStatus:
    """Join the club, optionally with a friend's referral code; stays completed before joining count towards tiers."""
    if lock_member(guest_id) is not None:
        raise Conflict("You are already a member.", code="already_enrolled")
    referrer = _referrer(guest_id, referral_code) if referral_code else None
    now = clock.now()
    member = LoyaltyMember(guest_id=guest_id, tier=program().entry_tier.code, tier_since=now, enrolled_at=now,
                           referral_code=_new_referral_code(),
                           referred_by_guest_id=referrer.guest_id if referrer else None)
    db.session.add(member)
    db.session.flush()
    evaluate_tier(member, now=now)
    return status(guest_id=guest_id)


def referral_code(*, guest_id: int) -> LoyaltyMember:
    """The member's own code to share; a friend who joins with it and completes a stay earns both a reward."""
    return require_member(guest_id)


@dataclass(frozen=True)
class Progress:
    next_tier: Tier | None
    qualifying_nights: int
    qualifying_points: int
    nights_needed: int
    points_needed: int
    window_start: datetime


@dataclass(frozen=True)
class LoyaltyStatus:
    enrolled: bool
    tier: Tier | None = None
    tier_since: datetime | None = None
    downgrade_due_at: datetime | None = None
    balance: int = 0
    expiring_points: int = 0
    expiring_on: datetime | None = None
    progress: Progress | None = None
    referral_code: str | None = None
    enrolled_at: datetime | None = None


def status(*, guest_id: int) -> LoyaltyStatus:
    """Tier, balance, points lapsing soon and progress to the next tier (`enrolled: false` for other guests)."""
    member = db.session.get(LoyaltyMember, guest_id)
    if member is None:
        return LoyaltyStatus(enrolled=False)
    prog, now = program(), clock.now()
    tier = prog.tier(member.tier)
    window = windows(prog, now)[0]
    done = activity(guest_id, window)
    following = prog.next_tier(tier)
    progress = Progress(
        next_tier=following, qualifying_nights=done.nights, qualifying_points=done.qualifying_points,
        nights_needed=max(0, following.nights - done.nights) if following else 0,
        points_needed=max(0, following.qualifying_points - done.qualifying_points) if following else 0,
        window_start=window.start,
    )
    soon, soon_on = expiring_soon(guest_id, now=now)
    return LoyaltyStatus(enrolled=True, tier=tier, tier_since=member.tier_since,
                         downgrade_due_at=member.downgrade_due_at, balance=balance(guest_id, now=now),
                         expiring_points=soon, expiring_on=soon_on, progress=progress,
                         referral_code=member.referral_code, enrolled_at=member.enrolled_at)


def ledger(*, guest_id: int, cursor: str | None, limit: int) -> Page:
    """The member's ledger, newest first."""
    require_member(guest_id)
    stmt = select(PointsEntry).where(PointsEntry.guest_id == guest_id)
    return paginate(stmt, keys=[PointsEntry.id], cursor=cursor, limit=limit, descending=True)
