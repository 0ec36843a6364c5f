"""The message thread between a stay's guest and the front desk; staff turn a message into a typed request."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.bookings import services as bookings
from app.core import events
from app.core.errors import Conflict, NotFound
from app.core.pagination import Page, paginate
from app.extensions import db
from app.requests.models import ServiceRequest, StayMessage
from app.requests.services.creation import create_for_staff

# A thread is kept for these bookings (a cancelled booking has nothing to talk about).
_TALKING = ("confirmed", "in_house", "checked_out")


def _thread(booking_id: int, cursor: str | None, limit: int) -> Page:
    stmt = select(StayMessage).where(StayMessage.booking_id == booking_id)
    return paginate(stmt, keys=[StayMessage.id], cursor=cursor, limit=limit, descending=True)


def _post(booking: Any, *, body: str, author_kind: str, staff_id: int | None = None) -> StayMessage:
    if booking.status not in _TALKING:
        raise Conflict("This booking has no message thread.", code="thread_closed")
    message = StayMessage(booking_id=booking.id, hotel_id=booking.hotel_id, guest_id=booking.guest_id,
                          author_kind=author_kind, author_staff_id=staff_id, body=body)
    db.session.add(message)
    db.session.flush()
    events.record("message.created", hotel_id=booking.hotel_id, guest_id=booking.guest_id, subject_id=message.id,
                  payload={"message_id": message.id, "booking_id": booking.id, "author_kind": author_kind})
    return message


def guest_thread(*, guest_id: int, stay_id: int, cursor: str | None, limit: int) -> Page:
    """The guest's thread with the front desk for one of their stays, newest first."""
    booking = bookings.guest_booking(guest_id=guest_id, booking_id=stay_id)
    return _thread(booking.id, cursor, limit)


def guest_post(*, guest_id: int, stay_id: int, body: str) -> StayMessage:
    """The guest writes to the front desk."""
    booking = bookings.guest_booking(guest_id=guest_id, booking_id=stay_id)
    return _post(booking, body=body, author_kind="guest")


def _staff_booking(staff: Any, stay_id: int) -> Any:
    booking = bookings.find_booking(booking_id=stay_id)
    if booking is None or not staff.can_access_hotel(booking.hotel_id):
        raise NotFound("No such stay.")
    return booking


def staff_thread(*, staff: Any, stay_id: int, cursor: str | None, limit: int) -> Page:
    """A stay's thread at one of my hotels, newest first."""
    return _thread(_staff_booking(staff, stay_id).id, cursor, limit)


def staff_post(*, staff: Any, stay_id: int, body: str) -> StayMessage:
    """The front desk answers the guest."""
    return _post(_staff_booking(staff, stay_id), body=body, author_kind="staff", staff_id=staff.id)


def convert_message(*, staff: Any, message_id: int, data: dict[str, Any]) -> ServiceRequest:
    """Turn a guest's message into a typed request for the same stay; the message links to it."""
    message = db.session.get(StayMessage, message_id, with_for_update=True)
    if message is None or not staff.can_access_hotel(message.hotel_id):
        raise NotFound("No such message.")
    if message.author_kind != "guest":
        raise Conflict("Only a guest's message can become a request.", code="not_a_guest_message")
    if message.request_id is not None:
        raise Conflict("This message is a request already.", code="message_converted", request_id=message.request_id)
    request = create_for_staff(staff=staff, data={**data, "stay_id": message.booking_id}, source_message_id=message.id)
    message.request_id = request.id
    return request
