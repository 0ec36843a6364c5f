"""Requests for guests (/requests, /stays/{id}/messages, /hotels/{id}/catalog) and for staff (/staff/...)."""

from flask import jsonify, request
from flask.views import MethodView
from flask_jwt_extended import get_jwt
from flask_smorest import Blueprint

from app.core.auth import (
    GUEST_DATA_ROLES,
    MANAGERS,
    PrincipalKind,
    current_guest_id,
    current_staff,
    guest_required,
    staff_required,
)
from app.core.db import unit_of_work
from app.core.errors import Unprocessable
from app.core.idempotency import idempotent
from app.core.pagination import page_schema
from app.identity.services import still_signed_in
from app.requests import services
from app.requests.schemas import (
    AlertArgsSchema,
    AlertSchema,
    AssignSchema,
    BulkResultSchema,
    BulkSchema,
    CatalogItemAdminSchema,
    CatalogItemCreateSchema,
    CatalogItemSchema,
    CatalogItemUpdateSchema,
    CatalogQueryArgsSchema,
    GuestRequestSchema,
    GuestSummarySchema,
    MessageCreateSchema,
    MessageSchema,
    QueueArgsSchema,
    RateSchema,
    ReasonSchema,
    RecoveryArgsSchema,
    RecoverySchema,
    RequestCreateSchema,
    RequestFieldsSchema,
    RequestListArgsSchema,
    ResolveSchema,
    SlaTargetSchema,
    SlaTargetsSchema,
    StaffRequestDetailSchema,
    StaffRequestSchema,
    StatsArgsSchema,
    StatsSchema,
    StreamArgsSchema,
    dump_guest_request,
)
from app.requests.services.lifecycle import QUEUE_ROLES
from app.requests.stream import event_stream_response, queue_stream

catalog_blp = Blueprint("catalog", __name__, description="Hotels' catalogues of services, in the guest's language")
blp = Blueprint("requests", __name__, description="The guest's in-stay service requests")
messages_blp = Blueprint("stay-messages", __name__, description="The guest's thread with the front desk")
staff_blp = Blueprint("staff-requests", __name__, description="The staff queue: requests, SLA, alerts, statistics")


def _detail(service_request):
    service_request.transitions = services.history(service_request)
    return service_request


# -- guests --------------------------------------------------------------------------------------------------------

@catalog_blp.route("/<int:hotel_id>/catalog")
class HotelCatalog(MethodView):
    @catalog_blp.arguments(CatalogQueryArgsSchema, location="query")
    @catalog_blp.response(200, CatalogItemSchema(many=True))
    def get(self, args: dict, hotel_id: int):
        """List what a hotel offers: room-service menu, laundry, repair categories, housekeeping options."""
        return services.public_catalog(hotel_id=hotel_id, **args)


@blp.route("")
class Requests(MethodView):
    @guest_required
    @blp.arguments(RequestListArgsSchema, location="query")
    @blp.response(200, page_schema(GuestRequestSchema))
    def get(self, args: dict):
        """List my requests, newest first."""
        return services.guest_requests(guest_id=current_guest_id(), **args)

    @guest_required
    @idempotent
    @blp.arguments(RequestCreateSchema)
    @blp.response(201, GuestRequestSchema)
    def post(self, data: dict):
        """Ask for room service, laundry, a repair or housekeeping in the room of my stay in progress."""
        with unit_of_work():
            created = services.create_for_guest(guest_id=current_guest_id(), data=data)
        return jsonify(dump_guest_request(created)), 201


@blp.route("/<int:request_id>")
class RequestById(MethodView):
    @guest_required
    @blp.response(200, GuestRequestSchema)
    def get(self, request_id: int):
        """Show one of my requests as it stands."""
        return services.guest_view(guest_id=current_guest_id(), request_id=request_id)


@blp.route("/<int:request_id>/actions/cancel")
class CancelRequest(MethodView):
    @guest_required
    @blp.response(200, GuestRequestSchema)
    def post(self, request_id: int):
        """Call off my request before work on it starts."""
        with unit_of_work():
            return services.guest_cancel(guest_id=current_guest_id(), request_id=request_id)


@blp.route("/<int:request_id>/actions/rate")
class RateRequest(MethodView):
    @guest_required
    @blp.arguments(RateSchema)
    @blp.response(200, GuestRequestSchema)
    def post(self, data: dict, request_id: int):
        """Rate a done request from 1 to 5, with a comment if I like (once)."""
        with unit_of_work():
            return services.rate(guest_id=current_guest_id(), request_id=request_id, rating=data["rating"],
                                 comment=data.get("comment"))


@messages_blp.route("/<int:stay_id>/messages")
class StayMessages(MethodView):
    @guest_required
    @messages_blp.arguments(RequestListArgsSchema(exclude=("stay_id",)), location="query")
    @messages_blp.response(200, page_schema(MessageSchema))
    def get(self, args: dict, stay_id: int):
        """Read my thread with the front desk for this stay, newest first."""
        return services.guest_thread(guest_id=current_guest_id(), stay_id=stay_id, **args)

    @guest_required
    @idempotent
    @messages_blp.arguments(MessageCreateSchema)
    @messages_blp.response(201, MessageSchema)
    def post(self, data: dict, stay_id: int):
        """Write to the front desk."""
        with unit_of_work():
            return services.guest_post(guest_id=current_guest_id(), stay_id=stay_id, body=data["body"])


# -- staff: requests -----------------------------------------------------------------------------------------------

@staff_blp.route("/requests")
class StaffRequests(MethodView):
    @staff_required(*QUEUE_ROLES)
    @idempotent
    @staff_blp.arguments(RequestCreateSchema)
    @staff_blp.response(201, StaffRequestSchema)
    def post(self, data: dict):
        """Make a request on a guest's behalf, for a stay in progress at my hotel."""
        with unit_of_work():
            return services.create_for_staff(staff=current_staff(), data=data)


@staff_blp.route("/requests/<int:request_id>")
class StaffRequestById(MethodView):
    @staff_required(*QUEUE_ROLES)
    @staff_blp.response(200, StaffRequestDetailSchema)
    def get(self, request_id: int):
        """Show a request of my hotel with every transition (who, when)."""
        return _detail(services.staff_view(staff=current_staff(), request_id=request_id))


def _act(request_id: int, action: str, data: dict | None = None):
    with unit_of_work():
        return services.staff_action(staff=current_staff(), request_id=request_id, action=action, data=data)


@staff_blp.route("/requests/<int:request_id>/actions/acknowledge")
class AcknowledgeRequest(MethodView):
    @staff_required(*QUEUE_ROLES)
    @staff_blp.response(200, StaffRequestSchema)
    def post(self, request_id: int):
        """Acknowledge a new request (its new-request alerts stop)."""
        return _act(request_id, "acknowledge")


@staff_blp.route("/requests/<int:request_id>/actions/assign")
class AssignRequest(MethodView):
    @staff_required(*QUEUE_ROLES)
    @staff_blp.arguments(AssignSchema)
    @staff_blp.response(200, StaffRequestSchema)
    def post(self, data: dict, request_id: int):
        """Assign a request to a staff member of its hotel (myself when none given)."""
        return _act(request_id, "assign", data)


@staff_blp.route("/requests/<int:request_id>/actions/start")
class StartRequest(MethodView):
    @staff_required(*QUEUE_ROLES)
    @staff_blp.response(200, StaffRequestSchema)
    def post(self, request_id: int):
        """Start work on a request."""
        return _act(request_id, "start")


@staff_blp.route("/requests/<int:request_id>/actions/hold")
class HoldRequest(MethodView):
    @staff_required(*QUEUE_ROLES)
    @staff_blp.arguments(ReasonSchema)
    @staff_blp.response(200, StaffRequestSchema)
    def post(self, data: dict, request_id: int):
        """Put a request on hold with a reason; its SLA clock stops."""
        return _act(request_id, "hold", data)


@staff_blp.route("/requests/<int:request_id>/actions/resume")
class ResumeRequest(MethodView):
    @staff_required(*QUEUE_ROLES)
    @staff_blp.response(200, StaffRequestSchema)
    def post(self, request_id: int):
        """Take a request off hold; its clock runs again from where it stopped."""
        return _act(request_id, "resume")


@staff_blp.route("/requests/<int:request_id>/actions/complete")
class CompleteRequest(MethodView):
    @staff_required(*QUEUE_ROLES)
    @staff_blp.response(200, StaffRequestSchema)
    def post(self, request_id: int):
        """Mark a request done; a priced order is charged to the stay's folio (once)."""
        return _act(request_id, "complete")


@staff_blp.route("/requests/<int:request_id>/actions/reject")
class RejectRequest(MethodView):
    @staff_required(*QUEUE_ROLES)
    @staff_blp.arguments(ReasonSchema)
    @staff_blp.response(200, StaffRequestSchema)
    def post(self, data: dict, request_id: int):
        """Turn a request down with a reason the guest sees."""
        return _act(request_id, "reject", data)


@staff_blp.route("/requests/bulk")
class BulkRequests(MethodView):
    @staff_required(*QUEUE_ROLES)
    @staff_blp.arguments(BulkSchema)
    @staff_blp.response(200, BulkResultSchema)
    def post(self, data: dict):
        """Acknowledge, assign or close many requests at once; each succeeds or fails on its own."""
        action = "complete" if data["action"] == "close" else data["action"]
        with unit_of_work():
            return {"results": services.bulk_action(staff=current_staff(), action=action, ids=data["ids"],
                                                    staff_id=data.get("staff_id"))}


# -- staff: queue, stream, statistics ------------------------------------------------------------------------------

@staff_blp.route("/queue")
class Queue(MethodView):
    @staff_required(*QUEUE_ROLES)
    @staff_blp.arguments(QueueArgsSchema, location="query")
    @staff_blp.response(200, page_schema(StaffRequestSchema))
    def get(self, args: dict):
        """The queue of my hotels: open requests by default, the least time left to the SLA first."""
        return services.staff_queue(staff=current_staff(), **args)


@staff_blp.route("/queue/stream")
class QueueStream(MethodView):
    @staff_required(*QUEUE_ROLES)
    @staff_blp.arguments(StreamArgsSchema, location="query")
    @staff_blp.response(200, content_type="text/event-stream",
                        description="Server-Sent Events; each event's id is its domain event id")
    def get(self, args: dict):
        """Follow changes to my hotels' queue live (Server-Sent Events; resume with Last-Event-ID).

        A server that has as many streams open as it serves answers `503 streams_busy`: open a new stream after
        its Retry-After (EventSource does not reconnect after an HTTP error) and read the queue again.
        """
        staff, claims = current_staff(), get_jwt()
        hotel_ids = services.scope_hotels(staff, args.get("hotel_id"))
        after = _last_event_id(args.get("last_event_id"))
        signed_in = still_signed_in(model=type(staff), kind=PrincipalKind.STAFF.value, principal_id=staff.id,
                                    session_id=int(claims["sid"]), token_expires=claims["exp"])
        return event_stream_response(lambda: queue_stream(
            hotel_ids=hotel_ids, after=after, still_allowed=signed_in, max_events=args.get("max_events"),
            timeout=args.get("timeout")))


def _last_event_id(from_query: int | None) -> int:
    header = request.headers.get("Last-Event-ID")
    if header is not None:
        if not header.isdigit() or len(header) > 18:
            raise Unprocessable("Last-Event-ID must be an event id.", code="invalid_last_event_id")
        return int(header)
    return from_query if from_query is not None else services.latest_event_id()


@staff_blp.route("/stats")
class QueueStats(MethodView):
    @staff_required(*QUEUE_ROLES)
    @staff_blp.arguments(StatsArgsSchema, location="query")
    @staff_blp.response(200, StatsSchema)
    def get(self, args: dict):
        """Counts, median and 90th-percentile times, SLA breach rate; per department, staff member and day."""
        return services.queue_stats(staff=current_staff(), **args)


# -- staff: SLA, catalogue, alerts, service recovery -----------------------------------------------------------------

@staff_blp.route("/hotels/<int:hotel_id>/sla")
class HotelSla(MethodView):
    @staff_required(*QUEUE_ROLES)
    @staff_blp.response(200, SlaTargetSchema(many=True))
    def get(self, hotel_id: int):
        """Show a hotel's SLA targets per request type."""
        return services.hotel_targets(staff=current_staff(), hotel_id=hotel_id)

    @staff_required(*MANAGERS)
    @staff_blp.arguments(SlaTargetsSchema)
    @staff_blp.response(200, SlaTargetSchema(many=True))
    def put(self, data: dict, hotel_id: int):
        """Set a hotel's SLA targets (types left out go back to the defaults); new requests use them."""
        with unit_of_work():
            return services.replace_targets(staff=current_staff(), hotel_id=hotel_id, targets=data["targets"])


@staff_blp.route("/hotels/<int:hotel_id>/catalog")
class StaffCatalog(MethodView):
    @staff_required(*QUEUE_ROLES)
    @staff_blp.arguments(CatalogQueryArgsSchema, location="query")
    @staff_blp.response(200, CatalogItemAdminSchema(many=True))
    def get(self, args: dict, hotel_id: int):
        """List a hotel's catalogue with every translation, withdrawn items included."""
        return services.managed_catalog(staff=current_staff(), hotel_id=hotel_id, **args)

    @staff_required(*MANAGERS)
    @staff_blp.arguments(CatalogItemCreateSchema)
    @staff_blp.response(201, CatalogItemAdminSchema)
    def post(self, data: dict, hotel_id: int):
        """Add an item to a hotel's catalogue."""
        with unit_of_work():
            return services.create_item(staff=current_staff(), hotel_id=hotel_id, data=data)


@staff_blp.route("/catalog/<int:item_id>")
class StaffCatalogItem(MethodView):
    @staff_required(*MANAGERS)
    @staff_blp.arguments(CatalogItemUpdateSchema)
    @staff_blp.response(200, CatalogItemAdminSchema)
    def patch(self, changes: dict, item_id: int):
        """Change some fields of a catalogue item (is_active=false withdraws it)."""
        with unit_of_work():
            return services.update_item(staff=current_staff(), item_id=item_id, changes=changes)


@staff_blp.route("/alerts")
class Alerts(MethodView):
    @staff_required(*QUEUE_ROLES)
    @staff_blp.arguments(AlertArgsSchema, location="query")
    @staff_blp.response(200, AlertSchema(many=True))
    def get(self, args: dict):
        """List my hotels' alerts that nobody has acknowledged yet."""
        return services.pending_alerts(staff=current_staff(), **args)


@staff_blp.route("/alerts/<int:alert_id>/actions/acknowledge")
class AcknowledgeAlert(MethodView):
    @staff_required(*QUEUE_ROLES)
    @staff_blp.response(200, AlertSchema)
    def post(self, alert_id: int):
        """Acknowledge an alert: it stops repeating."""
        with unit_of_work():
            return services.acknowledge_alert(staff=current_staff(), alert_id=alert_id)


@staff_blp.route("/service-recoveries")
class Recoveries(MethodView):
    @staff_required(*MANAGERS)
    @staff_blp.arguments(RecoveryArgsSchema, location="query")
    @staff_blp.response(200, RecoverySchema(many=True))
    def get(self, args: dict):
        """List the follow-ups of low ratings at a hotel I manage."""
        return services.list_recoveries(staff=current_staff(), **args)


@staff_blp.route("/service-recoveries/<int:recovery_id>/actions/resolve")
class ResolveRecovery(MethodView):
    @staff_required(*MANAGERS)
    @staff_blp.arguments(ResolveSchema)
    @staff_blp.response(200, RecoverySchema)
    def post(self, data: dict, recovery_id: int):
        """Close a follow-up with what was done for the guest."""
        with unit_of_work():
            return services.resolve_recovery(staff=current_staff(), recovery_id=recovery_id, **data)


# -- staff: messages and the guest summary -------------------------------------------------------------------------

@staff_blp.route("/stays/<int:stay_id>/messages")
class StaffStayMessages(MethodView):
    @staff_required(*GUEST_DATA_ROLES)
    @staff_blp.arguments(RequestListArgsSchema(exclude=("stay_id",)), location="query")
    @staff_blp.response(200, page_schema(MessageSchema))
    def get(self, args: dict, stay_id: int):
        """Read a stay's thread with its guest, newest first."""
        return services.staff_thread(staff=current_staff(), stay_id=stay_id, **args)

    @staff_required(*GUEST_DATA_ROLES)
    @staff_blp.arguments(MessageCreateSchema)
    @staff_blp.response(201, MessageSchema)
    def post(self, data: dict, stay_id: int):
        """Answer the guest."""
        with unit_of_work():
            return services.staff_post(staff=current_staff(), stay_id=stay_id, body=data["body"])


@staff_blp.route("/messages/<int:message_id>/actions/convert")
class ConvertMessage(MethodView):
    @staff_required(*GUEST_DATA_ROLES)
    @idempotent
    @staff_blp.arguments(RequestFieldsSchema)
    @staff_blp.response(201, StaffRequestSchema)
    def post(self, data: dict, message_id: int):
        """Turn a guest's message into a typed request for the same stay."""
        with unit_of_work():
            return services.convert_message(staff=current_staff(), message_id=message_id, data=data)


@staff_blp.route("/guests/<int:guest_id>/summary")
class GuestSummary(MethodView):
    @staff_required(*GUEST_DATA_ROLES)
    @staff_blp.response(200, GuestSummarySchema)
    def get(self, guest_id: int):
        """Profile, preferences, current stay and room state, recent requests and a timeline (audited; masked)."""
        with unit_of_work():
            return services.guest_summary(staff=current_staff(), guest_id=guest_id)
