"""The staff queue of a hotel ordered by urgency, the guest's own requests, and the queue's event stream."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, false, func, literal, select, true, tuple_

from app.core import clock, events
from app.core.errors import NotFound, Unprocessable
from app.core.pagination import Page, paginate
from app.extensions import db
from app.requests.models import OPEN_STATUSES, RequestTransition, ServiceRequest
from app.requests.services.common import guest_request, staff_request

# What the staff console's live view shows: request changes, alerts, room DND changes, guest messages.
QUEUE_EVENT_TYPES = (
    "request.created", "request.acknowledged", "request.assigned", "request.started", "request.held",
    "request.resumed", "request.completed", "request.cancelled", "request.rejected", "request.escalated",
    "request.rated", "request.alerted", "room.dnd_changed", "message.created",
)
_URGENCY = (ServiceRequest.is_paused, ServiceRequest.due_at, ServiceRequest.id)


def scope_hotels(staff: Any, hotel_id: int | None) -> list[int] | None:
    """The hotels a staff view covers: the one asked for (if theirs), else all of theirs (None: every hotel)."""
    if hotel_id is not None:
        if not staff.can_access_hotel(hotel_id):
            raise NotFound("No such hotel.")
        return [hotel_id]
    return None if staff.is_chain_wide else sorted(staff.hotel_ids)


def staff_queue(*, staff: Any, cursor: str | None, limit: int, hotel_id: int | None = None,
                department: str | None = None, type: str | None = None, status: list[str] | None = None,
                room: str | None = None, overdue: bool | None = None) -> Page:
    """Requests of my hotels, open ones by default, most urgent first (least time left; paused clocks last)."""
    stmt = select(ServiceRequest)
    hotels = scope_hotels(staff, hotel_id)
    if hotels is not None:
        stmt = stmt.where(ServiceRequest.hotel_id.in_(hotels) if len(hotels) != 1
                          else ServiceRequest.hotel_id == hotels[0])
    if status:
        stmt = stmt.where(ServiceRequest.status.in_(status))
    if not status or set(status) <= set(OPEN_STATUSES):
        stmt = stmt.where(ServiceRequest.is_open == true())  # `= true`, not `IS true`: indexable
    for column, value in ((ServiceRequest.department, department), (ServiceRequest.type, type),
                          (ServiceRequest.room_number, room)):
        if value is not None:
            stmt = stmt.where(column == value)
    if overdue is not None:
        late = ((ServiceRequest.is_open == true()) & (ServiceRequest.is_paused == false())
                & (ServiceRequest.due_at < clock.now()))
        stmt = stmt.where(late if overdue else ~late)
    return _urgency_page(stmt, cursor=cursor, limit=limit)


def _urgency_page(stmt: Select, *, cursor: str | None, limit: int) -> Page:
    """Keyset page on (paused, due, id), with cursor values bound as the columns' own types."""
    if cursor:
        paused, due, last_id = _decode(cursor)
        bound = tuple_(literal(paused, ServiceRequest.is_paused.type), literal(due, ServiceRequest.due_at.type),
                       literal(last_id, ServiceRequest.id.type))
        stmt = stmt.where(tuple_(*_URGENCY) > bound)
    rows = list(db.session.scalars(stmt.order_by(*_URGENCY).limit(limit + 1)))
    if len(rows) <= limit:
        return Page(rows, None)
    last = rows[limit - 1]
    raw = json.dumps([last.is_paused, last.due_at.isoformat(), last.id]).encode()
    return Page(rows[:limit], base64.urlsafe_b64encode(raw).decode().rstrip("="))


def _decode(cursor: str) -> tuple[bool, datetime, int]:
    try:
        paused, due, last_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        due_at = datetime.fromisoformat(due)
        if not isinstance(paused, bool) or not isinstance(last_id, int) or due_at.tzinfo is None:
            raise ValueError
        return paused, due_at, last_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise Unprocessable("The cursor is not valid.", code="invalid_cursor",
                            errors={"cursor": ["Not a cursor from this API."]}) from None


def guest_requests(*, guest_id: int, cursor: str | None, limit: int, stay_id: int | None = None) -> Page:
    """The guest's own requests, newest first."""
    stmt = select(ServiceRequest).where(ServiceRequest.guest_id == guest_id)
    if stay_id is not None:
        stmt = stmt.where(ServiceRequest.booking_id == stay_id)
    return paginate(stmt, keys=[ServiceRequest.id], cursor=cursor, limit=limit, descending=True)


def guest_view(*, guest_id: int, request_id: int) -> ServiceRequest:
    """One of the guest's own requests, with its status as it stands."""
    return guest_request(guest_id, request_id)


def staff_view(*, staff: Any, request_id: int) -> ServiceRequest:
    """One request of my hotels."""
    return staff_request(staff, request_id)


def history(request: ServiceRequest) -> list[RequestTransition]:
    """Every transition of a request, oldest first."""
    return list(db.session.scalars(select(RequestTransition).where(RequestTransition.request_id == request.id)
                                   .order_by(RequestTransition.id)))


def latest_event_id() -> int:
    """Where a stream without Last-Event-ID starts: after everything that has happened so far."""
    return int(db.session.scalar(select(func.max(events.DomainEvent.id))) or 0)


def queue_events(*, after: int, hotel_ids: Iterable[int] | None, limit: int = 100
                 ) -> tuple[list[events.DomainEvent], int]:
    """The queue's events after `after`, oldest first (`hotel_ids=None`: every hotel), and where the next read
    starts (events.tail: past the other hotels' and other kinds' events too)."""
    return events.tail(after, hotel_ids=hotel_ids, types=QUEUE_EVENT_TYPES, limit=limit)
