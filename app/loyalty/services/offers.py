"""Members-only offers and compliments: marketers and chain admins manage them, members see their tier's."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from app.audit import services as audit
from app.core import clock
from app.core.errors import NotFound, Unprocessable
from app.core.pagination import Page, paginate
from app.extensions import db
from app.hotels import services as hotels_services
from app.loyalty.models import LoyaltyOffer
from app.loyalty.program import program
from app.loyalty.services.ledger import require_member


def visible_offers(*, guest_id: int, cursor: str | None, limit: int, hotel_id: int | None = None) -> Page:
    """Live offers for the member's tier and the tiers below it; 403 for guests who have not enrolled."""
    member = require_member(guest_id)
    prog, now = program(), clock.now()
    rank = prog.tier(member.tier).rank
    stmt = select(LoyaltyOffer).where(
        LoyaltyOffer.is_active.is_(True),
        LoyaltyOffer.min_tier.in_([tier.code for tier in prog.tiers if tier.rank <= rank]),
        or_(LoyaltyOffer.valid_from.is_(None), LoyaltyOffer.valid_from <= now),
        or_(LoyaltyOffer.valid_until.is_(None), LoyaltyOffer.valid_until > now),
    )
    if hotel_id is not None:
        stmt = stmt.where(or_(LoyaltyOffer.hotel_id.is_(None), LoyaltyOffer.hotel_id == hotel_id))
    return paginate(stmt, keys=[LoyaltyOffer.id], cursor=cursor, limit=limit, descending=True)


def list_offers(*, staff: Any, cursor: str | None, limit: int) -> Page:
    """Every offer, live or not, newest first."""
    return paginate(select(LoyaltyOffer), keys=[LoyaltyOffer.id], cursor=cursor, limit=limit, descending=True)


def _check(staff: Any, data: dict[str, Any], offer: LoyaltyOffer | None = None) -> None:
    if "min_tier" in data and data["min_tier"] not in {tier.code for tier in program().tiers}:
        raise Unprocessable("No such tier.", errors={"min_tier": ["Not a tier of the club."]})
    if data.get("hotel_id") is not None:
        hotels_services.get_managed_hotel(staff=staff, hotel_id=data["hotel_id"])
    valid_from = data.get("valid_from", offer.valid_from if offer else None)
    valid_until = data.get("valid_until", offer.valid_until if offer else None)
    if valid_from and valid_until and valid_until <= valid_from:
        raise Unprocessable("An offer must end after it starts.", errors={"valid_until": ["Must be after valid_from."]})


def create_offer(*, staff: Any, **data: Any) -> LoyaltyOffer:
    """Publish a members-only offer or compliment."""
    data.setdefault("min_tier", program().entry_tier.code)
    _check(staff, data)
    offer = LoyaltyOffer(**data, created_by_staff_id=staff.id)
    db.session.add(offer)
    db.session.flush()
    audit.record(actor=staff, action="loyalty.offer_created", subject_kind="loyalty_offer", subject_id=offer.id,
                 hotel_id=offer.hotel_id)
    return offer


def update_offer(*, staff: Any, offer_id: int, changes: dict[str, Any]) -> LoyaltyOffer:
    """Change an offer (withdraw it with is_active=false)."""
    offer = db.session.get(LoyaltyOffer, offer_id)
    if offer is None or (offer.hotel_id is not None and not staff.can_access_hotel(offer.hotel_id)):
        # A hotel's offer belongs to that hotel's staff, as creating one does (chain-wide offers to any marketer).
        raise NotFound("No such offer.")
    _check(staff, changes, offer)
    for name, value in changes.items():
        setattr(offer, name, value)
    audit.record(actor=staff, action="loyalty.offer_updated", subject_kind="loyalty_offer", subject_id=offer.id,
                 hotel_id=offer.hotel_id, detail={"fields": sorted(changes)})
    return offer
