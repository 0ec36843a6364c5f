"""Shapes of the club: status, ledger, enrolment, redemptions, referral code, goodwill and offers."""

from __future__ import annotations

import marshmallow as ma

from app.core.pagination import CursorArgsSchema
from app.core.schemas import Localised, LocalisedText, StrictSchema, id_field
from app.loyalty.models import EntryKind, OfferKind

MAX_POINTS = 10_000_000


class TierSchema(ma.Schema):
    code = ma.fields.String()
    name = Localised()
    discount_bp = ma.fields.Integer(metadata={"description": "Off room prices, basis points"})
    bonus_bp = ma.fields.Integer(metadata={"description": "Extra points on stays, basis points of the base"})


class ProgressSchema(ma.Schema):
    next_tier = ma.fields.Nested(TierSchema, allow_none=True)
    qualifying_nights = ma.fields.Integer()
    qualifying_points = ma.fields.Integer(metadata={"description": "Base points of eligible spend"})
    nights_needed = ma.fields.Integer()
    points_needed = ma.fields.Integer()
    window_start = ma.fields.DateTime()


class LoyaltyStatusSchema(ma.Schema):
    enrolled = ma.fields.Boolean()
    tier = ma.fields.Nested(TierSchema, allow_none=True)
    tier_since = ma.fields.DateTime(allow_none=True)
    downgrade_due_at = ma.fields.DateTime(allow_none=True, metadata={
        "description": "Set while the member no longer qualifies: the tier drops at this moment unless requalified"})
    balance = ma.fields.Integer()
    expiring_points = ma.fields.Integer(metadata={"description": "Points that lapse soon (default 90 days)"})
    expiring_on = ma.fields.DateTime(allow_none=True, metadata={"description": "When the first of them lapse"})
    progress = ma.fields.Nested(ProgressSchema, allow_none=True)
    referral_code = ma.fields.String(allow_none=True)
    enrolled_at = ma.fields.DateTime(allow_none=True)


class LedgerEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"enum": [kind.value for kind in EntryKind]})
    title = Localised()
    points = ma.fields.Integer(metadata={"description": "Positive for awards, negative for redemptions and expiry"})
    reference = ma.fields.String(allow_none=True)
    hotel_id = ma.fields.Integer(allow_none=True)
    occurred_at = ma.fields.DateTime()
    expires_at = ma.fields.DateTime(allow_none=True)


class LedgerQueryArgsSchema(CursorArgsSchema):
    class Meta:
        unknown = ma.RAISE


class EnrolSchema(StrictSchema):
    referral_code = ma.fields.String(validate=ma.validate.Regexp(r"^[A-Za-z0-9]{4,12}$",
                                                                 error="Use the 8-character code you were given."))


class RedemptionCreateSchema(StrictSchema):
    points = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(1, MAX_POINTS))
    booking_id = id_field(required=True, metadata={"description": "The booking or stay the points pay towards"})


class RedemptionSchema(ma.Schema):
    id = ma.fields.Integer()
    points = ma.fields.Integer()
    reference = ma.fields.String()
    balance = ma.fields.Integer(metadata={"description": "Points left"})
    redeemed_at = ma.fields.DateTime()


class ReferralCodeSchema(ma.Schema):
    referral_code = ma.fields.String()


class GoodwillCreateSchema(StrictSchema):
    guest_id = id_field(required=True)
    points = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(1, MAX_POINTS),
                               metadata={"description": "At most LOYALTY_GOODWILL_MAX_POINTS (default 5000)"})
    reason = ma.fields.String(required=True, validate=ma.validate.Length(3, 500))


class GoodwillSchema(ma.Schema):
    id = ma.fields.Integer()
    guest_id = ma.fields.Integer()
    points = ma.fields.Integer()
    hotel_id = ma.fields.Integer(allow_none=True)
    occurred_at = ma.fields.DateTime()
    expires_at = ma.fields.DateTime()


class OfferSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"enum": [kind.value for kind in OfferKind]})
    title = Localised()
    description = Localised(allow_none=True)
    min_tier = ma.fields.String()
    hotel_id = ma.fields.Integer(allow_none=True)
    valid_from = ma.fields.DateTime(allow_none=True)
    valid_until = ma.fields.DateTime(allow_none=True)


class OfferAdminSchema(OfferSchema):
    title = ma.fields.Dict(metadata={"description": "{lang: text}"})
    description = ma.fields.Dict(allow_none=True, metadata={"description": "{lang: text}"})
    is_active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()


class OfferQueryArgsSchema(CursorArgsSchema):
    class Meta:
        unknown = ma.RAISE

    hotel_id = id_field(strict=False, metadata={"description": "Only chain-wide offers and this hotel's"})


class StaffOfferQueryArgsSchema(CursorArgsSchema):
    class Meta:
        unknown = ma.RAISE


class OfferUpdateSchema(StrictSchema):
    kind = ma.fields.String(validate=ma.validate.OneOf([kind.value for kind in OfferKind]))
    title = LocalisedText()
    description = LocalisedText(max_length=2000, allow_none=True)
    min_tier = ma.fields.String(validate=ma.validate.Length(1, 20), metadata={"description": "A tier code"})
    hotel_id = id_field(allow_none=True, metadata={"description": "None: every hotel of the chain"})
    valid_from = ma.fields.AwareDateTime(allow_none=True)
    valid_until = ma.fields.AwareDateTime(allow_none=True)
    is_active = ma.fields.Boolean()


class OfferCreateSchema(OfferUpdateSchema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf([kind.value for kind in OfferKind]))
    title = LocalisedText(required=True)
