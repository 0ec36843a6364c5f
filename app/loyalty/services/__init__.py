"""Loyalty use cases. Bookings calls tier_discount_bp, member_tier, record_completed_stay and redeem (all
keyword-only, never committing); the rest serve the club's own endpoints and jobs."""

from app.loyalty.services.earning import (
    award_birthday,
    birthday_members,
    grant_goodwill,
    record_completed_stay,
    staff_view,
)
from app.loyalty.services.ledger import Redemption, balance, expire_lapsed, lock_member, redeem
from app.loyalty.services.members import (
    LoyaltyStatus,
    enrol,
    ledger,
    member_tier,
    referral_code,
    status,
    tier_discount_bp,
)
from app.loyalty.services.offers import create_offer, list_offers, update_offer, visible_offers
from app.loyalty.services.tiers import evaluate_tier, qualified_tier

__all__ = [
    "LoyaltyStatus", "Redemption", "award_birthday", "balance", "birthday_members", "create_offer", "enrol",
    "evaluate_tier", "expire_lapsed", "grant_goodwill", "ledger", "list_offers", "lock_member", "member_tier",
    "qualified_tier", "record_completed_stay", "redeem", "referral_code", "staff_view", "status", "tier_discount_bp",
    "update_offer", "visible_offers",
]
