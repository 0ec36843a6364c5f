"""Earning: points for completed stays (with the tier bonus and the referral reward), birthdays, staff goodwill."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, extract, or_, select

from app.audit import services as audit
from app.core import clock
from app.core.errors import Conflict, NotFound, Unprocessable
from app.extensions import db
from app.guests.models import Guest, GuestHotelLink
from app.loyalty.models import EntryKind, LoyaltyMember, PointsEntry, QualifyingStay
from app.loyalty.program import birthday_in, program
from app.loyalty.services.ledger import award, lock_member
from app.loyalty.services.members import LoyaltyStatus, status
from app.loyalty.services.tiers import evaluate_tier


def record_completed_stay(*, guest_id: int, booking_id: int, hotel_id: int, nights: int, eligible_spend: int,
                          currency: str, completed_at: datetime) -> int:
    """Count a completed stay once per booking and earn its points; returns the points earned (0 on a repeat).

    Called by checkout inside its unit of work. A guest who has not enrolled earns nothing, but the stay is
    recorded: it counts towards their tier if they enrol within the qualification window. A member's first stay
    also pays the referral reward, to the friend who referred them and to them, exactly once.
    """
    if nights < 0 or eligible_spend < 0:
        raise ValueError("nights and eligible_spend cannot be negative")
    member = lock_member(guest_id)
    if db.session.scalar(select(QualifyingStay.id).where(QualifyingStay.booking_id == booking_id)) is not None:
        return 0
    prog = program()
    base = prog.base_points(spend=eligible_spend, currency=currency)
    stay = QualifyingStay(guest_id=guest_id, booking_id=booking_id, hotel_id=hotel_id, nights=nights,
                          eligible_spend=eligible_spend, currency=currency, qualifying_points=base,
                          was_member=member is not None, completed_at=completed_at)
    db.session.add(stay)
    db.session.flush()
    if member is None:
        return 0
    tier = prog.tier(member.tier)
    bonus = base * tier.bonus_bp // 10_000
    entry = award(guest_id=guest_id, kind=EntryKind.STAY, points=base + bonus, dedupe_key=f"stay:{booking_id}",
                  reference=f"booking:{booking_id}", hotel_id=hotel_id,
                  detail={"base": base, "bonus": bonus, "tier": tier.code})
    stay.points_awarded = entry.points if entry else 0
    now = clock.now()
    evaluate_tier(member, now=now)
    _reward_referral(member, hotel_id=hotel_id, now=now)
    return stay.points_awarded


def _reward_referral(member: LoyaltyMember, *, hotel_id: int, now: datetime) -> None:
    """Both sides of a referral are rewarded when the referred member completes a stay, once."""
    if member.referred_by_guest_id is None or member.referral_rewarded_at is not None:
        return
    prog = program()
    member.referral_rewarded_at = now
    if db.session.get(LoyaltyMember, member.referred_by_guest_id) is not None:
        award(guest_id=member.referred_by_guest_id, kind=EntryKind.REFERRAL, points=prog.referrer_points,
              dedupe_key=f"referral:{member.guest_id}", reference=f"guest:{member.guest_id}", hotel_id=hotel_id)
    award(guest_id=member.guest_id, kind=EntryKind.WELCOME, points=prog.referee_points, dedupe_key="referral_welcome",
          reference=f"guest:{member.referred_by_guest_id}", hotel_id=hotel_id)


# -- goodwill ----------------------------------------------------------------------------------------------------

def _hotel_seeing_guest(staff: Any, guest_id: int) -> int | None:
    """The staff member's hotel that knows the guest (None for chain admins); 404 for guests they may not see."""
    guest = db.session.get(Guest, guest_id)
    if guest is None or guest.merged_into_id is not None or not guest.is_active:
        raise NotFound("No such guest.")
    if staff.is_chain_wide:
        return None
    hotel_id = db.session.scalars(select(GuestHotelLink.hotel_id).where(
        GuestHotelLink.guest_id == guest_id, GuestHotelLink.hotel_id.in_(staff.hotel_ids)).limit(1)).first()
    if hotel_id is None:
        raise NotFound("No such guest.")
    return hotel_id


def staff_view(*, staff: Any, guest_id: int) -> LoyaltyStatus:
    """A guest's club status as the front desk sees it before a goodwill gesture (audited as a read)."""
    hotel_id = _hotel_seeing_guest(staff, guest_id)
    audit.record(actor=staff, action="loyalty.read", subject_kind="guest", subject_id=guest_id, hotel_id=hotel_id)
    return status(guest_id=guest_id)


def grant_goodwill(*, guest_id: int, points: int, staff: Any, reason: str) -> PointsEntry:
    """Staff give a member points for service recovery; audited with the reason (which the guest does not see)."""
    hotel_id = _hotel_seeing_guest(staff, guest_id)
    ceiling = program().goodwill_max_points
    if not 0 < points <= ceiling:
        raise Unprocessable(f"Goodwill is 1 to {ceiling} points.", errors={"points": [f"Must be 1 to {ceiling}."]})
    if lock_member(guest_id) is None:
        raise Conflict("This guest is not a loyalty club member.", code="not_a_member")
    entry = award(guest_id=guest_id, kind=EntryKind.GOODWILL, points=points, dedupe_key=None, hotel_id=hotel_id,
                  staff_id=staff.id, detail={"reason": reason})
    audit.record(actor=staff, action="loyalty.goodwill_granted", subject_kind="guest", subject_id=guest_id,
                 hotel_id=hotel_id, detail={"points": points, "reason": reason, "entry_id": entry.id})
    return entry


# -- birthdays ---------------------------------------------------------------------------------------------------

def _candidate_days(now: datetime) -> list[tuple[int, int]]:
    """(month, day) of birthdays that may be today somewhere: local dates span UTC -12 to +14 hours."""
    days: list[tuple[int, int]] = []
    for offset in (-1, 0, 1):
        day = (now + timedelta(days=offset)).date()
        days.append((day.month, day.day))
        if birthday_in(day.year, date(2000, 2, 29)) == day:  # 28 Feb of a non-leap year: 29 Feb birthdays too
            days.append((2, 29))
    return days


def birthday_members(*, now: datetime) -> list[int]:
    """Members whose birthday it is now in their own time zone (the chain's when they gave none)."""
    default_zone = program().default_time_zone
    rows = db.session.execute(
        select(Guest.id, Guest.birth_date, Guest.time_zone).join(LoyaltyMember, LoyaltyMember.guest_id == Guest.id)
        .where(Guest.birth_date.is_not(None), or_(*(
            and_(extract("month", Guest.birth_date) == month, extract("day", Guest.birth_date) == day)
            for month, day in _candidate_days(now))))
    )
    due = []
    for guest_id, birth_date, zone in rows:
        local = now.astimezone(_zone(zone, default_zone)).date()
        if birthday_in(local.year, birth_date) == local:
            due.append(guest_id)
    return due


def _zone(name: str | None, default: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def award_birthday(*, guest_id: int, now: datetime) -> PointsEntry | None:
    """The birthday bonus, at most once per year of the guest's local calendar (None when already given)."""
    if lock_member(guest_id) is None:
        return None
    guest = db.session.get(Guest, guest_id)
    local_year = now.astimezone(_zone(guest.time_zone, program().default_time_zone)).year
    return award(guest_id=guest_id, kind=EntryKind.BIRTHDAY, points=program().birthday_points,
                 dedupe_key=f"birthday:{local_year}")
