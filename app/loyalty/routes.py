"""The loyalty club for members (/loyalty) and for staff (/staff/loyalty): goodwill points, offers."""

from flask.views import MethodView
from flask_smorest import Blueprint

from app.core.auth import (
    GUEST_DATA_ROLES,
    Role,
    current_guest_id,
    current_staff,
    guest_required,
    staff_required,
)
from app.core.db import unit_of_work
from app.core.idempotency import idempotent
from app.core.pagination import page_schema
from app.loyalty import services
from app.loyalty.schemas import (
    EnrolSchema,
    GoodwillCreateSchema,
    GoodwillSchema,
    LedgerEntrySchema,
    LedgerQueryArgsSchema,
    LoyaltyStatusSchema,
    OfferAdminSchema,
    OfferCreateSchema,
    OfferQueryArgsSchema,
    OfferSchema,
    OfferUpdateSchema,
    RedemptionCreateSchema,
    RedemptionSchema,
    ReferralCodeSchema,
    StaffOfferQueryArgsSchema,
)

blp = Blueprint("loyalty", __name__, description="The loyalty club: status, points, offers, referrals")
staff_blp = Blueprint("staff-loyalty", __name__, description="The loyalty club for staff: goodwill points, offers")

GOODWILL_ROLES = (Role.FRONT_DESK, Role.HOTEL_MANAGER, Role.CHAIN_ADMIN)
OFFER_ROLES = (Role.MARKETER, Role.CHAIN_ADMIN)


@blp.route("")
class LoyaltyStatus(MethodView):
    @guest_required
    @blp.response(200, LoyaltyStatusSchema)
    def get(self):
        """Show my tier, balance, points expiring soon and progress to the next tier."""
        return services.status(guest_id=current_guest_id())


@blp.route("/enrol")
class Enrol(MethodView):
    @guest_required
    @blp.arguments(EnrolSchema)
    @blp.response(201, LoyaltyStatusSchema)
    def post(self, data: dict):
        """Join the loyalty club, optionally with a friend's referral code."""
        with unit_of_work():
            return services.enrol(guest_id=current_guest_id(), referral_code=data.get("referral_code"))


@blp.route("/ledger")
class Ledger(MethodView):
    @guest_required
    @blp.arguments(LedgerQueryArgsSchema, location="query")
    @blp.response(200, page_schema(LedgerEntrySchema))
    def get(self, args: dict):
        """List my points awards, redemptions and expiries, newest first."""
        return services.ledger(guest_id=current_guest_id(), **args)


@blp.route("/offers")
class Offers(MethodView):
    @guest_required
    @blp.arguments(OfferQueryArgsSchema, location="query")
    @blp.response(200, page_schema(OfferSchema))
    def get(self, args: dict):
        """List the members-only offers and compliments of my tier (members only)."""
        return services.visible_offers(guest_id=current_guest_id(), **args)


@blp.route("/redemptions")
class Redemptions(MethodView):
    @guest_required
    @idempotent
    @blp.arguments(RedemptionCreateSchema)
    @blp.response(201, RedemptionSchema)
    def post(self, data: dict):
        """Redeem points against one of my bookings or stays."""
        with unit_of_work():
            return services.redeem(guest_id=current_guest_id(), points=data["points"],
                                   reference=f"booking:{data['booking_id']}")


@blp.route("/referral-code")
class ReferralCode(MethodView):
    @guest_required
    @blp.response(200, ReferralCodeSchema)
    def get(self):
        """Show my referral code to share with friends."""
        return services.referral_code(guest_id=current_guest_id())


# -- /staff/loyalty ----------------------------------------------------------------------------------------------

@staff_blp.route("/goodwill")
class Goodwill(MethodView):
    @staff_required(*GOODWILL_ROLES)
    @idempotent
    @staff_blp.arguments(GoodwillCreateSchema)
    @staff_blp.response(201, GoodwillSchema)
    def post(self, data: dict):
        """Grant a member goodwill points for service recovery (audited)."""
        with unit_of_work():
            return services.grant_goodwill(staff=current_staff(), **data)


@staff_blp.route("/members/<int:guest_id>")
class StaffMemberStatus(MethodView):
    @staff_required(*GUEST_DATA_ROLES)
    @staff_blp.response(200, LoyaltyStatusSchema)
    def get(self, guest_id: int):
        """Show a guest's club status: tier, balance, progress (audited; `enrolled` false for non-members)."""
        with unit_of_work():
            return services.staff_view(staff=current_staff(), guest_id=guest_id)


@staff_blp.route("/offers")
class StaffOffers(MethodView):
    @staff_required(*OFFER_ROLES)
    @staff_blp.arguments(StaffOfferQueryArgsSchema, location="query")
    @staff_blp.response(200, page_schema(OfferAdminSchema))
    def get(self, args: dict):
        """List every members-only offer and compliment, live or not."""
        return services.list_offers(staff=current_staff(), **args)

    @staff_required(*OFFER_ROLES)
    @staff_blp.arguments(OfferCreateSchema)
    @staff_blp.response(201, OfferAdminSchema)
    def post(self, data: dict):
        """Publish a members-only offer or compliment for a tier and above."""
        with unit_of_work():
            return services.create_offer(staff=current_staff(), **data)


@staff_blp.route("/offers/<int:offer_id>")
class StaffOfferById(MethodView):
    @staff_required(*OFFER_ROLES)
    @staff_blp.arguments(OfferUpdateSchema)
    @staff_blp.response(200, OfferAdminSchema)
    def patch(self, changes: dict, offer_id: int):
        """Change a members-only offer (withdraw it with is_active false)."""
        with unit_of_work():
            return services.update_offer(staff=current_staff(), offer_id=offer_id, changes=changes)
