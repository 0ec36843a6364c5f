"""Guests' availability search, quotes, bookings and stays; managers' pricing setup."""

from flask import jsonify
from flask.views import MethodView
from flask_smorest import Blueprint

from app.bookings import services
from app.bookings.schemas import (
    AvailabilityArgsSchema,
    BookingCreateSchema,
    BookingQueryArgsSchema,
    CheckoutResultSchema,
    CheckoutSchema,
    DeskBookingCreateSchema,
    DeskCheckInSchema,
    DeskListArgsSchema,
    DeskListSchema,
    DeskQuoteSchema,
    DeskStaySchema,
    FolioSchema,
    HotelAvailabilitySchema,
    ModifyBookingSchema,
    PricingPolicySchema,
    PromoCodeCreateSchema,
    PromoCodeSchema,
    QuoteSchema,
    RatePlanCreateSchema,
    RatePlanSchema,
    RoomStateSchema,
    StayRequestSchema,
    StaySchema,
    SurveyAnswersSchema,
    SurveySchema,
    dump_availability,
)
from app.core.auth import (
    DESK_ROLES,
    GUEST_DATA_ROLES,
    MANAGERS,
    Role,
    current_guest_id,
    current_guest_or_none,
    current_staff,
    guest_optional,
    guest_required,
    staff_required,
)
from app.core.db import unit_of_work
from app.core.errors import NotFound
from app.core.idempotency import idempotent
from app.core.pagination import page_schema

blp = Blueprint("bookings", __name__, description="Availability across the chain, quotes and direct bookings")
stays_blp = Blueprint("stays", __name__, description="The guest's stays: folio, room state, checkout, survey")
desk_blp = Blueprint("staff-stays", __name__,
                     description="The front desk's day: arrivals, departures, in house; check-in and checkout")
desk_bookings_blp = Blueprint("staff-bookings", __name__, description="Quotes and bookings made at the front desk")
admin_blp = Blueprint("admin-pricing", __name__, description="Pricing policies, rate plans and promo codes")


def _guest_id() -> int:
    return current_guest_id()


# -- /availability, /quotes, /bookings -----------------------------------------------------------------------------

@blp.route("/availability")
class Availability(MethodView):
    @blp.arguments(AvailabilityArgsSchema, location="query")
    @blp.response(200, HotelAvailabilitySchema(many=True))
    def get(self, args: dict):
        """Search free rooms across every hotel of the chain (or one city) with the app's prices."""
        return jsonify(dump_availability(services.search_availability(**args)))


@blp.route("/quotes")
class Quotes(MethodView):
    @guest_optional
    @blp.arguments(StayRequestSchema)
    @blp.response(200, QuoteSchema)
    def post(self, data: dict):
        """Price a stay night by night: base, season, each discount, tax (member prices when logged in)."""
        guest = current_guest_or_none()
        return services.make_quote(guest_id=guest.id if guest else None, stay=services.StayRequest(**data))


@blp.route("/bookings")
class Bookings(MethodView):
    @guest_required
    @blp.arguments(BookingQueryArgsSchema, location="query")
    @blp.response(200, page_schema(StaySchema))
    def get(self, args: dict):
        """List the guest's bookings and stays in every hotel, newest first."""
        return services.list_bookings(guest_id=_guest_id(), **args)

    @guest_required
    @idempotent
    @blp.arguments(BookingCreateSchema)
    @blp.response(201, StaySchema)
    def post(self, data: dict):
        """Book a stay at the app's direct price (send Idempotency-Key: a retry never books twice)."""
        extra = {key: data.pop(key) for key in ("expected_total", "special_requests") if key in data}
        with unit_of_work():
            return services.create_booking(guest_id=_guest_id(), stay=services.StayRequest(**data), **extra)


@blp.route("/bookings/<int:booking_id>")
class BookingById(MethodView):
    @guest_required
    @blp.response(200, StaySchema)
    def get(self, booking_id: int):
        """Show one of the guest's bookings with its price explained."""
        return services.guest_booking(guest_id=_guest_id(), booking_id=booking_id)


@blp.route("/bookings/<int:booking_id>/actions/modify")
class ModifyBooking(MethodView):
    @guest_required
    @blp.arguments(ModifyBookingSchema)
    @blp.response(200, StaySchema)
    def post(self, data: dict, booking_id: int):
        """Move a confirmed booking to other dates, at today's price for those dates."""
        with unit_of_work():
            return services.modify_booking(guest_id=_guest_id(), booking_id=booking_id, **data)


@blp.route("/bookings/<int:booking_id>/actions/cancel")
class CancelBooking(MethodView):
    @guest_required
    @blp.response(200, StaySchema)
    def post(self, booking_id: int):
        """Cancel: free until the deadline shown on the booking, then the policy's fee."""
        with unit_of_work():
            return services.cancel_booking(guest_id=_guest_id(), booking_id=booking_id)


@blp.route("/bookings/<int:booking_id>/actions/check-in")
class CheckIn(MethodView):
    @guest_required
    @blp.response(200, StaySchema)
    def post(self, booking_id: int):
        """Check in from the phone (from the day before arrival): the room is assigned and prepared."""
        with unit_of_work():
            return services.check_in(guest_id=_guest_id(), booking_id=booking_id)


# -- /stays --------------------------------------------------------------------------------------------------------

@stays_blp.route("/current")
class CurrentStay(MethodView):
    @guest_required
    @stays_blp.response(200, StaySchema)
    def get(self):
        """Show the guest's stay in progress (404 when not checked in anywhere)."""
        stay = services.current_stay(guest_id=_guest_id())
        if stay is None:
            raise NotFound("You are not checked in.", code="no_current_stay")
        return stay


@stays_blp.route("/<int:stay_id>")
class StayById(MethodView):
    @guest_required
    @stays_blp.response(200, StaySchema)
    def get(self, stay_id: int):
        """Show one of the guest's stays."""
        return services.guest_booking(guest_id=_guest_id(), booking_id=stay_id)


@stays_blp.route("/<int:stay_id>/folio")
class StayFolio(MethodView):
    @guest_required
    @stays_blp.response(200, FolioSchema)
    def get(self, stay_id: int):
        """Show the stay's folio as it stands: every charge posted so far and the balance."""
        return services.guest_folio(guest_id=_guest_id(), booking_id=stay_id)


@stays_blp.route("/<int:stay_id>/room-status")
class StayRoomStatus(MethodView):
    @guest_required
    @stays_blp.arguments(RoomStateSchema)
    @stays_blp.response(200, StaySchema)
    def put(self, data: dict, stay_id: int):
        """Set do-not-disturb, make-up-room, or neither, on the room of the stay in progress."""
        with unit_of_work():
            return services.set_guest_room_state(guest_id=_guest_id(), booking_id=stay_id, state=data["state"])


@stays_blp.route("/<int:stay_id>/actions/checkout")
class Checkout(MethodView):
    @guest_required
    @stays_blp.arguments(CheckoutSchema)
    @stays_blp.response(200, CheckoutResultSchema)
    def post(self, data: dict, stay_id: int):
        """Express checkout: confirm the folio balance you reviewed; points are posted, the survey offered."""
        with unit_of_work():
            return services.express_checkout(guest_id=_guest_id(), booking_id=stay_id, **data)


@stays_blp.route("/<int:stay_id>/survey")
class StaySurvey(MethodView):
    @guest_required
    @stays_blp.response(200, SurveySchema)
    def get(self, stay_id: int):
        """Show the after-stay survey: three short questions, and more for those who want them."""
        return services.guest_survey(guest_id=_guest_id(), booking_id=stay_id)

    @guest_required
    @stays_blp.arguments(SurveyAnswersSchema)
    @stays_blp.response(201, SurveySchema)
    def post(self, data: dict, stay_id: int):
        """Answer the survey once, after checkout."""
        with unit_of_work():
            return services.submit_survey(guest_id=_guest_id(), booking_id=stay_id, answers=data["answers"])


# -- /admin --------------------------------------------------------------------------------------------------------

# -- /staff/stays ------------------------------------------------------------------------------------------------

@desk_blp.route("")
class DeskLists(MethodView):
    @staff_required(*GUEST_DATA_ROLES)
    @desk_blp.arguments(DeskListArgsSchema, location="query")
    @desk_blp.response(200, DeskListSchema)
    def get(self, args: dict):
        """A hotel's arrivals or departures on a day (its local today by default), or who is in the house now
        (audited: it shows guests' names)."""
        with unit_of_work():
            day, page = services.desk_list(staff=current_staff(), hotel_id=args["hotel_id"],
                                           kind=services.DeskList(args["list"]), day=args["date"],
                                           cursor=args["cursor"], limit=args["limit"])
        return {"date": day, "items": page.items, "next_cursor": page.next_cursor}


@desk_blp.route("/<int:stay_id>")
class DeskStay(MethodView):
    @staff_required(*GUEST_DATA_ROLES)
    @desk_blp.response(200, DeskStaySchema)
    def get(self, stay_id: int):
        """One booking or stay of the desk's hotels: guest, room, folio and, while in the house, what checking out
        today settles (audited: it shows the guest's name)."""
        with unit_of_work():
            return services.desk_stay(staff=current_staff(), booking_id=stay_id)


@desk_blp.route("/<int:stay_id>/actions/check-in")
class DeskCheckIn(MethodView):
    @staff_required(*DESK_ROLES)
    @desk_blp.arguments(DeskCheckInSchema)
    @desk_blp.response(200, StaySchema)
    def post(self, data: dict, stay_id: int):
        """Check a guest in at the desk, in the room given or the best fit; also a no-show who turned up after
        the night audit (its fee is waived, its released nights taken again). Audited."""
        with unit_of_work():
            return services.desk_check_in(staff=current_staff(), booking_id=stay_id, room_id=data["room_id"])


@desk_blp.route("/<int:stay_id>/actions/checkout")
class DeskCheckout(MethodView):
    @staff_required(*DESK_ROLES)
    @desk_blp.arguments(CheckoutSchema)
    @desk_blp.response(200, CheckoutResultSchema)
    def post(self, data: dict, stay_id: int):
        """Check a guest out at the desk, confirming `departure.balance` from GET /staff/stays/{id}. Leaving
        before the last night: tonight is paid, later nights are credited and go back on sale. Audited."""
        with unit_of_work():
            return services.desk_checkout(staff=current_staff(), booking_id=stay_id, **data)


@desk_bookings_blp.route("/quotes")
class DeskQuotes(MethodView):
    @staff_required(*DESK_ROLES)
    @desk_bookings_blp.arguments(DeskQuoteSchema)
    @desk_bookings_blp.response(200, QuoteSchema)
    def post(self, data: dict):
        """Price a stay at the desk: the public price less the guest's tier discount and a promo code (the
        app-only discount is the app's)."""
        guest_id = data.pop("guest_id", None)
        return services.desk_quote(staff=current_staff(), guest_id=guest_id, stay=services.StayRequest(**data))


@desk_bookings_blp.route("/bookings")
class DeskBookings(MethodView):
    @staff_required(*DESK_ROLES)
    @idempotent
    @desk_bookings_blp.arguments(DeskBookingCreateSchema)
    @desk_bookings_blp.response(201, StaySchema)
    def post(self, data: dict):
        """Book a stay for a guest at the desk, at the desk's price (send Idempotency-Key: a retry never books
        twice); then check them in with POST /staff/stays/{id}/actions/check-in. Audited."""
        extra = {key: data.pop(key) for key in ("guest_id", "expected_total", "special_requests") if key in data}
        with unit_of_work():
            return services.desk_book(staff=current_staff(), stay=services.StayRequest(**data), **extra)


@admin_blp.route("/hotels/<int:hotel_id>/pricing")
class HotelPricing(MethodView):
    @staff_required(*MANAGERS)
    @admin_blp.arguments(PricingPolicySchema)
    @admin_blp.response(200, PricingPolicySchema)
    def put(self, data: dict, hotel_id: int):
        """Set the hotel's app-only discount, discount cap, tax and cancellation terms."""
        with unit_of_work():
            return services.set_pricing_policy(staff=current_staff(), hotel_id=hotel_id, **data)


@admin_blp.route("/hotels/<int:hotel_id>/rate-plans")
class HotelRatePlans(MethodView):
    @staff_required(*MANAGERS)
    @admin_blp.response(200, RatePlanSchema(many=True))
    def get(self, hotel_id: int):
        """List the hotel's active rate plans."""
        return services.list_rate_plans(staff=current_staff(), hotel_id=hotel_id)

    @staff_required(*MANAGERS)
    @admin_blp.arguments(RatePlanCreateSchema)
    @admin_blp.response(201, RatePlanSchema)
    def post(self, data: dict, hotel_id: int):
        """Add a rate plan (nightly base price and season adjustments) to a room type."""
        with unit_of_work():
            return services.create_rate_plan(staff=current_staff(), hotel_id=hotel_id, **data)


@admin_blp.route("/promo-codes")
class PromoCodes(MethodView):
    @staff_required(*MANAGERS, Role.MARKETER)
    @admin_blp.arguments(PromoCodeCreateSchema)
    @admin_blp.response(201, PromoCodeSchema)
    def post(self, data: dict):
        """Create a promo code for a hotel, or chain-wide (chain admins)."""
        with unit_of_work():
            return services.create_promo_code(staff=current_staff(), **data)

