"""Creating requests: by the checked-in guest for their own room, by staff on a guest's behalf, by check-in."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.bookings import services as bookings
from app.core import clock
from app.core.errors import Conflict, NotFound, Unprocessable
from app.extensions import db
from app.hotels.models import Hotel
from app.requests.models import DEPARTMENT_OF, CatalogItem, RequestStatus, RequestType, ServiceRequest
from app.requests.services import alerts
from app.requests.services.catalog import is_available
from app.requests.services.common import SYSTEM, Actor, log_transition, record_event
from app.requests.services.sla import target_for

# The guest asks for a time; later than this ahead is a booking, not a request.
MAX_SCHEDULE_AHEAD = timedelta(days=7)


def create_for_guest(*, guest_id: int, data: dict[str, Any]) -> ServiceRequest:
    """A checked-in guest asks for something in the room of their own stay (the room comes from the stay)."""
    booking = bookings.guest_stay_in_house(guest_id=guest_id, booking_id=data["stay_id"])
    return _create(booking=booking, data=data, actor=Actor("guest", guest_id))


def create_for_staff(*, staff: Any, data: dict[str, Any], source_message_id: int | None = None) -> ServiceRequest:
    """Staff make a request on a guest's behalf, for a stay in progress at one of their hotels."""
    booking = bookings.find_booking(booking_id=data["stay_id"])
    if booking is None or not staff.can_access_hotel(booking.hotel_id):
        raise NotFound("No such stay.")
    if not booking.is_in_house or booking.room_id is None:
        raise Conflict("This stay is not in progress.", code="stay_not_in_house")
    return _create(booking=booking, data=data, actor=Actor.of_staff(staff), source_message_id=source_message_id)


def prepare_room_on_check_in(event: Any) -> None:
    """`booking.checked_in` subscriber: housekeeping prepares the room from the guest's preferences."""
    booking = bookings.find_booking(booking_id=event.subject_id)
    if booking is None:
        return
    details = {"kind": "room_preparation", "preferences": event.payload.get("preferences") or {},
               "language": event.payload.get("language")}
    request = _open(booking=booking, request_type=RequestType.HOUSEKEEPING, details=details, total=0, actor=SYSTEM,
                    room_id=event.payload.get("room_id"), room_number=event.payload.get("room_number"))
    # Allergies and notes are not in the event (plain JSON): read from the profile, kept encrypted with the request.
    request.private_details = bookings.private_preferences(guest_id=booking.guest_id) or None


def open_device_repair(*, device_id: int, room_id: int, kind: str | None, fault: str | None,
                       reason: str | None) -> ServiceRequest | None:
    """A room device reports a fault (or stays offline): one open maintenance request per device, on the room's
    stay. None when the room is empty (requests belong to a stay) or the device already has an open repair."""
    booking = bookings.occupied_stay_for_room(room_id=room_id)
    if booking is None:
        return None
    open_repairs = db.session.scalars(select(ServiceRequest).where(
        ServiceRequest.room_id == room_id, ServiceRequest.type == RequestType.REPAIR.value,
        ServiceRequest.is_open.is_(True)))
    if any((request.details or {}).get("device_id") == device_id for request in open_repairs):
        return None
    details = {"kind": "device_fault", "device_id": device_id, "device_kind": kind, "fault": fault, "reason": reason}
    return _open(booking=booking, request_type=RequestType.REPAIR, details=details, total=0, actor=SYSTEM)


def _create(*, booking: Any, data: dict[str, Any], actor: Actor, source_message_id: int | None = None
            ) -> ServiceRequest:
    hotel = db.session.get(Hotel, booking.hotel_id)  # the stay's hotel, listed or not: its time zone
    now = clock.now()
    scheduled = data.get("deliver_at") or data.get("pickup_at")
    if scheduled is not None and not now - timedelta(minutes=1) <= scheduled <= now + MAX_SCHEDULE_AHEAD:
        field = "deliver_at" if data.get("deliver_at") else "pickup_at"
        raise Unprocessable("The time must be in the next 7 days.", code="invalid_time",
                            errors={field: ["Not in the next 7 days."]})
    details, total = _DETAILS[data["type"]](hotel=hotel, data=data, at=scheduled or now)
    return _open(booking=booking, request_type=RequestType(data["type"]), details=details, total=total, actor=actor,
                 scheduled=scheduled, source_message_id=source_message_id)


def _open(*, booking: Any, request_type: RequestType, details: dict[str, Any], total: int, actor: Actor,
          scheduled: datetime | None = None, source_message_id: int | None = None,
          room_id: int | None = None, room_number: str | None = None) -> ServiceRequest:
    now = clock.now()
    target = target_for(hotel_id=booking.hotel_id, request_type=request_type.value)
    start = max(now, scheduled) if scheduled else now
    request = ServiceRequest(
        hotel_id=booking.hotel_id, booking_id=booking.id, guest_id=booking.guest_id, room_id=booking.room_id or room_id,
        room_number=room_number or (booking.room.number if booking.room else ""), type=request_type.value,
        department=DEPARTMENT_OF[request_type], status=RequestStatus.NEW.value, details=details,
        total_amount=total, currency=booking.currency, created_by_kind=actor.kind,
        created_by_staff_id=actor.id if actor.kind == "staff" else None, source_message_id=source_message_id,
        acknowledge_due_at=now + timedelta(minutes=target.acknowledge_minutes),
        complete_due_at=start + timedelta(minutes=target.complete_minutes), due_at=now, is_open=True,
        # Housekeeping waits while the room says do-not-disturb, and its clock with it.
        waiting_dnd=request_type == RequestType.HOUSEKEEPING and booking.room_state == "dnd",
    )
    request.sync_clock(now)
    db.session.add(request)
    db.session.flush()
    log_transition(request, action="created", from_status=None, actor=actor)
    record_event(request, "request.created", actor=actor)
    alerts.raise_alert(request, kind="new_request", audience=request.department)
    return request


# -- per type: validated details and the total to charge on delivery ------------------------------------------------

def _catalog_items(hotel: Any, request_type: RequestType, lines: list[dict[str, Any]], field: str
                   ) -> list[tuple[CatalogItem, int]]:
    ids = [line["item_id"] for line in lines]
    found = {item.id: item for item in db.session.scalars(select(CatalogItem).where(
        CatalogItem.id.in_(ids), CatalogItem.hotel_id == hotel.id, CatalogItem.type == request_type.value,
        CatalogItem.is_active.is_(True)))}
    missing = [item_id for item_id in ids if item_id not in found]
    if missing:
        raise Unprocessable("Some items are not in this hotel's catalogue.", code="unknown_catalog_item",
                            errors={field: [f"Not available here: {', '.join(map(str, missing))}."]})
    return [(found[line["item_id"]], line["quantity"]) for line in lines]


def _line(item: CatalogItem, quantity: int, unit_price: int) -> dict[str, Any]:
    return {"item_id": item.id, "code": item.code, "name": item.name, "quantity": quantity,
            "unit_price": unit_price, "amount": unit_price * quantity}


def _room_service(*, hotel: Any, data: dict[str, Any], at: datetime) -> tuple[dict[str, Any], int]:
    chosen = _catalog_items(hotel, RequestType.ROOM_SERVICE, data["items"], "items")
    closed = [item.code for item, _ in chosen if not is_available(item, at=at, time_zone=hotel.time_zone)]
    if closed:
        raise Unprocessable("Some dishes are not served at that time.", code="outside_serving_hours",
                            errors={"items": [f"Not served then: {', '.join(closed)}."]})
    lines = [_line(item, quantity, item.price) for item, quantity in chosen]
    deliver_at = data.get("deliver_at")
    return ({"items": lines, "notes": data.get("notes"), "deliver_at": deliver_at.isoformat() if deliver_at else None},
            sum(line["amount"] for line in lines))


def _laundry(*, hotel: Any, data: dict[str, Any], at: datetime) -> tuple[dict[str, Any], int]:
    express = data.get("express", False)
    chosen = _catalog_items(hotel, RequestType.LAUNDRY, data["items"], "items")
    if express and any(item.express_price is None for item, _ in chosen):
        raise Unprocessable("Some items have no express service.", code="express_unavailable",
                            errors={"express": ["Not offered for every item."]})
    lines = [_line(item, quantity, item.express_price if express else item.price) for item, quantity in chosen]
    return ({"items": lines, "express": express, "pickup_at": data["pickup_at"].isoformat() if data.get("pickup_at")
             else None, "notes": data.get("notes")}, sum(line["amount"] for line in lines))


def _repair(*, hotel: Any, data: dict[str, Any], at: datetime) -> tuple[dict[str, Any], int]:
    [(category, _)] = _catalog_items(hotel, RequestType.REPAIR, [{"item_id": data["category_id"], "quantity": 1}],
                                     "category_id")
    return ({"category": {"item_id": category.id, "code": category.code, "name": category.name},
             "description": data["description"], "location": data.get("location")}, 0)


def _housekeeping(*, hotel: Any, data: dict[str, Any], at: datetime) -> tuple[dict[str, Any], int]:
    chosen = _catalog_items(hotel, RequestType.HOUSEKEEPING, data["items"], "items")
    lines = [_line(item, quantity, item.price) for item, quantity in chosen]
    return {"items": lines, "notes": data.get("notes")}, sum(line["amount"] for line in lines)


_DETAILS = {
    RequestType.ROOM_SERVICE.value: _room_service,
    RequestType.LAUNDRY.value: _laundry,
    RequestType.REPAIR.value: _repair,
    RequestType.HOUSEKEEPING.value: _housekeeping,
}
