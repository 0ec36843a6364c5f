"""Tiers: earned by qualifying nights or spend in the qualification window, kept through a grace period.

Qualification counts what the member EARNED (nights and base points of completed stays), never the balance:
redeeming points or losing them to expiry does not cost a tier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.core import events
from app.extensions import db
from app.loyalty.models import LoyaltyMember, QualifyingStay
from app.loyalty.program import CALENDAR, Program, Tier, program


@dataclass(frozen=True)
class Window:
    start: datetime  # exclusive
    end: datetime  # inclusive


@dataclass(frozen=True)
class Activity:
    nights: int
    qualifying_points: int


def windows(prog: Program, now: datetime) -> list[Window]:
    """The windows whose activity qualifies, the current one first.

    Rolling: the last 365 days. Calendar year: this year so far, and last year (a tier earned in a year is kept
    through the next one); years begin at midnight in the chain's time zone.
    """
    if prog.qualification != CALENDAR:
        return [Window(now - timedelta(days=365), now)]
    local = now.astimezone(ZoneInfo(prog.default_time_zone))
    this_year = local.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    last_year = this_year.replace(year=this_year.year - 1)
    return [Window(this_year - timedelta(microseconds=1), now), Window(last_year - timedelta(microseconds=1),
                                                                        this_year - timedelta(microseconds=1))]


def activity(guest_id: int, window: Window) -> Activity:
    nights, points = db.session.execute(
        select(func.coalesce(func.sum(QualifyingStay.nights), 0),
               func.coalesce(func.sum(QualifyingStay.qualifying_points), 0))
        .where(QualifyingStay.guest_id == guest_id, QualifyingStay.completed_at > window.start,
               QualifyingStay.completed_at <= window.end)
    ).one()
    return Activity(int(nights), int(points))


def qualified_tier(guest_id: int, *, now: datetime, prog: Program | None = None) -> Tier:
    """The highest tier the member's activity earns in any of the qualifying windows."""
    prog = prog or program()
    earned = [prog.tier_for(nights=a.nights, qualifying_points=a.qualifying_points)
              for a in (activity(guest_id, window) for window in windows(prog, now))]
    return max(earned, key=lambda tier: tier.rank)


def evaluate_tier(member: LoyaltyMember, *, now: datetime) -> Tier:
    """Move the member to the tier their activity earns: upward at once, downward only once the grace period ran out.

    The grace period starts at the first evaluation (a stay, or the daily job) that finds the member below their
    tier, and is cancelled when an evaluation finds them qualified again. Records `loyalty.tier_changed`.
    """
    prog = program()
    current, earned = prog.tier(member.tier), qualified_tier(member.guest_id, now=now, prog=prog)
    if earned.rank >= current.rank:
        member.downgrade_due_at = None
        if earned.rank > current.rank:
            _change_tier(member, current, earned, now=now, reason="qualified")
        return prog.tier(member.tier)
    if member.downgrade_due_at is None:
        member.downgrade_due_at = now + prog.grace
    elif now >= member.downgrade_due_at:
        member.downgrade_due_at = None
        _change_tier(member, current, earned, now=now, reason="grace_period_ended")
    return prog.tier(member.tier)


def _change_tier(member: LoyaltyMember, old: Tier, new: Tier, *, now: datetime, reason: str) -> None:
    member.tier, member.tier_since = new.code, now
    db.session.flush()
    events.record("loyalty.tier_changed", guest_id=member.guest_id, subject_id=member.guest_id,
                  payload={"from": old.code, "to": new.code, "reason": reason})
