"""Shapes of bookings, stays and folios."""

from __future__ import annotations

from datetime import date
from typing import Any

import marshmallow as ma

from app.bookings.models import BookingStatus, ChargeKind, RoomState
from app.bookings.services.booking import MAX_NIGHTS
from app.bookings.services.desk import DeskList
from app.core.i18n import localise, request_language
from app.core.pagination import CursorArgsSchema
from app.core.schemas import Localised, LocalisedText, StrictSchema, id_field
from app.hotels.models import SeasonKind

MAX_MONEY = 10**12  # minor units: far above any real price, far below an integer overflow
BASIS_POINTS = ma.validate.Range(0, 10000)
PROMO_CODE = ma.validate.Regexp(r"^[A-Za-z0-9_-]{3,40}$", error="Use 3-40 letters, digits, '-' or '_'.")


def _check_dates(data: dict[str, Any]) -> None:
    check_in, check_out = data.get("check_in"), data.get("check_out")
    if check_in and check_out and check_out <= check_in:
        raise ma.ValidationError("Must be after check_in.", field_name="check_out")
    if check_in and check_out and (check_out - check_in).days > MAX_NIGHTS:
        raise ma.ValidationError(f"At most {MAX_NIGHTS} nights.", field_name="check_out")


# -- availability and quotes -------------------------------------------------------------------------------------

class AvailabilityArgsSchema(StrictSchema):
    city = ma.fields.String(validate=ma.validate.Length(1, 100), metadata={"description": "Leave out: whole chain"})
    check_in = ma.fields.Date(required=True)
    check_out = ma.fields.Date(required=True)
    guests = ma.fields.Integer(load_default=1, validate=ma.validate.Range(1, 12))

    @ma.validates_schema
    def dates(self, data: dict[str, Any], **_: Any) -> None:
        _check_dates(data)


class RoomTypeOfferSchema(ma.Schema):
    room_type_id = ma.fields.Integer(attribute="room_type.id")
    name = Localised(attribute="room_type.name")
    max_occupancy = ma.fields.Integer(attribute="room_type.max_occupancy")
    photos = ma.fields.List(ma.fields.String(), attribute="room_type.photos")
    available = ma.fields.Integer()
    rate_plan_id = ma.fields.Integer()
    currency = ma.fields.String()
    public_total = ma.fields.Integer(metadata={"description": "What aggregators show, before tax"})
    direct_total = ma.fields.Integer(metadata={"description": "The app's price, before tax"})
    total = ma.fields.Integer(metadata={"description": "The app's price with tax"})


class HotelAvailabilitySchema(ma.Schema):
    hotel_id = ma.fields.Integer(attribute="hotel.id")
    name = Localised(attribute="hotel.name")
    city = ma.fields.String(attribute="hotel.city")
    currency = ma.fields.String(attribute="hotel.currency")
    from_total = ma.fields.Integer()
    offers = ma.fields.List(ma.fields.Nested(RoomTypeOfferSchema))


def dump_availability(results: list[Any]) -> list[dict[str, Any]]:
    """Exactly what `HotelAvailabilitySchema(many=True).dump(results)` returns, written out by hand.

    The chain-wide answer has thousands of fields, and marshmallow spent more time on them than the search itself;
    the schema stays the documented contract, and tests/bookings check that both give the same document.
    """
    language = request_language()
    return [{
        "hotel_id": result.hotel.id, "name": localise(result.hotel.name, language), "city": result.hotel.city,
        "currency": result.hotel.currency, "from_total": result.from_total,
        "offers": [{
            "room_type_id": offer.room_type.id, "name": localise(offer.room_type.name, language),
            "max_occupancy": offer.room_type.max_occupancy, "photos": list(offer.room_type.photos),
            "available": offer.available, "rate_plan_id": offer.rate_plan_id, "currency": offer.currency,
            "public_total": offer.public_total, "direct_total": offer.direct_total, "total": offer.total,
        } for offer in result.offers],
    } for result in results]


class StayRequestSchema(StrictSchema):
    hotel_id = id_field(required=True)
    room_type_id = id_field(required=True)
    rate_plan_id = id_field(metadata={"description": "Leave out: the cheapest plan"})
    check_in = ma.fields.Date(required=True)
    check_out = ma.fields.Date(required=True)
    adults = ma.fields.Integer(load_default=1, validate=ma.validate.Range(1, 12))
    children = ma.fields.Integer(load_default=0, validate=ma.validate.Range(0, 12))
    promo_code = ma.fields.String(validate=PROMO_CODE)

    @ma.validates_schema
    def dates(self, data: dict[str, Any], **_: Any) -> None:
        _check_dates(data)


class BookingCreateSchema(StayRequestSchema):
    expected_total = ma.fields.Integer(validate=ma.validate.Range(0, MAX_MONEY), metadata={
        "description": "The total of the quote the guest saw; a different price now answers 409 price_changed"})
    special_requests = ma.fields.String(validate=ma.validate.Length(1, 1000))


class DeskQuoteSchema(StayRequestSchema):
    guest_id = id_field(metadata={"description": "The guest's tier discount applies when given"})


class DeskBookingCreateSchema(BookingCreateSchema):
    guest_id = id_field(required=True, metadata={"description": "A guest known to the hotel (a walk-in profile: "
                                                               "POST /staff/guests)"})


class DiscountSchema(ma.Schema):
    code = ma.fields.String(metadata={"enum": ["direct", "tier", "promo"]})
    basis_points = ma.fields.Integer()
    amount = ma.fields.Integer()
    capped = ma.fields.Boolean(metadata={"description": "Cut to keep the sum of discounts under the hotel's cap"})


class NightPriceSchema(ma.Schema):
    night = ma.fields.Date()
    season = ma.fields.String(metadata={"enum": [kind.value for kind in SeasonKind]})
    base = ma.fields.Integer()
    season_adjustment = ma.fields.Integer()
    public_price = ma.fields.Integer()
    discounts = ma.fields.List(ma.fields.Nested(DiscountSchema))
    net = ma.fields.Integer()
    tax = ma.fields.Integer()
    total = ma.fields.Integer()


class QuoteSchema(ma.Schema):
    hotel_id = ma.fields.Integer()
    room_type_id = ma.fields.Integer()
    rate_plan_id = ma.fields.Integer()
    check_in = ma.fields.Date()
    check_out = ma.fields.Date()
    currency = ma.fields.String()
    promo_code = ma.fields.String(allow_none=True)
    tier = ma.fields.String(allow_none=True)
    nights = ma.fields.List(ma.fields.Nested(NightPriceSchema))
    totals = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(),
                            metadata={"description": "public, discounts, net, tax, total"})


class FolioChargeSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"enum": [kind.value for kind in ChargeKind]})
    description = Localised(attribute="description")
    quantity = ma.fields.Integer()
    amount = ma.fields.Integer(metadata={"description": "Minor units of the currency; negative for credits"})
    service_date = ma.fields.Date(allow_none=True)
    posted_at = ma.fields.DateTime()


class FolioSchema(ma.Schema):
    booking_id = ma.fields.Integer()
    currency = ma.fields.String()
    status = ma.fields.String(metadata={"enum": ["open", "closed"]})
    balance = ma.fields.Integer(metadata={"description": "Sum of the charges, minor units"})
    charges = ma.fields.List(ma.fields.Nested(FolioChargeSchema))


class StaySchema(ma.Schema):
    """A booking as its guest sees it; once checked in, it is the stay."""

    id = ma.fields.Integer()
    reference = ma.fields.String()
    hotel_id = ma.fields.Integer()
    room_type_id = ma.fields.Integer()
    rate_plan_id = ma.fields.Integer(allow_none=True)
    room_id = ma.fields.Integer(allow_none=True)
    room_number = ma.fields.Function(lambda b: b.room.number if getattr(b, "room", None) else None, allow_none=True)
    check_in = ma.fields.Date()
    check_out = ma.fields.Date()
    nights = ma.fields.Integer()
    adults = ma.fields.Integer()
    children = ma.fields.Integer()
    status = ma.fields.String(metadata={"enum": [status.value for status in BookingStatus]})
    currency = ma.fields.String()
    total_amount = ma.fields.Integer()
    room_state = ma.fields.String(metadata={"enum": [state.value for state in RoomState]})
    cancellation_fee = ma.fields.Integer()
    checked_in_at = ma.fields.DateTime(allow_none=True)
    checked_out_at = ma.fields.DateTime(allow_none=True)
    cancelled_at = ma.fields.DateTime(allow_none=True)
    promo_code = ma.fields.String(allow_none=True)
    free_cancellation_until = ma.fields.Function(
        lambda b: (b.quote or {}).get("cancellation", {}).get("free_until"), allow_none=True)
    price = ma.fields.Function(lambda b: b.quote or {}, metadata={"description": "The accepted quote, explained"})


class DeskListArgsSchema(CursorArgsSchema):
    class Meta:
        unknown = ma.RAISE

    hotel_id = id_field(strict=False, required=True)
    list = ma.fields.String(required=True, validate=ma.validate.OneOf([kind.value for kind in DeskList]),
                            metadata={"description": "arrivals | departures (on `date`) | in_house (now)"})
    date = ma.fields.Date(load_default=None, metadata={
        "description": "The hotel's local date; its business date if absent (yesterday until the night audit)"})


class DeskEntrySchema(ma.Schema):
    """A booking as the front desk lists it: who, which room, when, what was asked for."""

    id = ma.fields.Integer(attribute="booking.id")
    reference = ma.fields.String(attribute="booking.reference")
    status = ma.fields.String(attribute="booking.status", metadata={"enum": [s.value for s in BookingStatus]})
    guest_id = ma.fields.Integer(attribute="booking.guest_id")
    guest_name = ma.fields.String()
    room_type_id = ma.fields.Integer(attribute="booking.room_type_id")
    room_number = ma.fields.Function(lambda e: e.booking.room.number if e.booking.room else None, allow_none=True)
    check_in = ma.fields.Date(attribute="booking.check_in")
    check_out = ma.fields.Date(attribute="booking.check_out")
    adults = ma.fields.Integer(attribute="booking.adults")
    children = ma.fields.Integer(attribute="booking.children")
    channel = ma.fields.String(attribute="booking.channel")
    special_requests = ma.fields.String(attribute="booking.special_requests", allow_none=True)
    checked_in_at = ma.fields.DateTime(attribute="booking.checked_in_at", allow_none=True)
    checked_out_at = ma.fields.DateTime(attribute="booking.checked_out_at", allow_none=True)


class DeskListSchema(ma.Schema):
    date = ma.fields.Date(metadata={"description": "The hotel's local date the list is for"})
    items = ma.fields.List(ma.fields.Nested(DeskEntrySchema))
    next_cursor = ma.fields.String(allow_none=True)


class DepartureSchema(ma.Schema):
    """What checking the stay out today settles: the balance to confirm, and the nights an early departure gives
    back (tonight is paid; the nights after it are credited)."""

    date = ma.fields.Date(attribute="day", metadata={
        "description": "The hotel's business date: its local date, which ends at the night audit (04:00)"})
    early = ma.fields.Boolean()
    credited_nights = ma.fields.Function(lambda d: [night["night"] for night in d.unstayed_nights])
    check_out = ma.fields.Date(attribute="paid_until", allow_none=True,
                               metadata={"description": "The stay's new check-out date if it ends early"})
    balance = ma.fields.Integer(metadata={"description": "The balance to confirm at checkout, minor units"})


class DeskStaySchema(DeskEntrySchema):
    """One booking as the desk works on it: the list's fields, the folio, and what checking out now settles."""

    currency = ma.fields.String(attribute="booking.currency")
    cancellation_fee = ma.fields.Integer(attribute="booking.cancellation_fee")
    folio = ma.fields.Nested(FolioSchema)
    departure = ma.fields.Nested(DepartureSchema, allow_none=True,
                                 metadata={"description": "Only while the guest is in the house"})


class DeskCheckInSchema(StrictSchema):
    room_id = id_field(load_default=None, metadata={"description": "The room to give; the best fit if absent"})


class BookingQueryArgsSchema(CursorArgsSchema):
    class Meta:
        unknown = ma.RAISE


class ModifyBookingSchema(StrictSchema):
    check_in = ma.fields.Date(required=True)
    check_out = ma.fields.Date(required=True)

    @ma.validates_schema
    def dates(self, data: dict[str, Any], **_: Any) -> None:
        _check_dates(data)


class CheckoutSchema(StrictSchema):
    confirmed_balance = ma.fields.Integer(required=True, validate=ma.validate.Range(-MAX_MONEY, MAX_MONEY),
                                          metadata={"description": "The folio balance the guest reviewed"})


class CheckoutResultSchema(ma.Schema):
    stay = ma.fields.Nested(StaySchema)
    balance = ma.fields.Integer()
    points_earned = ma.fields.Integer()
    survey_url = ma.fields.Function(lambda r: f"/api/v1/stays/{r.stay.id}/survey")


class QuestionSchema(ma.Schema):
    id = ma.fields.String()
    kind = ma.fields.String(metadata={"enum": ["score", "nps", "text"]})
    text = Localised()
    part = ma.fields.String(metadata={"enum": ["short", "long"]})
    minimum = ma.fields.Integer(allow_none=True)
    maximum = ma.fields.Integer(allow_none=True)


class SurveySchema(ma.Schema):
    booking_id = ma.fields.Integer()
    submitted = ma.fields.Boolean()
    questions = ma.fields.List(ma.fields.Nested(QuestionSchema))
    answers = ma.fields.Dict(allow_none=True)


class SurveyAnswersSchema(StrictSchema):
    answers = ma.fields.Dict(keys=ma.fields.String(validate=ma.validate.Length(1, 40)), required=True,
                             validate=ma.validate.Length(max=20), metadata={"description": "{question id: answer}"})


# -- administration ------------------------------------------------------------------------------------------------

class PricingPolicySchema(StrictSchema):
    direct_discount_bp = ma.fields.Integer(required=True, validate=BASIS_POINTS)
    max_discount_bp = ma.fields.Integer(required=True, validate=BASIS_POINTS)
    tax_bp = ma.fields.Integer(load_default=0, validate=BASIS_POINTS)
    tax_name = LocalisedText(allow_none=True)
    free_cancellation_hours = ma.fields.Integer(load_default=48, validate=ma.validate.Range(0, 24 * 60))
    late_cancellation_fee_nights = ma.fields.Integer(load_default=1, validate=ma.validate.Range(0, 30))


class RatePlanCreateSchema(StrictSchema):
    room_type_id = id_field(required=True)
    code = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^[a-z0-9][a-z0-9_-]{0,39}$"))
    name = LocalisedText(required=True)
    base_price = ma.fields.Integer(required=True, validate=ma.validate.Range(0, MAX_MONEY))
    season_adjustments_bp = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.OneOf([kind.value for kind in SeasonKind])),
        values=ma.fields.Integer(validate=ma.validate.Range(0, 100000)), load_default=dict,
        metadata={"description": "{season: basis points of the base price}, e.g. {\"high\": 13000}"})
    includes_breakfast = ma.fields.Boolean(load_default=False)


class RatePlanSchema(ma.Schema):
    id = ma.fields.Integer()
    hotel_id = ma.fields.Integer()
    room_type_id = ma.fields.Integer()
    code = ma.fields.String()
    name = Localised()
    base_price = ma.fields.Integer()
    season_adjustments_bp = ma.fields.Dict()
    includes_breakfast = ma.fields.Boolean()


class PromoCodeCreateSchema(StrictSchema):
    code = ma.fields.String(required=True, validate=PROMO_CODE)
    hotel_id = id_field(allow_none=True, load_default=None, metadata={"description": "null: chain-wide"})
    discount_bp = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 10000))
    description = LocalisedText(allow_none=True)
    valid_from = ma.fields.Date(allow_none=True)
    valid_until = ma.fields.Date(allow_none=True)
    members_only = ma.fields.Boolean(load_default=False)
    max_redemptions = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(1, 10**9))

    @ma.validates_schema
    def window(self, data: dict[str, Any], **_: Any) -> None:
        start, end = data.get("valid_from"), data.get("valid_until")
        if isinstance(start, date) and isinstance(end, date) and end < start:
            raise ma.ValidationError("Must not be before valid_from.", field_name="valid_until")


class PromoCodeSchema(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    hotel_id = ma.fields.Integer(allow_none=True)
    discount_bp = ma.fields.Integer()
    valid_from = ma.fields.Date(allow_none=True)
    valid_until = ma.fields.Date(allow_none=True)
    members_only = ma.fields.Boolean()
    max_redemptions = ma.fields.Integer(allow_none=True)
    redemptions = ma.fields.Integer()


class RoomStateSchema(StrictSchema):
    state = ma.fields.String(required=True, validate=ma.validate.OneOf([state.value for state in RoomState]))
