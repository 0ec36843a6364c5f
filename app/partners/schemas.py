"""Shapes of experiences, slots and bookings (guests), of the partner API, and of partner administration."""

from __future__ import annotations

from datetime import UTC, date, timedelta
from typing import Any

import marshmallow as ma

from app.core.pagination import CursorArgsSchema
from app.core.schemas import Localised, LocalisedText, StrictSchema, id_field
from app.partners.models import (
    DeliveryStatus,
    ExperienceBookingStatus,
    PartnerKind,
    PaymentMethod,
    SlotStatus,
)
from app.partners.services.bookings import confirmation_deadline
from app.partners.services.interests import INTERESTS

CURRENCY = ma.validate.Regexp(r"^[A-Z]{3}$", error="Use an ISO 4217 code such as RUB.")
LANGUAGE_CODE = ma.validate.Regexp(r"^[a-z]{2}$", error="Use an ISO 639-1 code such as en.")
MAX_AMOUNT = 10**12  # minor units; far above any excursion, far below any overflow
MAX_PARTY = 50


class UTCAwareDateTime(ma.fields.AwareDateTime):
    """An ISO 8601 date-time with its offset (a naive one is refused), converted to UTC."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        return super()._deserialize(value, attr, data, **kwargs).astimezone(UTC)


class Month(ma.fields.String):
    """A calendar month as "YYYY-MM"; loads as the first day of the month."""

    default_error_messages = {"invalid_month": "Use YYYY-MM (for example 2026-07)."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        text = super()._deserialize(value, attr, data, **kwargs)
        year, sep, month = text.partition("-")
        if not (sep and len(year) == 4 and len(month) == 2 and year.isdigit() and month.isdigit()):
            raise self.make_error("invalid_month")
        if not (2000 <= int(year) <= 2999 and 1 <= int(month) <= 12):
            raise self.make_error("invalid_month")
        return date(int(year), int(month), 1)


class StrictQuery(CursorArgsSchema):
    """Cursor arguments plus filters; an unknown query argument is an error."""

    class Meta:
        unknown = ma.RAISE


# -- guests: experiences and slots -------------------------------------------------------------------------------

class ExperienceSchema(ma.Schema):
    id = ma.fields.Integer()
    partner_id = ma.fields.Integer()
    partner_name = ma.fields.Function(lambda o: o.partner.name)
    kind = ma.fields.Function(lambda o: o.partner.kind, metadata={"enum": [k.value for k in PartnerKind]})
    title = Localised()
    description = Localised(allow_none=True)
    meeting_point = Localised(allow_none=True)
    price = ma.fields.Integer(metadata={"description": "Per person, minor units of `currency`"})
    currency = ma.fields.String()
    duration_minutes = ma.fields.Integer()
    languages = ma.fields.List(ma.fields.String())
    tags = ma.fields.List(ma.fields.String())
    min_age = ma.fields.Integer(allow_none=True)
    max_age = ma.fields.Integer(allow_none=True)
    max_party_size = ma.fields.Integer()
    free_cancellation_hours = ma.fields.Integer(
        metadata={"description": "Free cancellation until this many hours before the start; later, none"})
    recommended = ma.fields.Boolean(metadata={"description": "Matches the guest's interests (browse only)"})


class ExperienceQueryArgsSchema(StrictQuery):
    on = ma.fields.Date(data_key="date", metadata={"description": "A day (hotel time) with places left"})
    language = ma.fields.String(validate=LANGUAGE_CODE)
    min_price = ma.fields.Integer(validate=ma.validate.Range(0, MAX_AMOUNT))
    max_price = ma.fields.Integer(validate=ma.validate.Range(0, MAX_AMOUNT))
    kind = ma.fields.String(validate=ma.validate.OneOf([k.value for k in PartnerKind]))
    recommended = ma.fields.Boolean(load_default=False,
                                    metadata={"description": "Only experiences matching my interests"})


class SlotSchema(ma.Schema):
    id = ma.fields.Integer()
    offering_id = ma.fields.Integer()
    starts_at = ma.fields.DateTime()
    available = ma.fields.Integer(metadata={"description": "Places left"})


class SlotQueryArgsSchema(StrictQuery):
    starts_from = UTCAwareDateTime(data_key="from", metadata={"description": "Slots starting after this time"})


# -- guests: bookings --------------------------------------------------------------------------------------------

class ExperienceBookingCreateSchema(StrictSchema):
    hotel_id = id_field(required=True, metadata={"description": "The hotel the guest books through"})
    slot_id = id_field(required=True)
    party_size = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(1, MAX_PARTY))
    language = ma.fields.String(required=True, validate=LANGUAGE_CODE)
    payment = ma.fields.String(required=True, validate=ma.validate.OneOf([p.value for p in PaymentMethod]))
    share_contact = ma.fields.Boolean(load_default=False,
                                      metadata={"description": "Give the partner my phone and email"})
    participant_ages = ma.fields.List(ma.fields.Integer(strict=True, validate=ma.validate.Range(0, 120)),
                                      validate=ma.validate.Length(1, MAX_PARTY),
                                      metadata={"description": "Checked against the age limits; not stored"})


class ExperienceBookingSchema(ma.Schema):
    id = ma.fields.Integer()
    hotel_id = ma.fields.Integer()
    offering_id = ma.fields.Integer()
    title = Localised(attribute="offering.title")
    slot_id = ma.fields.Integer()
    starts_at = ma.fields.DateTime()
    party_size = ma.fields.Integer()
    language = ma.fields.String()
    status = ma.fields.String(metadata={"enum": [s.value for s in ExperienceBookingStatus]})
    payment = ma.fields.String(metadata={"enum": [p.value for p in PaymentMethod]})
    stay_id = ma.fields.Integer(allow_none=True)
    currency = ma.fields.String()
    unit_price = ma.fields.Integer()
    total_amount = ma.fields.Integer()
    refunded_amount = ma.fields.Integer()
    share_contact = ma.fields.Boolean()
    voucher_code = ma.fields.String(metadata={"description": "Show it to the partner"})
    redeemed_at = ma.fields.DateTime(allow_none=True)
    free_cancellation_until = ma.fields.Function(
        lambda b: (b.starts_at - timedelta(hours=b.offering.free_cancellation_hours)).isoformat())
    cancelled_at = ma.fields.DateTime(allow_none=True)
    confirmed_at = ma.fields.DateTime(allow_none=True)
    declined_at = ma.fields.DateTime(allow_none=True)
    confirm_by = ma.fields.Function(
        lambda b: confirmation_deadline(b).isoformat() if b.status == ExperienceBookingStatus.PENDING else None,
        allow_none=True, metadata={"description": "Pending: the partner answers by then, or the booking is "
                                                  "declined for it and a room charge credited back"})
    created_at = ma.fields.DateTime()


# -- partner API -------------------------------------------------------------------------------------------------

class PartnerBookingSchema(ma.Schema):
    """What a partner sees of a booking: no profile, a contact only if the guest agreed."""

    id = ma.fields.Integer()
    offering_id = ma.fields.Integer()
    slot_id = ma.fields.Integer()
    starts_at = ma.fields.DateTime()
    lead_name = ma.fields.String()
    party_size = ma.fields.Integer()
    language = ma.fields.String()
    contact = ma.fields.Function(
        lambda b: {"phone": b.contact_phone, "email": b.contact_email} if b.share_contact else None, allow_none=True)
    status = ma.fields.String(metadata={"enum": [s.value for s in ExperienceBookingStatus]})
    payment = ma.fields.String(metadata={"enum": [p.value for p in PaymentMethod]})
    total_amount = ma.fields.Integer()
    currency = ma.fields.String()
    commission_amount = ma.fields.Integer()
    redeemed_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()


class VoucherSchema(PartnerBookingSchema):
    voucher_state = ma.fields.Function(
        lambda b: "redeemed" if b.redeemed_at else ("valid" if b.status in ("pending", "confirmed") else "void"),
        metadata={"enum": ["valid", "redeemed", "void"]})


class PartnerBookingQueryArgsSchema(StrictQuery):
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in ExperienceBookingStatus]))


class DeclineSchema(StrictSchema):
    reason = ma.fields.String(validate=ma.validate.Length(1, 500), allow_none=True)


class PartnerSlotSchema(SlotSchema):
    capacity = ma.fields.Integer()
    booked = ma.fields.Integer()
    status = ma.fields.String(metadata={"enum": [s.value for s in SlotStatus]})


class PartnerSlotQueryArgsSchema(StrictQuery):
    offering_id = id_field(strict=False)
    starts_from = UTCAwareDateTime(data_key="from")


class SlotCreateSchema(StrictSchema):
    offering_id = id_field(required=True)
    starts_at = UTCAwareDateTime(required=True)
    capacity = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(1, 10000))


class SlotUpdateSchema(StrictSchema):
    capacity = ma.fields.Integer(strict=True, validate=ma.validate.Range(0, 10000))
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in SlotStatus]))

    @ma.validates_schema
    def not_empty(self, data: dict, **_: Any) -> None:
        if not data:
            raise ma.ValidationError("Give capacity and/or status.", "_schema")


class WebhookEndpointCreateSchema(StrictSchema):
    url = ma.fields.URL(required=True, schemes={"http", "https"}, require_tld=False,
                        validate=ma.validate.Length(max=500))


class WebhookEndpointSchema(ma.Schema):
    id = ma.fields.Integer()
    url = ma.fields.String()
    is_active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()


class WebhookEndpointWithSecretSchema(WebhookEndpointSchema):
    secret = ma.fields.String(metadata={"description": "whsec_...: shown this once; verify signatures with it"})


class WebhookAttemptSchema(ma.Schema):
    attempted_at = ma.fields.DateTime()
    status_code = ma.fields.Integer(allow_none=True)
    error = ma.fields.String(allow_none=True)


class WebhookDeliverySchema(ma.Schema):
    id = ma.fields.Integer()
    endpoint_id = ma.fields.Integer()
    msg_id = ma.fields.String(attribute="message.msg_id", metadata={"description": "The webhook-id header"})
    event_type = ma.fields.String(attribute="message.event_type")
    status = ma.fields.String(metadata={"enum": [s.value for s in DeliveryStatus]})
    attempts = ma.fields.Integer()
    next_attempt_at = ma.fields.DateTime()
    last_status_code = ma.fields.Integer(allow_none=True)
    last_error = ma.fields.String(allow_none=True)
    delivered_at = ma.fields.DateTime(allow_none=True)
    log = ma.fields.List(ma.fields.Nested(WebhookAttemptSchema))


class DeliveryQueryArgsSchema(StrictQuery):
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in DeliveryStatus]))


class StatementQueryArgsSchema(StrictSchema):
    month = Month(required=True, metadata={"example": "2026-07"})


class StatementLineSchema(ma.Schema):
    booking_id = ma.fields.Integer(attribute="id")
    offering_id = ma.fields.Integer()
    starts_at = ma.fields.DateTime()
    party_size = ma.fields.Integer()
    payment = ma.fields.String()
    total_amount = ma.fields.Integer()
    commission_bp = ma.fields.Integer()
    commission_amount = ma.fields.Integer()


class StatementSchema(ma.Schema):
    partner_id = ma.fields.Integer()
    month = ma.fields.String()
    currency = ma.fields.String()
    bookings = ma.fields.Integer()
    places = ma.fields.Integer()
    gross = ma.fields.Integer()
    commission = ma.fields.Integer()
    net_to_partner = ma.fields.Integer()
    collected_by_hotel = ma.fields.Integer()
    collected_by_partner = ma.fields.Integer()
    payable_to_partner = ma.fields.Integer(
        metadata={"description": "Hotel pays the partner this (collected_by_hotel - commission); negative: owed"})
    lines = ma.fields.List(ma.fields.Nested(StatementLineSchema))


# -- administration ----------------------------------------------------------------------------------------------

class PartnerCreateSchema(StrictSchema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf([k.value for k in PartnerKind]))
    city = ma.fields.String(validate=ma.validate.Length(1, 100), allow_none=True)
    currency = ma.fields.String(required=True, validate=CURRENCY)
    commission_bp = ma.fields.Integer(strict=True, validate=ma.validate.Range(0, 10000), load_default=1500,
                                      metadata={"description": "Hotel's commission, basis points of the price"})
    contact_email = ma.fields.Email(allow_none=True, validate=ma.validate.Length(max=254))
    hotel_ids = ma.fields.List(id_field(), load_default=list, validate=ma.validate.Length(max=100))


class PartnerUpdateSchema(StrictSchema):
    name = ma.fields.String(validate=ma.validate.Length(1, 200))
    kind = ma.fields.String(validate=ma.validate.OneOf([k.value for k in PartnerKind]))
    city = ma.fields.String(validate=ma.validate.Length(1, 100), allow_none=True)
    commission_bp = ma.fields.Integer(strict=True, validate=ma.validate.Range(0, 10000))
    contact_email = ma.fields.Email(allow_none=True, validate=ma.validate.Length(max=254))
    hotel_ids = ma.fields.List(id_field(), validate=ma.validate.Length(max=100))
    is_active = ma.fields.Boolean()


class PartnerAdminSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    kind = ma.fields.String()
    city = ma.fields.String(allow_none=True)
    currency = ma.fields.String()
    commission_bp = ma.fields.Integer()
    contact_email = ma.fields.String(allow_none=True)
    hotel_ids = ma.fields.List(ma.fields.Integer())
    is_active = ma.fields.Boolean()


class ApiKeyCreateSchema(StrictSchema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 100))


class IssuedKeySchema(ma.Schema):
    name = ma.fields.String()
    prefix = ma.fields.String()
    partner_id = ma.fields.Integer()
    api_key = ma.fields.String(metadata={"description": "Shown this once; send it as X-API-Key"})


def _offering_fields(required: bool) -> dict[str, ma.fields.Field]:
    return {
        "title": LocalisedText(required=required),
        "description": LocalisedText(max_length=4000, allow_none=True),
        "meeting_point": LocalisedText(max_length=300, allow_none=True),
        "price": ma.fields.Integer(required=required, strict=True, validate=ma.validate.Range(0, MAX_AMOUNT)),
        "duration_minutes": ma.fields.Integer(required=required, strict=True, validate=ma.validate.Range(1, 10080)),
        "languages": ma.fields.List(ma.fields.String(validate=LANGUAGE_CODE), required=required,
                                    validate=ma.validate.Length(1, 10)),
        "tags": ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(INTERESTS)),
                               validate=ma.validate.Length(max=10)),
        "min_age": ma.fields.Integer(strict=True, allow_none=True, validate=ma.validate.Range(0, 120)),
        "max_age": ma.fields.Integer(strict=True, allow_none=True, validate=ma.validate.Range(0, 120)),
        "max_party_size": ma.fields.Integer(strict=True, validate=ma.validate.Range(1, MAX_PARTY)),
        "free_cancellation_hours": ma.fields.Integer(strict=True, validate=ma.validate.Range(0, 720)),
        "commission_bp": ma.fields.Integer(strict=True, allow_none=True, validate=ma.validate.Range(0, 10000),
                                           metadata={"description": "Overrides the partner's commission"}),
    }


OfferingCreateSchema = StrictSchema.from_dict(_offering_fields(True), name="OfferingCreateSchema")
OfferingUpdateSchema = StrictSchema.from_dict(
    {**_offering_fields(False), "is_active": ma.fields.Boolean()}, name="OfferingUpdateSchema")


class OfferingAdminSchema(ExperienceSchema):
    title = ma.fields.Dict()
    description = ma.fields.Dict(allow_none=True)
    meeting_point = ma.fields.Dict(allow_none=True)
    commission_bp = ma.fields.Integer(allow_none=True)
    effective_commission_bp = ma.fields.Integer()
    is_active = ma.fields.Boolean()
