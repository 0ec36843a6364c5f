"""Shapes of bookings, stays and folios."""

from __future__ import annotations

import marshmallow as ma

from app.bookings.models import BookingStatus, ChargeKind, RoomState
from app.core.schemas import Localised, StrictSchema


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


class RoomStateSchema(StrictSchema):
    state = ma.fields.String(required=True, validate=ma.validate.OneOf([state.value for state in RoomState]))
