"""The loyalty domain's part of a guest's data rights: membership, the points ledger and qualifying stays.

Nothing here is erased: the ledger is a financial record (points are a liability of the chain), and it holds no
names or contacts, only the guest id that now points at a pseudonymous profile.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.core.records import as_record, as_records
from app.extensions import db
from app.loyalty.models import LoyaltyMember, PointsEntry, QualifyingStay
from app.loyalty.services.ledger import balance


def export_for_guest(*, guest_id: int) -> dict[str, Any]:
    member = db.session.get(LoyaltyMember, guest_id)
    return {
        "loyalty": {
            "membership": as_record(member) if member else None,
            "balance": balance(guest_id) if member else 0,
            "ledger": as_records(db.session.scalars(
                select(PointsEntry).where(PointsEntry.guest_id == guest_id).order_by(PointsEntry.id))),
            "qualifying_stays": as_records(db.session.scalars(
                select(QualifyingStay).where(QualifyingStay.guest_id == guest_id).order_by(QualifyingStay.id))),
        },
    }


def erase_for_guest(*, guest_id: int, pseudonym: str) -> dict[str, int]:
    """Kept as is (financial record without identifying text)."""
    return {}
