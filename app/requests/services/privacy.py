"""The requests domain's part of a guest's data rights and retention: requests, ratings, the message thread.

Erasure and retention keep each request (what was ordered, when, by which department, what it cost: the folio
charge points at it) and drop the free text: the thread's message bodies, notes, rating comments, the
preferences copied into a room-preparation request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, select, update

from app.core.records import as_records
from app.extensions import db
from app.requests.models import RequestTransition, ServiceRecovery, ServiceRequest, StayMessage

# Keys of ServiceRequest.details that carry what a guest wrote or what their profile said.
FREE_TEXT_DETAILS = ("notes", "description", "comment", "preferences")
ERASED_BODY = ""


def export_for_guest(*, guest_id: int) -> dict[str, Any]:
    requests = list(db.session.scalars(
        select(ServiceRequest).where(ServiceRequest.guest_id == guest_id).order_by(ServiceRequest.id)))
    ids = [request.id for request in requests]
    transitions: dict[int, list[dict[str, Any]]] = {}
    if ids:
        for transition in db.session.scalars(select(RequestTransition).where(
                RequestTransition.request_id.in_(ids)).order_by(RequestTransition.id)):
            transitions.setdefault(transition.request_id, []).append(
                {"action": transition.action, "to_status": transition.to_status, "at": transition.at.isoformat()})
    return {
        "service_requests": [{**record, "transitions": transitions.get(record["id"], [])}
                             for record in as_records(requests)],
        "messages": as_records(db.session.scalars(
            select(StayMessage).where(StayMessage.guest_id == guest_id).order_by(StayMessage.id))),
        "service_recoveries": as_records(db.session.scalars(
            select(ServiceRecovery).where(ServiceRecovery.guest_id == guest_id).order_by(ServiceRecovery.id)),
            exclude=("resolution", "resolved_by_staff_id")),
    }


def erase_for_guest(*, guest_id: int, pseudonym: str) -> dict[str, int]:
    """Every thread of the guest (both sides talk about the guest) and every request of theirs lose their text."""
    return _drop_free_text(
        messages=select(StayMessage.id).where(StayMessage.guest_id == guest_id),
        requests=select(ServiceRequest.id).where(ServiceRequest.guest_id == guest_id))


def drop_free_text_of_stays(*, stay_ids: Select) -> dict[str, int]:
    """Retention: the threads and requests of the stays in `stay_ids` (a subquery of booking ids) lose their text."""
    return _drop_free_text(
        messages=select(StayMessage.id).where(StayMessage.booking_id.in_(stay_ids)),
        requests=select(ServiceRequest.id).where(ServiceRequest.booking_id.in_(stay_ids)))


def _drop_free_text(*, messages: Select, requests: Select) -> dict[str, int]:
    bodies = db.session.execute(update(StayMessage).where(
        StayMessage.id.in_(messages), StayMessage.body != ERASED_BODY).values(body=ERASED_BODY)).rowcount
    comments = db.session.execute(update(ServiceRequest).where(
        ServiceRequest.id.in_(requests), ServiceRequest.rating_comment.is_not(None)).values(rating_comment=None)
    ).rowcount
    recoveries = db.session.execute(update(ServiceRecovery).where(
        ServiceRecovery.request_id.in_(requests), ServiceRecovery.comment.is_not(None)).values(comment=None)).rowcount
    notes = db.session.execute(update(RequestTransition).where(
        RequestTransition.request_id.in_(requests), RequestTransition.actor_kind == "guest",
        RequestTransition.note.is_not(None), RequestTransition.action != "rated").values(note=None)).rowcount
    details = _strip_details(db.session.scalars(select(ServiceRequest).where(ServiceRequest.id.in_(requests))))
    private = db.session.execute(update(ServiceRequest).where(
        ServiceRequest.id.in_(requests), ServiceRequest.private_details.is_not(None)).values(private_details=None)
    ).rowcount
    return {"message_bodies": bodies, "rating_comments": comments + recoveries, "guest_notes": notes,
            "request_details": details, "request_private_details": private}


def _strip_details(requests: Iterable[ServiceRequest]) -> int:
    changed = 0
    for request in requests:
        details = request.details or {}
        if any(details.get(key) for key in FREE_TEXT_DETAILS):
            request.details = {key: value for key, value in details.items() if key not in FREE_TEXT_DETAILS}
            changed += 1
    return changed
