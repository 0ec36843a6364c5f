"""Shared by the request use cases: who acts, the transition log and the events every change records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core import events
from app.core.errors import NotFound
from app.core.prepared_writes import insert_now
from app.extensions import db
from app.requests.models import RequestTransition, ServiceRequest


@dataclass(frozen=True)
class Actor:
    kind: str  # guest | staff | system
    id: int | None = None

    @classmethod
    def of_staff(cls, staff: Any) -> Actor:
        return cls("staff", staff.id)


SYSTEM = Actor("system")


def log_transition(request: ServiceRequest, *, action: str, from_status: str | None, actor: Actor,
                   note: str | None = None) -> None:
    insert_now(RequestTransition(request_id=request.id, action=action, from_status=from_status,
                                 to_status=request.status, actor_kind=actor.kind, actor_id=actor.id, note=note))


def record_event(request: ServiceRequest, event_type: str, *, actor: Actor, **extra: Any) -> None:
    """One event per change, with what a queue view needs to update its row without another read."""
    payload = {
        "request_id": request.id, "type": request.type, "department": request.department,
        "status": request.status, "room_number": request.room_number, "due_at": request.due_at.isoformat(),
        "is_paused": request.is_paused, "waiting_dnd": request.waiting_dnd,
        "escalation_level": request.escalation_level, "assigned_to_staff_id": request.assigned_to_staff_id,
        "actor_kind": actor.kind, "actor_id": actor.id, **extra,
    }
    events.record(event_type, hotel_id=request.hotel_id, guest_id=request.guest_id, subject_id=request.id,
                  payload=payload)


def staff_request(staff: Any, request_id: int, *, for_update: bool = False) -> ServiceRequest:
    """A request of one of the staff member's hotels; others are not found."""
    request = db.session.get(ServiceRequest, request_id, with_for_update=for_update)
    if request is None or not staff.can_access_hotel(request.hotel_id):
        raise NotFound("No such request.")
    return request


def guest_request(guest_id: int, request_id: int, *, for_update: bool = False) -> ServiceRequest:
    """The guest's own request; another guest's is not found."""
    request = db.session.get(ServiceRequest, request_id, with_for_update=for_update)
    if request is None or request.guest_id != guest_id:
        raise NotFound("No such request.")
    return request
