"""A request's lifecycle: every transition checked, recorded with who and when, and announced as an event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select, true

from app.bookings import services as bookings
from app.core import clock, events
from app.core.auth import Role
from app.core.errors import Conflict, DomainError, Unprocessable
from app.extensions import db
from app.requests.models import CHARGE_KIND_OF, CLOSED_STATUSES, RequestStatus, RequestType, ServiceRequest
from app.requests.services import alerts
from app.requests.services.common import SYSTEM, Actor, guest_request, log_transition, record_event, staff_request
from app.staff.models import StaffMember

S = RequestStatus


@dataclass(frozen=True)
class Rule:
    allowed_from: tuple[RequestStatus, ...]
    to: RequestStatus | None  # None: back to the status before the hold
    event: str


RULES = {
    "acknowledge": Rule((S.NEW,), S.ACKNOWLEDGED, "request.acknowledged"),
    "assign": Rule((S.NEW, S.ACKNOWLEDGED, S.ASSIGNED), S.ASSIGNED, "request.assigned"),
    "start": Rule((S.NEW, S.ACKNOWLEDGED, S.ASSIGNED), S.IN_PROGRESS, "request.started"),
    "hold": Rule((S.ACKNOWLEDGED, S.ASSIGNED, S.IN_PROGRESS), S.ON_HOLD, "request.held"),
    "resume": Rule((S.ON_HOLD,), None, "request.resumed"),
    "complete": Rule((S.ASSIGNED, S.IN_PROGRESS), S.DONE, "request.completed"),
    "cancel": Rule((S.NEW, S.ACKNOWLEDGED, S.ASSIGNED), S.CANCELLED, "request.cancelled"),
    "reject": Rule((S.NEW, S.ACKNOWLEDGED, S.ASSIGNED, S.ON_HOLD), S.REJECTED, "request.rejected"),
}
PAST = {"acknowledge": "acknowledged", "assign": "assigned", "start": "started", "hold": "held",
        "resume": "resumed", "complete": "completed", "cancel": "cancelled", "reject": "rejected"}
# Roles that work the queue (marketers do not).
QUEUE_ROLES = tuple(role for role in Role if role != Role.MARKETER)


def transition(request: ServiceRequest, action: str, *, actor: Actor, note: str | None = None) -> ServiceRequest:
    """Apply `action` if the request's status allows it (409 invalid_transition otherwise)."""
    rule = RULES[action]
    if request.status not in rule.allowed_from:
        raise Conflict(f"A request that is {request.status} cannot be {PAST[action]}.", code="invalid_transition",
                       current_status=request.status, action=action)
    now, previous = clock.now(), request.status
    # Assigning or starting a new request acknowledges it too.
    if action == "complete" or previous == S.NEW:
        _check_deadline(request, now)
    if previous == S.NEW and action in ("acknowledge", "assign", "start"):
        request.acknowledged_at = now
        request.escalation_level = 0  # a new stage, with its own deadline
    request.status = (rule.to or S(request.held_from or S.ACKNOWLEDGED)).value
    _stamp(request, action, now=now, previous=previous, note=note)
    request.sync_clock(now)
    log_transition(request, action=PAST[action], from_status=previous, actor=actor, note=note)
    record_event(request, rule.event, actor=actor, **({"note": note} if note else {}))
    return request


def _check_deadline(request: ServiceRequest, now: Any) -> None:
    if request.seconds_left(now) < 0:
        request.sla_breached = True


def _stamp(request: ServiceRequest, action: str, *, now: Any, previous: str, note: str | None) -> None:
    if action == "start":
        request.started_at = now
    elif action == "hold":
        request.held_from, request.hold_reason = previous, note
    elif action == "resume":
        request.held_from, request.hold_reason = None, None
    elif action == "complete":
        request.completed_at = now
    elif action == "reject":
        request.reject_reason = note
    if request.status in CLOSED_STATUSES:
        request.is_open, request.closed_at, request.waiting_dnd = False, now, False


# -- use cases -----------------------------------------------------------------------------------------------------

def staff_action(*, staff: Any, request_id: int, action: str, data: dict[str, Any] | None = None) -> ServiceRequest:
    """A staff member moves a request of their hotel along its lifecycle."""
    request = staff_request(staff, request_id, for_update=True)
    return _apply(staff, request, action, data or {})


def _apply(staff: Any, request: ServiceRequest, action: str, data: dict[str, Any]) -> ServiceRequest:
    actor = Actor.of_staff(staff)
    if action == "assign":
        request.assigned_to_staff_id = _assignee(request, data.get("staff_id") or staff.id).id
    elif action == "start" and request.assigned_to_staff_id is None:
        request.assigned_to_staff_id = staff.id
    was_new = request.status == S.NEW
    transition(request, action, actor=actor, note=data.get("reason"))
    if was_new:
        alerts.settle_alerts(request, staff_id=staff.id, kinds=("new_request",))
    if action == "complete":
        _post_charge(request, staff_id=staff.id)
        _announce_room_ready(request)
    if request.status in CLOSED_STATUSES:
        alerts.settle_alerts(request, staff_id=staff.id)
    return request


def _announce_room_ready(request: ServiceRequest) -> None:
    """Housekeeping finished preparing the room at check-in: `room.ready` (push tells the guest)."""
    if request.type == RequestType.HOUSEKEEPING and (request.details or {}).get("kind") == "room_preparation":
        events.record("room.ready", hotel_id=request.hotel_id, guest_id=request.guest_id,
                      subject_id=request.booking_id,
                      payload={"room_id": request.room_id, "room_number": request.room_number,
                               "request_id": request.id})


def _assignee(request: ServiceRequest, staff_id: int) -> StaffMember:
    member = db.session.get(StaffMember, staff_id)
    if member is None or not member.is_active or member.role not in QUEUE_ROLES \
            or not member.can_access_hotel(request.hotel_id):
        raise Unprocessable("No such staff member at this hotel.", code="unknown_assignee",
                            errors={"staff_id": ["Not a staff member of this hotel."]})
    return member


def _post_charge(request: ServiceRequest, *, staff_id: int | None) -> None:
    """A delivered order is billed to the stay, once: the folio refuses a second charge from the same source."""
    if request.total_amount <= 0:
        return
    label = {"en": f"{request.type.replace('_', ' ').capitalize()} #{request.id}",
             "ru": f"{_RU_LABEL[request.type]} #{request.id}"}
    charge = bookings.post_charge(booking_id=request.booking_id, kind=CHARGE_KIND_OF[RequestType(request.type)],
                                  amount=request.total_amount, source=f"request:{request.id}", description=label,
                                  posted_by_staff_id=staff_id)
    request.charge_id = charge.id


_RU_LABEL = {"room_service": "Обслуживание в номере", "laundry": "Прачечная", "repair": "Ремонт",
             "housekeeping": "Уборка"}


def bulk_action(*, staff: Any, action: str, ids: list[int], staff_id: int | None = None) -> list[dict[str, Any]]:
    """Apply one action to many requests; each succeeds or fails on its own (a savepoint each)."""
    results = []
    for request_id in dict.fromkeys(ids):
        try:
            with db.session.begin_nested():
                staff_action(staff=staff, request_id=request_id, action=action,
                             data={"staff_id": staff_id} if staff_id else {})
            results.append({"id": request_id, "ok": True, "status": db.session.get(ServiceRequest, request_id).status})
        except DomainError as error:
            results.append({"id": request_id, "ok": False, "code": error.code, "detail": error.detail})
    return results


def guest_cancel(*, guest_id: int, request_id: int) -> ServiceRequest:
    """The guest calls off a request before work on it starts."""
    request = guest_request(guest_id, request_id, for_update=True)
    transition(request, "cancel", actor=Actor("guest", guest_id))
    alerts.settle_alerts(request, staff_id=None)
    return request


def rate(*, guest_id: int, request_id: int, rating: int, comment: str | None) -> ServiceRequest:
    """The guest rates a done request once; a low rating opens a service-recovery follow-up for the manager."""
    request = guest_request(guest_id, request_id, for_update=True)
    if request.status != S.DONE:
        raise Conflict("Only a done request can be rated.", code="invalid_transition", current_status=request.status,
                       action="rate")
    if request.rating is not None:
        raise Conflict("This request is rated already.", code="already_rated")
    request.rating, request.rating_comment, request.rated_at = rating, comment, clock.now()
    actor = Actor("guest", guest_id)
    log_transition(request, action="rated", from_status=request.status, actor=actor, note=str(rating))
    record_event(request, "request.rated", actor=actor, rating=rating)
    if rating <= current_app.config["REQUESTS_LOW_RATING"]:
        alerts.open_service_recovery(request)
    return request


def room_state_changed(event: Any) -> None:
    """`room.dnd_changed` subscriber: housekeeping of the stay waits (clock paused) while DND is on."""
    state, previous = event.payload.get("state"), event.payload.get("previous")
    if "dnd" not in (state, previous):
        return
    waiting = state == "dnd"
    open_housekeeping = db.session.scalars(select(ServiceRequest).where(
        ServiceRequest.booking_id == event.subject_id, ServiceRequest.type == RequestType.HOUSEKEEPING.value,
        ServiceRequest.is_open == true()))
    now = clock.now()
    for request in list(open_housekeeping):
        if request.waiting_dnd == waiting:
            continue
        request.waiting_dnd = waiting
        request.sync_clock(now)
        action = "dnd_paused" if waiting else "dnd_resumed"
        log_transition(request, action=action, from_status=request.status, actor=SYSTEM)
        record_event(request, "request.held" if waiting else "request.resumed", actor=SYSTEM, pause="dnd")
