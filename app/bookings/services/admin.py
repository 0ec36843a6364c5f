"""What managers set up: each hotel's pricing policy, rate plans per room type, promo codes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.bookings.models import PricingPolicy, PromoCode, RatePlan
from app.core.errors import Conflict, NotFound
from app.extensions import db
from app.hotels import services as hotels
from app.hotels.models import RoomType


def set_pricing_policy(*, staff: Any, hotel_id: int, **settings: Any) -> PricingPolicy:
    """Create or replace the hotel's pricing policy (direct discount, cap, tax, cancellation terms)."""
    hotel = hotels.get_managed_hotel(staff=staff, hotel_id=hotel_id)
    policy = db.session.scalar(select(PricingPolicy).where(PricingPolicy.hotel_id == hotel.id))
    if policy is None:
        policy = PricingPolicy(hotel_id=hotel.id)
        db.session.add(policy)
    for name, value in settings.items():
        setattr(policy, name, value)
    db.session.flush()
    return policy


def list_rate_plans(*, staff: Any, hotel_id: int) -> list[RatePlan]:
    """A managed hotel's active rate plans."""
    hotel = hotels.get_managed_hotel(staff=staff, hotel_id=hotel_id)
    return list(db.session.scalars(select(RatePlan).where(RatePlan.hotel_id == hotel.id, RatePlan.is_active.is_(True))
                                   .order_by(RatePlan.room_type_id, RatePlan.base_price)))


def create_rate_plan(*, staff: Any, hotel_id: int, room_type_id: int, **fields: Any) -> RatePlan:
    """Add a rate plan to one of the hotel's room types."""
    hotel = hotels.get_managed_hotel(staff=staff, hotel_id=hotel_id)
    room_type = db.session.get(RoomType, room_type_id)
    if room_type is None or room_type.hotel_id != hotel.id:
        raise NotFound("No such room type in this hotel.")
    plan = RatePlan(hotel_id=hotel.id, room_type_id=room_type.id, **fields)
    db.session.add(plan)
    _flush_unique("A rate plan with this code exists for this room type.")
    return plan


def create_promo_code(*, staff: Any, hotel_id: int | None, code: str, **fields: Any) -> PromoCode:
    """A promo code for one hotel or, for chain-wide staff, for the whole chain."""
    if hotel_id is not None:
        hotels.get_managed_hotel(staff=staff, hotel_id=hotel_id)
    elif not staff.is_chain_wide:
        raise NotFound("No such hotel.", code="chain_wide_code_forbidden")
    promo = PromoCode(hotel_id=hotel_id, code=code.upper(), **fields)
    db.session.add(promo)
    _flush_unique("This promo code exists already.")
    return promo


def _flush_unique(message: str) -> None:
    try:
        db.session.flush()
    except IntegrityError:
        raise Conflict(message, code="already_exists") from None
