"""Shapes of the catalogue, requests, actions, the queue, SLA targets, alerts, messages, statistics, summary."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma

from app.core import clock
from app.core.pagination import CursorArgsSchema
from app.core.schemas import Localised, LocalisedText, StrictSchema, id_field
from app.guests.schemas import GuestCardSchema
from app.hotels.models import DepartmentKind
from app.hotels.schemas import CLOCK_TIME, SLUG
from app.requests.models import RequestStatus, RequestType

TYPES = [kind.value for kind in RequestType]
STATUSES = [status.value for status in RequestStatus]
MAX_PRICE = 100_000_000  # minor units per item: a million roubles is not room service


class UtcDateTime(ma.fields.AwareDateTime):
    """An ISO 8601 time with an offset, loaded as UTC."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        return super()._deserialize(value, attr, data, **kwargs).astimezone(UTC)


# -- catalogue -----------------------------------------------------------------------------------------------------

class CatalogItemSchema(ma.Schema):
    """An item as guests see it, in their language; prices in minor units of the hotel's currency."""

    id = ma.fields.Integer()
    type = ma.fields.String(metadata={"enum": TYPES})
    code = ma.fields.String()
    name = Localised()
    description = Localised(allow_none=True)
    price = ma.fields.Integer()
    express_price = ma.fields.Integer(allow_none=True)
    available_from = ma.fields.String(allow_none=True, metadata={"description": "Hotel-local HH:MM"})
    available_until = ma.fields.String(allow_none=True)


class CatalogItemAdminSchema(CatalogItemSchema):
    name = ma.fields.Dict(metadata={"description": "{lang: text}"})
    description = ma.fields.Dict(allow_none=True)
    sort_order = ma.fields.Integer()
    is_active = ma.fields.Boolean()


class CatalogItemUpdateSchema(StrictSchema):
    code = ma.fields.String(validate=SLUG)
    name = LocalisedText()
    description = LocalisedText(max_length=1000, allow_none=True)
    price = ma.fields.Integer(validate=ma.validate.Range(0, MAX_PRICE))
    express_price = ma.fields.Integer(validate=ma.validate.Range(0, MAX_PRICE), allow_none=True,
                                      metadata={"description": "Laundry: the price with the express option"})
    available_from = ma.fields.String(validate=CLOCK_TIME, allow_none=True)
    available_until = ma.fields.String(validate=CLOCK_TIME, allow_none=True)
    sort_order = ma.fields.Integer(validate=ma.validate.Range(0, 10_000))
    is_active = ma.fields.Boolean()

    @ma.validates_schema
    def hours_together(self, data: dict[str, Any], **_: Any) -> None:
        if ("available_from" in data or "available_until" in data) and \
                bool(data.get("available_from")) != bool(data.get("available_until")):
            raise ma.ValidationError("Give both ends of the serving hours, or neither.", "available_until")


class CatalogItemCreateSchema(CatalogItemUpdateSchema):
    type = ma.fields.String(required=True, validate=ma.validate.OneOf(TYPES))
    code = ma.fields.String(required=True, validate=SLUG)
    name = LocalisedText(required=True)
    price = ma.fields.Integer(load_default=0, validate=ma.validate.Range(0, MAX_PRICE))


class CatalogQueryArgsSchema(StrictSchema):
    type = ma.fields.String(validate=ma.validate.OneOf(TYPES))


# -- requests ------------------------------------------------------------------------------------------------------

class RequestLineSchema(StrictSchema):
    item_id = id_field(required=True)
    quantity = ma.fields.Integer(load_default=1, validate=ma.validate.Range(1, 50))


# Per type: the fields it needs and the fields it may have (besides stay_id and type).
TYPE_FIELDS = {
    "room_service": ({"items"}, {"items", "notes", "deliver_at"}),
    "laundry": ({"items"}, {"items", "notes", "pickup_at", "express"}),
    "repair": ({"category_id", "description"}, {"category_id", "description", "location"}),
    "housekeeping": ({"items"}, {"items", "notes"}),
}


class RequestFieldsSchema(StrictSchema):
    """A request of any type; which fields apply depends on `type` (see the descriptions)."""

    type = ma.fields.String(required=True, validate=ma.validate.OneOf(TYPES))
    items = ma.fields.List(ma.fields.Nested(RequestLineSchema), validate=ma.validate.Length(1, 30), metadata={
        "description": "room_service, laundry, housekeeping: catalogue items of that type and quantities"})
    notes = ma.fields.String(validate=ma.validate.Length(1, 500))
    deliver_at = UtcDateTime(metadata={"description": "room_service: at a time; left out: as soon as possible"})
    pickup_at = UtcDateTime(metadata={"description": "laundry: when to collect; left out: now"})
    express = ma.fields.Boolean(metadata={"description": "laundry: express service (express prices)"})
    category_id = id_field(metadata={"description": "repair: a repair category of the catalogue"})
    description = ma.fields.String(validate=ma.validate.Length(1, 1000), metadata={"description": "repair"})
    location = ma.fields.String(validate=ma.validate.Length(1, 200),
                                metadata={"description": "repair: where in the room (bathroom, balcony...)"})

    @ma.validates_schema
    def fields_of_type(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("type") not in TYPE_FIELDS:
            return
        needed, allowed = TYPE_FIELDS[data["type"]]
        given = set(data) - {"type", "stay_id"}
        errors = {name: ["Required for this type."] for name in needed - given}
        errors.update({name: [f"Not used by {data['type']} requests."] for name in given - allowed})
        if errors:
            raise ma.ValidationError(errors)


class RequestCreateSchema(RequestFieldsSchema):
    stay_id = id_field(required=True, metadata={"description": "The stay in progress; the room is the stay's"})


class TransitionSchema(ma.Schema):
    action = ma.fields.String()
    from_status = ma.fields.String(allow_none=True)
    to_status = ma.fields.String()
    actor_kind = ma.fields.String()
    actor_id = ma.fields.Integer(allow_none=True)
    note = ma.fields.String(allow_none=True)
    at = ma.fields.DateTime()


class GuestRequestSchema(ma.Schema):
    """A request as its guest follows it."""

    id = ma.fields.Integer()
    stay_id = ma.fields.Integer(attribute="booking_id")
    hotel_id = ma.fields.Integer()
    room_number = ma.fields.String()
    type = ma.fields.String(metadata={"enum": TYPES})
    status = ma.fields.String(metadata={"enum": STATUSES})
    details = ma.fields.Dict()
    total_amount = ma.fields.Integer(metadata={"description": "Charged to the folio on delivery; minor units"})
    currency = ma.fields.String()
    waiting_dnd = ma.fields.Boolean(metadata={"description": "Housekeeping waits while do-not-disturb is on"})
    hold_reason = ma.fields.String(allow_none=True)
    reject_reason = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    acknowledged_at = ma.fields.DateTime(allow_none=True)
    started_at = ma.fields.DateTime(allow_none=True)
    completed_at = ma.fields.DateTime(allow_none=True)
    closed_at = ma.fields.DateTime(allow_none=True)
    rating = ma.fields.Integer(allow_none=True)
    rating_comment = ma.fields.String(allow_none=True)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def dump_guest_request(request: Any) -> dict[str, Any]:
    """Exactly what `GuestRequestSchema().dump(request)` returns, written out by hand for the guest's most frequent
    write (POST /requests). The schema stays the documented contract; tests/requests check both give one document."""
    return {
        "id": request.id, "stay_id": request.booking_id, "hotel_id": request.hotel_id,
        "room_number": request.room_number, "type": request.type, "status": request.status,
        "details": request.details, "total_amount": request.total_amount, "currency": request.currency,
        "waiting_dnd": request.waiting_dnd, "hold_reason": request.hold_reason,
        "reject_reason": request.reject_reason, "created_at": _iso(request.created_at),
        "acknowledged_at": _iso(request.acknowledged_at), "started_at": _iso(request.started_at),
        "completed_at": _iso(request.completed_at), "closed_at": _iso(request.closed_at), "rating": request.rating,
        "rating_comment": request.rating_comment,
    }


class StaffRequestSchema(GuestRequestSchema):
    """A request as the queue shows it, with its SLA clock."""

    details = ma.fields.Dict(attribute="details_for_staff", metadata={
        "description": "For a room preparation, the guest's allergies and notes too (stored encrypted)"})
    guest_id = ma.fields.Integer()
    department = ma.fields.String()
    created_by_kind = ma.fields.String()
    created_by_staff_id = ma.fields.Integer(allow_none=True)
    assigned_to_staff_id = ma.fields.Integer(allow_none=True)
    source_message_id = ma.fields.Integer(allow_none=True)
    acknowledge_due_at = ma.fields.DateTime()
    complete_due_at = ma.fields.DateTime()
    due_at = ma.fields.DateTime(metadata={"description": "Deadline of the current stage (acknowledge, then complete)"})
    seconds_left = ma.fields.Function(lambda r: r.seconds_left(clock.now()),
                                      metadata={"description": "Negative when overdue; frozen while paused"})
    overdue = ma.fields.Function(lambda r: r.overdue(clock.now()))
    is_paused = ma.fields.Boolean()
    paused_seconds = ma.fields.Integer()
    sla_breached = ma.fields.Boolean()
    escalation_level = ma.fields.Integer(metadata={"description": "0 none, 1 department, 2 hotel manager"})


class StaffRequestDetailSchema(StaffRequestSchema):
    transitions = ma.fields.List(ma.fields.Nested(TransitionSchema))


class RequestListArgsSchema(CursorArgsSchema):
    class Meta:
        unknown = ma.RAISE

    stay_id = id_field(strict=False)


class AssignSchema(StrictSchema):
    staff_id = id_field(metadata={"description": "Left out: myself"})


class ReasonSchema(StrictSchema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(1, 300))


class RateSchema(StrictSchema):
    rating = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(1, 5))
    comment = ma.fields.String(validate=ma.validate.Length(1, 1000))


class BulkSchema(StrictSchema):
    action = ma.fields.String(required=True, validate=ma.validate.OneOf(["acknowledge", "assign", "close"]),
                              metadata={"description": "close completes the request (posting its charge)"})
    ids = ma.fields.List(id_field(), required=True, validate=ma.validate.Length(1, 100))
    staff_id = id_field(metadata={"description": "assign: to whom (left out: myself)"})


class BulkItemSchema(ma.Schema):
    id = ma.fields.Integer()
    ok = ma.fields.Boolean()
    status = ma.fields.String()
    code = ma.fields.String()
    detail = ma.fields.String()


class BulkResultSchema(ma.Schema):
    results = ma.fields.List(ma.fields.Nested(BulkItemSchema))


# -- queue, stream, statistics ---------------------------------------------------------------------------------------

class QueueArgsSchema(CursorArgsSchema):
    class Meta:
        unknown = ma.RAISE

    hotel_id = id_field(strict=False, metadata={"description": "Left out: all my hotels"})
    department = ma.fields.String(validate=ma.validate.OneOf([kind.value for kind in DepartmentKind]))
    type = ma.fields.String(validate=ma.validate.OneOf(TYPES))
    status = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(STATUSES)),
                            validate=ma.validate.Length(max=len(STATUSES)),
                            metadata={"description": "Repeat for several; left out: the open statuses"})
    room = ma.fields.String(validate=ma.validate.Length(1, 20))
    overdue = ma.fields.Boolean()


class StreamArgsSchema(StrictSchema):
    hotel_id = id_field(strict=False, metadata={"description": "Left out: all my hotels"})
    last_event_id = ma.fields.Integer(validate=ma.validate.Range(0, 2**63 - 1), metadata={
        "description": "Resume after this event (the Last-Event-ID header does the same and wins)"})
    max_events = ma.fields.Integer(validate=ma.validate.Range(1, 10_000),
                                   metadata={"description": "Close the stream after this many events"})
    timeout = ma.fields.Float(validate=ma.validate.Range(0, 3600),
                              metadata={"description": "Close after this many seconds (capped by the server)"})


class TimeStatsSchema(ma.Schema):
    median_seconds = ma.fields.Float(allow_none=True)
    p90_seconds = ma.fields.Float(allow_none=True)


class _Summary(ma.Schema):
    count = ma.fields.Integer()
    completed = ma.fields.Integer()
    time_to_acknowledge = ma.fields.Nested(TimeStatsSchema)
    time_to_complete = ma.fields.Nested(TimeStatsSchema)
    sla_breached = ma.fields.Integer()
    sla_breach_rate = ma.fields.Float(allow_none=True)


class DepartmentStatsSchema(_Summary):
    department = ma.fields.String()


class StaffStatsSchema(_Summary):
    staff_id = ma.fields.Integer()


class DayStatsSchema(_Summary):
    day = ma.fields.String()


class StatsSchema(_Summary):
    date_from = ma.fields.Date()
    date_to = ma.fields.Date()
    by_type = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    by_status = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    by_department = ma.fields.List(ma.fields.Nested(DepartmentStatsSchema))
    by_staff = ma.fields.List(ma.fields.Nested(StaffStatsSchema))
    by_day = ma.fields.List(ma.fields.Nested(DayStatsSchema))


class StatsArgsSchema(StrictSchema):
    hotel_id = id_field(strict=False, metadata={"description": "Left out: all my hotels"})
    date_from = ma.fields.Date(required=True, metadata={"description": "UTC day of creation, inclusive"})
    date_to = ma.fields.Date(required=True, metadata={"description": "Inclusive; at most 92 days"})


# -- SLA, alerts, service recovery ---------------------------------------------------------------------------------

class SlaTargetSchema(StrictSchema):
    request_type = ma.fields.String(required=True, validate=ma.validate.OneOf(TYPES))
    acknowledge_minutes = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 7 * 24 * 60))
    complete_minutes = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 30 * 24 * 60))
    manager_after_minutes = ma.fields.Integer(required=True, validate=ma.validate.Range(0, 7 * 24 * 60),
                                              metadata={"description": "Overdue this long: to the hotel manager"})
    is_default = ma.fields.Boolean(dump_only=True)


class SlaTargetsSchema(StrictSchema):
    targets = ma.fields.List(ma.fields.Nested(SlaTargetSchema), required=True,
                             validate=ma.validate.Length(max=len(TYPES)))

    @ma.validates("targets")
    def types_unique(self, targets: list[dict[str, Any]], **_: Any) -> None:
        kinds = [target["request_type"] for target in targets]
        if len(kinds) != len(set(kinds)):
            raise ma.ValidationError("Each request type may appear once.")


class AlertSchema(ma.Schema):
    id = ma.fields.Integer()
    hotel_id = ma.fields.Integer()
    request_id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"enum": ["new_request", "escalation", "service_recovery"]})
    audience = ma.fields.String(metadata={"description": "A department, or hotel_manager"})
    level = ma.fields.Integer()
    deliveries = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    next_at = ma.fields.DateTime()
    acknowledged_at = ma.fields.DateTime(allow_none=True)


class AlertArgsSchema(StrictSchema):
    hotel_id = id_field(strict=False)


class RecoverySchema(ma.Schema):
    id = ma.fields.Integer()
    hotel_id = ma.fields.Integer()
    request_id = ma.fields.Integer()
    guest_id = ma.fields.Integer()
    rating = ma.fields.Integer()
    comment = ma.fields.String(allow_none=True)
    status = ma.fields.String(metadata={"enum": ["open", "resolved"]})
    resolution = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    resolved_at = ma.fields.DateTime(allow_none=True)


class RecoveryArgsSchema(StrictSchema):
    hotel_id = id_field(strict=False, required=True)
    status = ma.fields.String(validate=ma.validate.OneOf(["open", "resolved"]))


class ResolveSchema(StrictSchema):
    resolution = ma.fields.String(required=True, validate=ma.validate.Length(1, 1000))


# -- messages and the guest summary --------------------------------------------------------------------------------

class MessageSchema(ma.Schema):
    id = ma.fields.Integer()
    stay_id = ma.fields.Integer(attribute="booking_id")
    author_kind = ma.fields.String(metadata={"enum": ["guest", "staff"]})
    author_staff_id = ma.fields.Integer(allow_none=True)
    body = ma.fields.String()
    request_id = ma.fields.Integer(allow_none=True, metadata={"description": "The request made from it"})
    created_at = ma.fields.DateTime()


class MessageCreateSchema(StrictSchema):
    body = ma.fields.String(required=True, validate=ma.validate.Length(1, 2000))


class SummaryStaySchema(ma.Schema):
    id = ma.fields.Integer()
    hotel_id = ma.fields.Integer()
    room_id = ma.fields.Integer(allow_none=True)
    room_number = ma.fields.String(allow_none=True)
    room_state = ma.fields.String()
    check_in = ma.fields.Date()
    check_out = ma.fields.Date()
    status = ma.fields.String()


class TimelineEntrySchema(ma.Schema):
    at = ma.fields.DateTime()
    kind = ma.fields.String(metadata={"enum": ["booking", "request", "rating", "message"]})
    id = ma.fields.Integer()
    hotel_id = ma.fields.Integer()
    text = ma.fields.String()


class GuestSummarySchema(ma.Schema):
    guest = ma.fields.Nested(GuestCardSchema)
    loyalty_tier = ma.fields.String(allow_none=True, metadata={"description": "The club tier; null: not a member"})
    current_stay = ma.fields.Nested(SummaryStaySchema, allow_none=True)
    recent_requests = ma.fields.List(ma.fields.Nested(StaffRequestSchema))
    timeline = ma.fields.List(ma.fields.Nested(TimelineEntrySchema))
