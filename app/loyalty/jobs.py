"""Scheduled loyalty work: expire lapsed points, birthday bonuses, tier re-evaluation (grace-period downgrades).

Each member is handled in a unit of work of its own (short locks), and every job is safe to run twice: expiry and
birthday awards are deduplicated by the ledger's unique keys, tier evaluation is idempotent.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from app.core import clock
from app.core.db import unit_of_work
from app.extensions import db
from app.loyalty import services
from app.loyalty.models import LoyaltyMember, PointsAllocation, PointsEntry
from app.loyalty.program import program

log = logging.getLogger(__name__)


def expire_points() -> int:
    """Post an expiry for what is left of every award past its expiry date; returns the points expired."""
    now = clock.now()
    used = (select(func.coalesce(func.sum(PointsAllocation.points), 0))
            .where(PointsAllocation.award_entry_id == PointsEntry.id).scalar_subquery())
    guest_ids = list(db.session.scalars(
        select(PointsEntry.guest_id).distinct()
        .where(PointsEntry.points > 0, PointsEntry.expires_at <= now, PointsEntry.points - used > 0)
    ))
    db.session.commit()  # end the read: each member's expiry starts its own write transaction
    expired = 0
    for guest_id in guest_ids:
        with unit_of_work():
            if services.lock_member(guest_id) is not None:
                expired += services.expire_lapsed(guest_id=guest_id, now=now)
    if expired:
        log.info("loyalty: expired %d points of %d members", expired, len(guest_ids))
    return expired


def award_birthday_bonuses() -> int:
    """Give the birthday bonus to members whose birthday it is in their own time zone (hourly; once a year each)."""
    now = clock.now()
    guest_ids = services.birthday_members(now=now)
    db.session.commit()
    awarded = 0
    for guest_id in guest_ids:
        with unit_of_work():
            awarded += services.award_birthday(guest_id=guest_id, now=now) is not None
    return awarded


def reevaluate_tiers() -> int:
    """Start or finish grace periods of members whose qualifying activity has aged out; returns tiers changed."""
    now = clock.now()
    guest_ids = list(db.session.scalars(select(LoyaltyMember.guest_id).where(
        (LoyaltyMember.tier != program().entry_tier.code) | LoyaltyMember.downgrade_due_at.is_not(None))))
    db.session.commit()
    changed = 0
    for guest_id in guest_ids:
        with unit_of_work():
            member = services.lock_member(guest_id)
            if member is not None:
                before = member.tier
                changed += services.evaluate_tier(member, now=now).code != before
    return changed
