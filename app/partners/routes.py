"""Experiences for guests (browse, book, cancel) and the partner API (schedule, bookings, vouchers, webhooks)."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g
from flask.views import MethodView
from flask_jwt_extended import get_current_user, get_jwt, verify_jwt_in_request
from flask_smorest import Blueprint

from app.core.auth import (
    PrincipalKind,
    ServiceKind,
    account_of,
    api_key_required,
    current_guest,
    current_guest_id,
    current_service_account,
    guest_required,
    parse_subject,
)
from app.core.db import unit_of_work
from app.core.idempotency import idempotent
from app.core.pagination import CursorArgsSchema, page_schema
from app.partners import services
from app.partners.schemas import (
    DeclineSchema,
    DeliveryQueryArgsSchema,
    ExperienceBookingCreateSchema,
    ExperienceBookingSchema,
    ExperienceQueryArgsSchema,
    ExperienceSchema,
    OfferingAdminSchema,
    PartnerBookingQueryArgsSchema,
    PartnerBookingSchema,
    PartnerSlotQueryArgsSchema,
    PartnerSlotSchema,
    SlotCreateSchema,
    SlotQueryArgsSchema,
    SlotSchema,
    SlotUpdateSchema,
    StatementQueryArgsSchema,
    StatementSchema,
    VoucherSchema,
    WebhookDeliverySchema,
    WebhookEndpointCreateSchema,
    WebhookEndpointSchema,
    WebhookEndpointWithSecretSchema,
)

blp = Blueprint("experiences", __name__, description="Partner experiences near a hotel: browse, book, cancel")
partner_blp = Blueprint("partner", __name__, description="Partner API (API key): schedule, bookings, vouchers")


def _optional_guest() -> Any:
    """The guest behind a bearer token, if one was sent (browsing is public; a guest gets recommendations)."""
    verify_jwt_in_request(optional=True)
    claims = get_jwt()
    if not claims or parse_subject(claims["sub"])[0] != PrincipalKind.GUEST:
        return None
    return account_of(get_current_user())


def partner_required(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Only a partner's API key; its partner is then `g.partner` (everything is scoped to it)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.partner = services.key_partner(current_service_account())
        return fn(*args, **kwargs)

    return api_key_required(ServiceKind.PARTNER)(wrapper)


# -- guests ------------------------------------------------------------------------------------------------------

@blp.route("/hotels/<int:hotel_id>/experiences")
class HotelExperiences(MethodView):
    @blp.doc(security=[{}, {"bearerAuth": []}])
    @blp.arguments(ExperienceQueryArgsSchema, location="query")
    @blp.response(200, page_schema(ExperienceSchema))
    def get(self, args: dict, hotel_id: int):
        """List experiences near a hotel, filtered by day, language, price and kind; a guest's are marked
        `recommended` from their profile (with their consent to profiling)."""
        cursor, limit = args.pop("cursor"), args.pop("limit")
        return services.browse(hotel_id=hotel_id, guest=_optional_guest(), filters=services.BrowseFilters(**args),
                               cursor=cursor, limit=limit)


@blp.route("/experiences/<int:offering_id>")
class ExperienceById(MethodView):
    @blp.response(200, ExperienceSchema)
    def get(self, offering_id: int):
        """Show an experience."""
        return services.get_experience(offering_id=offering_id)


@blp.route("/experiences/<int:offering_id>/slots")
class ExperienceSlots(MethodView):
    @blp.arguments(SlotQueryArgsSchema, location="query")
    @blp.response(200, page_schema(SlotSchema))
    def get(self, args: dict, offering_id: int):
        """List an experience's coming slots with the places left."""
        return services.list_open_slots(offering_id=offering_id, **args)


@blp.route("/experience-bookings")
class ExperienceBookings(MethodView):
    @guest_required
    @blp.arguments(CursorArgsSchema, location="query")
    @blp.response(200, page_schema(ExperienceBookingSchema))
    def get(self, args: dict):
        """List my experience bookings, newest first."""
        return services.guest_bookings(guest_id=current_guest_id(), **args)

    @guest_required
    @idempotent
    @blp.arguments(ExperienceBookingCreateSchema)
    @blp.response(201, ExperienceBookingSchema)
    def post(self, data: dict):
        """Book places in a slot, charged to my room (while staying at the hotel) or paid at the partner."""
        with unit_of_work():
            return services.book(guest=current_guest(), **data)


@blp.route("/experience-bookings/<int:booking_id>")
class ExperienceBookingById(MethodView):
    @guest_required
    @blp.response(200, ExperienceBookingSchema)
    def get(self, booking_id: int):
        """Show one of my experience bookings with its voucher code."""
        return services.guest_booking(guest_id=current_guest_id(), booking_id=booking_id)


@blp.route("/experience-bookings/<int:booking_id>/actions/cancel")
class CancelExperienceBooking(MethodView):
    @guest_required
    @idempotent
    @blp.response(200, ExperienceBookingSchema)
    def post(self, booking_id: int):
        """Cancel within the free cancellation period; a room charge is credited back."""
        with unit_of_work():
            return services.cancel(guest_id=current_guest_id(), booking_id=booking_id)


# -- partner API -------------------------------------------------------------------------------------------------

@partner_blp.route("/offerings")
class PartnerOfferings(MethodView):
    @partner_required
    @partner_blp.arguments(CursorArgsSchema, location="query")
    @partner_blp.response(200, page_schema(OfferingAdminSchema))
    def get(self, args: dict):
        """List my offerings."""
        return services.list_partner_offerings(partner=g.partner, **args)


@partner_blp.route("/slots")
class PartnerSlots(MethodView):
    @partner_required
    @partner_blp.arguments(PartnerSlotQueryArgsSchema, location="query")
    @partner_blp.response(200, page_schema(PartnerSlotSchema))
    def get(self, args: dict):
        """List my slots by start time, with capacity and places booked."""
        return services.list_partner_slots(partner=g.partner, **args)

    @partner_required
    @idempotent
    @partner_blp.arguments(SlotCreateSchema)
    @partner_blp.response(201, PartnerSlotSchema)
    def post(self, data: dict):
        """Open a slot of one of my offerings."""
        with unit_of_work():
            return services.create_slot(partner=g.partner, **data)


@partner_blp.route("/slots/<int:slot_id>")
class PartnerSlotById(MethodView):
    @partner_required
    @partner_blp.arguments(SlotUpdateSchema)
    @partner_blp.response(200, PartnerSlotSchema)
    def patch(self, data: dict, slot_id: int):
        """Change a slot's capacity (not below the places booked) or close/reopen it."""
        with unit_of_work():
            return services.update_slot(partner=g.partner, slot_id=slot_id, **data)


@partner_blp.route("/bookings")
class PartnerBookings(MethodView):
    @partner_required
    @partner_blp.arguments(PartnerBookingQueryArgsSchema, location="query")
    @partner_blp.response(200, page_schema(PartnerBookingSchema))
    def get(self, args: dict):
        """List bookings of my offerings, newest first."""
        return services.partner_bookings(partner=g.partner, **args)


@partner_blp.route("/bookings/<int:booking_id>")
class PartnerBookingById(MethodView):
    @partner_required
    @partner_blp.response(200, PartnerBookingSchema)
    def get(self, booking_id: int):
        """Show a booking of mine."""
        return services.partner_booking(partner=g.partner, booking_id=booking_id)


@partner_blp.route("/bookings/<int:booking_id>/actions/confirm")
class ConfirmBooking(MethodView):
    @partner_required
    @partner_blp.response(200, PartnerBookingSchema)
    def post(self, booking_id: int):
        """Confirm a pending booking."""
        with unit_of_work():
            return services.confirm(partner=g.partner, booking_id=booking_id)


@partner_blp.route("/bookings/<int:booking_id>/actions/decline")
class DeclineBooking(MethodView):
    @partner_required
    @partner_blp.arguments(DeclineSchema)
    @partner_blp.response(200, PartnerBookingSchema)
    def post(self, data: dict, booking_id: int):
        """Decline a pending booking: its places are released and a room charge credited back."""
        with unit_of_work():
            return services.decline(partner=g.partner, booking_id=booking_id, **data)


@partner_blp.route("/vouchers/<code>")
class VoucherByCode(MethodView):
    @partner_required
    @partner_blp.response(200, VoucherSchema)
    def get(self, code: str):
        """Verify a voucher a guest shows: genuine and mine (404 otherwise), and whether it is still good."""
        return services.verify_voucher(partner=g.partner, code=code)


@partner_blp.route("/vouchers/<code>/redeem")
class RedeemVoucher(MethodView):
    @partner_required
    @idempotent
    @partner_blp.response(200, VoucherSchema)
    def post(self, code: str):
        """Redeem a voucher, once: a second redemption is refused."""
        with unit_of_work():
            return services.redeem_voucher(partner=g.partner, code=code)


@partner_blp.route("/statements")
class PartnerStatements(MethodView):
    @partner_required
    @partner_blp.arguments(StatementQueryArgsSchema, location="query")
    @partner_blp.response(200, StatementSchema)
    def get(self, args: dict):
        """Show my statement for a month: bookings, amounts, commission, and who owes whom."""
        return services.monthly_statement(partner=g.partner, month=args["month"])


@partner_blp.route("/webhooks")
class PartnerWebhooks(MethodView):
    @partner_required
    @partner_blp.response(200, WebhookEndpointSchema(many=True))
    def get(self):
        """List my webhook endpoints."""
        return services.list_endpoints(partner=g.partner)

    @partner_required
    @partner_blp.arguments(WebhookEndpointCreateSchema)
    @partner_blp.response(201, WebhookEndpointWithSecretSchema)
    def post(self, data: dict):
        """Register an endpoint for new and cancelled bookings; the signing secret is shown this once."""
        with unit_of_work():
            return services.create_endpoint(partner=g.partner, **data)


@partner_blp.route("/webhooks/<int:endpoint_id>")
class PartnerWebhookById(MethodView):
    @partner_required
    @partner_blp.response(204)
    def delete(self, endpoint_id: int):
        """Stop sending to an endpoint."""
        with unit_of_work():
            services.delete_endpoint(partner=g.partner, endpoint_id=endpoint_id)


@partner_blp.route("/webhooks/<int:endpoint_id>/actions/rotate-secret")
class RotateWebhookSecret(MethodView):
    @partner_required
    @partner_blp.response(200, WebhookEndpointWithSecretSchema)
    def post(self, endpoint_id: int):
        """Make a new signing secret; the old one keeps signing beside it for 24 hours."""
        with unit_of_work():
            return services.rotate_secret(partner=g.partner, endpoint_id=endpoint_id)


@partner_blp.route("/webhooks/deliveries")
class PartnerWebhookDeliveries(MethodView):
    @partner_required
    @partner_blp.arguments(DeliveryQueryArgsSchema, location="query")
    @partner_blp.response(200, page_schema(WebhookDeliverySchema))
    def get(self, args: dict):
        """Show the delivery log of my webhooks, newest first, with every attempt."""
        return services.list_deliveries(partner=g.partner, **args)


@partner_blp.route("/webhooks/deliveries/<int:delivery_id>/actions/retry")
class RetryWebhookDelivery(MethodView):
    @partner_required
    @partner_blp.response(200, WebhookDeliverySchema)
    def post(self, delivery_id: int):
        """Send a failed delivery again, with the same webhook-id."""
        with unit_of_work():
            return services.retry_delivery(partner=g.partner, delivery_id=delivery_id)
