"""The points ledger: awards with their expiry, debits allocated to the awards that expire first, the balance.

Nothing here is ever updated or deleted: an award's remaining points are its points minus what debits allocated
from it, and the balance is the remaining points of the awards that have not lapsed. Every debit holds the member's
row lock, so two redemptions (or a redemption and the expiry job) never draw on the same points.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from app.core import clock, events
from app.core.errors import Conflict, Forbidden, Unprocessable
from app.extensions import db
from app.loyalty.models import ENTRY_TITLES, EntryKind, LoyaltyMember, PointsAllocation, PointsEntry
from app.loyalty.program import program

# events.record() takes this transaction-scoped advisory lock on PostgreSQL. Loyalty takes it BEFORE the member's
# row lock, so that every writer acquires the two in one order whether or not it recorded an event first (a
# checkout that recorded booking.checked_out and then earns points must not deadlock with a redemption).


def _serialise_with_event_writers() -> None:
    events.take_event_lock()


def lock_member(guest_id: int) -> LoyaltyMember | None:
    """The member's row, locked until the end of the unit of work (None for a guest who has not enrolled).

    On SQLite the unit of work's BEGIN IMMEDIATE already serialises writers; FOR UPDATE is for PostgreSQL.
    """
    _serialise_with_event_writers()
    return db.session.scalars(
        select(LoyaltyMember).where(LoyaltyMember.guest_id == guest_id)
        .with_for_update().execution_options(populate_existing=True)
    ).one_or_none()


def require_member(guest_id: int, *, lock: bool = False) -> LoyaltyMember:
    member = lock_member(guest_id) if lock else db.session.get(LoyaltyMember, guest_id)
    if member is None:
        raise Forbidden("Join the loyalty club first.", code="loyalty_membership_required")
    return member


def _used_points():
    return (select(func.coalesce(func.sum(PointsAllocation.points), 0))
            .where(PointsAllocation.award_entry_id == PointsEntry.id).scalar_subquery())


def open_awards(guest_id: int, *, now: datetime, lapsed: bool = False) -> list[tuple[PointsEntry, int]]:
    """Awards with points left, soonest expiry first: live ones (default) or those already past their expiry."""
    remaining = (PointsEntry.points - _used_points()).label("remaining")
    stmt = (select(PointsEntry, remaining)
            .where(PointsEntry.guest_id == guest_id, PointsEntry.points > 0, remaining > 0)
            .order_by(PointsEntry.expires_at, PointsEntry.id))
    stmt = stmt.where(PointsEntry.expires_at <= now if lapsed else PointsEntry.expires_at > now)
    return [(entry, int(left)) for entry, left in db.session.execute(stmt)]


def balance(guest_id: int, *, now: datetime | None = None) -> int:
    """Points the member can spend now (awards that have lapsed do not count, even before the expiry job ran)."""
    return sum(left for _, left in open_awards(guest_id, now=now or clock.now()))


def award(*, guest_id: int, kind: EntryKind, points: int, dedupe_key: str | None, reference: str | None = None,
          hotel_id: int | None = None, staff_id: int | None = None, detail: dict | None = None) -> PointsEntry | None:
    """Append an award expiring after the program's period; None when `dedupe_key` was already awarded."""
    if points <= 0:
        return None
    if dedupe_key is not None and db.session.scalar(select(PointsEntry.id).where(
            PointsEntry.guest_id == guest_id, PointsEntry.dedupe_key == dedupe_key)) is not None:
        return None
    now = clock.now()
    entry = PointsEntry(guest_id=guest_id, kind=kind.value, points=points, reference=reference, dedupe_key=dedupe_key,
                        expires_at=program().expiry_for(now), occurred_at=now, hotel_id=hotel_id, staff_id=staff_id,
                        title=ENTRY_TITLES[kind], detail=detail)
    db.session.add(entry)
    db.session.flush()
    events.record("loyalty.points_earned", hotel_id=hotel_id, guest_id=guest_id, subject_id=entry.id,
                  payload={"points": points, "kind": kind.value, "reference": reference})
    return entry


def _debit(*, guest_id: int, kind: EntryKind, points: int, awards: list[tuple[PointsEntry, int]],
           reference: str | None, dedupe_key: str | None = None) -> PointsEntry:
    """Append a debit of `points` drawn from `awards` in their order (the caller checked there are enough)."""
    entry = PointsEntry(guest_id=guest_id, kind=kind.value, points=-points, reference=reference,
                        dedupe_key=dedupe_key, occurred_at=clock.now(), title=ENTRY_TITLES[kind])
    db.session.add(entry)
    db.session.flush()
    left = points
    for award_entry, remaining in awards:
        take = min(left, remaining)
        db.session.add(PointsAllocation(debit_entry_id=entry.id, award_entry_id=award_entry.id, points=take))
        left -= take
        if not left:
            break
    if left:
        raise RuntimeError("debit larger than the awards given")  # redeem() checks first; this is a bug guard
    return entry


def expire_lapsed(*, guest_id: int, now: datetime) -> int:
    """Post one expiry per lapsed award for what is left of it; the caller holds the member's lock."""
    expired = 0
    for award_entry, remaining in open_awards(guest_id, now=now, lapsed=True):
        _debit(guest_id=guest_id, kind=EntryKind.EXPIRY, points=remaining, awards=[(award_entry, remaining)],
               reference=f"award:{award_entry.id}", dedupe_key=f"expiry:{award_entry.id}")
        expired += remaining
    return expired


@dataclass(frozen=True)
class Redemption:
    id: int  # the ledger entry's id
    guest_id: int
    points: int  # positive: how many were redeemed
    reference: str
    balance: int  # what is left to spend
    redeemed_at: datetime


def redeem(*, guest_id: int, points: int, reference: str) -> Redemption:
    """Spend points, drawing from the awards that expire first; 409 insufficient_points when the balance is short.

    Records `loyalty.points_redeemed` ({"points", "reference"}); a subscriber may refuse (and roll back) the
    redemption, e.g. when the referenced booking is not the guest's.
    """
    if points <= 0:
        raise Unprocessable("Redeem at least one point.", errors={"points": ["Must be at least 1."]})
    require_member(guest_id, lock=True)
    now = clock.now()
    expire_lapsed(guest_id=guest_id, now=now)
    awards = open_awards(guest_id, now=now)
    available = sum(left for _, left in awards)
    if available < points:
        raise Conflict(f"You have {available} points; {points} were asked for.", code="insufficient_points",
                       balance=available)
    entry = _debit(guest_id=guest_id, kind=EntryKind.REDEMPTION, points=points, awards=awards, reference=reference)
    events.record("loyalty.points_redeemed", guest_id=guest_id, subject_id=entry.id,
                  payload={"points": points, "reference": reference})
    return Redemption(id=entry.id, guest_id=guest_id, points=points, reference=reference, balance=available - points,
                      redeemed_at=entry.occurred_at)


def expiring_soon(guest_id: int, *, now: datetime) -> tuple[int, datetime | None]:
    """Points that lapse within the program's warning period, and the first date some do."""
    horizon = now + program().expiring_soon
    soon = [(entry, left) for entry, left in open_awards(guest_id, now=now) if entry.expires_at <= horizon]
    return sum(left for _, left in soon), (soon[0][0].expires_at if soon else None)
