"""Creating requests: by the checked-in guest for their own room, by staff on a guest's behalf, by check-in."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select

from app.bookings import services as bookings
from app.core import clock
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.prepared_reads import PreparedRead
from app.core.prepared_writes import insert_now
from app.extensions import db
from app.hotels.models import Hotel
from app.requests.models import DEPARTMENT_OF, CatalogItem, RequestStatus, RequestType, ServiceRequest
from app.requests.services import alerts
from app.requests.services.catalog import is_available
from app.requests.services.common import SYSTEM, Actor, log_transition, record_event
from app.requests.services.sla import committed_target_for

# The guest asks for a time; later than this ahead is a booking, not a request.
MAX_SCHEDULE_AHEAD = timedelta(days=7)

# An item a request may name: this hotel's, of the request's type, offered (read outside the Session, committed).
_ACTIVE_ITEM = PreparedRead(select(CatalogItem.id, CatalogItem.code, CatalogItem.name, CatalogItem.price,
                                   CatalogItem.express_price, CatalogItem.available_from, CatalogItem.available_until)
                            .where(CatalogItem.id == bindparam("item_id"),
                                   CatalogItem.hotel_id == bindparam("hotel_id"),
                                   CatalogItem.type == bindparam("type"), CatalogItem.is_active.is_(True)))


@dataclass(frozen=True)
class _Stay:
    """What a new request needs of its stay: where it is, whose it is, and the hotel's time zone."""

    id: int
    hotel_id: int
    guest_id: int
    room_id: int | None
    room_number: str | None
    currency: str
    room_state: str
    time_zone: str

    @classmethod
    def of_booking(cls, booking: Any) -> _Stay:
        hotel = db.session.get(Hotel, booking.hotel_id)  # the stay's hotel, listed or not: its time zone
        return cls(id=booking.id, hotel_id=booking.hotel_id, guest_id=booking.guest_id, room_id=booking.room_id,
                   room_number=booking.room.number if booking.room else None, currency=booking.currency,
                   room_state=booking.room_state, time_zone=hotel.time_zone)


def create_for_guest(*, guest_id: int, data: dict[str, Any]) -> ServiceRequest:
    """A checked-in guest asks for something in the room of their own stay (the room comes from the stay).

    The guest's most frequent write: the stay, the catalogue and the SLA target are read outside the Session
    (committed rows; nothing here writes them) and the rows are written with `insert_now` (docs/decisions.md)."""
    stay = bookings.guest_stay_in_house_keys(guest_id=guest_id, booking_id=data["stay_id"])
    return _create(stay=_Stay(**{key: value for key, value in stay._asdict().items() if key != "status"}),
                   data=data, actor=Actor("guest", guest_id))


def create_for_staff(*, staff: Any, data: dict[str, Any], source_message_id: int | None = None) -> ServiceRequest:
    """Staff make a request on a guest's behalf, for a stay in progress at one of their hotels."""
    booking = bookings.find_booking(booking_id=data["stay_id"])
    if booking is None or not staff.can_access_hotel(booking.hotel_id):
        raise NotFound("No such stay.")
    if not booking.is_in_house or booking.room_id is None:
        raise Conflict("This stay is not in progress.", code="stay_not_in_house")
    return _create(stay=_Stay.of_booking(booking), data=data, actor=Actor.of_staff(staff),
                   source_message_id=source_message_id)


def prepare_room_on_check_in(event: Any) -> None:
    """`booking.checked_in` subscriber: housekeeping prepares the room from the guest's preferences."""
    booking = bookings.find_booking(booking_id=event.subject_id)
    if booking is None:
        return
    details = {"kind": "room_preparation", "preferences": event.payload.get("preferences") or {},
               "language": event.payload.get("language")}
    # Allergies and notes are not in the event (plain JSON): read from the profile, kept encrypted with the request.
    private_details = bookings.private_preferences(guest_id=booking.guest_id) or None
    stay = replace(_Stay.of_booking(booking), room_id=booking.room_id or event.payload.get("room_id"),
                   room_number=event.payload.get("room_number") or (booking.room.number if booking.room else None))
    _open(stay=stay, request_type=RequestType.HOUSEKEEPING, details=details, total=0, actor=SYSTEM,
          private_details=private_details)


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
    return _open(stay=_Stay.of_booking(booking), request_type=RequestType.REPAIR, details=details, total=0,
                 actor=SYSTEM)


def _create(*, stay: _Stay, data: dict[str, Any], actor: Actor, source_message_id: int | None = None
            ) -> ServiceRequest:
    now = clock.now()
    scheduled = data.get("deliver_at") or data.get("pickup_at")
    if scheduled is not None and not now - timedelta(minutes=1) <= scheduled <= now + MAX_SCHEDULE_AHEAD:
        field = "deliver_at" if data.get("deliver_at") else "pickup_at"
        raise Unprocessable("The time must be in the next 7 days.", code="invalid_time",
                            errors={field: ["Not in the next 7 days."]})
    details, total = _DETAILS[data["type"]](stay=stay, data=data, at=scheduled or now)
    return _open(stay=stay, request_type=RequestType(data["type"]), details=details, total=total, actor=actor,
                 scheduled=scheduled, source_message_id=source_message_id)


def _open(*, stay: _Stay, request_type: RequestType, details: dict[str, Any], total: int, actor: Actor,
          scheduled: datetime | None = None, source_message_id: int | None = None,
          private_details: dict[str, Any] | None = None) -> ServiceRequest:
    now = clock.now()
    target = committed_target_for(hotel_id=stay.hotel_id, request_type=request_type.value)
    start = max(now, scheduled) if scheduled else now
    request = ServiceRequest(
        hotel_id=stay.hotel_id, booking_id=stay.id, guest_id=stay.guest_id, room_id=stay.room_id,
        room_number=stay.room_number or "", type=request_type.value, department=DEPARTMENT_OF[request_type],
        status=RequestStatus.NEW.value, details=details, private_details=private_details, total_amount=total,
        currency=stay.currency, created_by_kind=actor.kind, created_by_staff_id=actor.id if actor.kind == "staff"
        else None, source_message_id=source_message_id, assigned_to_staff_id=None,
        acknowledge_due_at=now + timedelta(minutes=target.acknowledge_minutes),
        complete_due_at=start + timedelta(minutes=target.complete_minutes), due_at=now, is_open=True,
        paused_at=None, paused_seconds=0,
        # Housekeeping waits while the room says do-not-disturb, and its clock with it.
        waiting_dnd=request_type == RequestType.HOUSEKEEPING and stay.room_state == "dnd",
    )
    request.sync_clock(now)
    insert_now(request)
    log_transition(request, action="created", from_status=None, actor=actor)
    record_event(request, "request.created", actor=actor)
    alerts.raise_alert(request, kind="new_request", audience=request.department)
    return request


# -- per type: validated details and the total to charge on delivery ------------------------------------------------

def _catalog_items(stay: _Stay, request_type: RequestType, lines: list[dict[str, Any]], field: str
                   ) -> list[tuple[Any, int]]:
    ids = [line["item_id"] for line in lines]
    found = {}
    for item_id in dict.fromkeys(ids):  # each distinct item once, by key: a request names a handful
        item = _ACTIVE_ITEM.first(item_id=item_id, hotel_id=stay.hotel_id, type=request_type.value)
        if item is not None:
            found[item_id] = item
    missing = [item_id for item_id in ids if item_id not in found]
    if missing:
        raise Unprocessable("Some items are not in this hotel's catalogue.", code="unknown_catalog_item",
                            errors={field: [f"Not available here: {', '.join(map(str, missing))}."]})
    return [(found[line["item_id"]], line["quantity"]) for line in lines]


def _line(item: Any, quantity: int, unit_price: int) -> dict[str, Any]:
    return {"item_id": item.id, "code": item.code, "name": item.name, "quantity": quantity,
            "unit_price": unit_price, "amount": unit_price * quantity}


def _room_service(*, stay: _Stay, data: dict[str, Any], at: datetime) -> tuple[dict[str, Any], int]:
    chosen = _catalog_items(stay, RequestType.ROOM_SERVICE, data["items"], "items")
    closed = [item.code for item, _ in chosen if not is_available(item, at=at, time_zone=stay.time_zone)]
    if closed:
        raise Unprocessable("Some dishes are not served at that time.", code="outside_serving_hours",
                            errors={"items": [f"Not served then: {', '.join(closed)}."]})
    lines = [_line(item, quantity, item.price) for item, quantity in chosen]
    deliver_at = data.get("deliver_at")
    return ({"items": lines, "notes": data.get("notes"), "deliver_at": deliver_at.isoformat() if deliver_at else None},
            sum(line["amount"] for line in lines))


def _laundry(*, stay: _Stay, data: dict[str, Any], at: datetime) -> tuple[dict[str, Any], int]:
    express = data.get("express", False)
    chosen = _catalog_items(stay, RequestType.LAUNDRY, data["items"], "items")
    if express and any(item.express_price is None for item, _ in chosen):
        raise Unprocessable("Some items have no express service.", code="express_unavailable",
                            errors={"express": ["Not offered for every item."]})
    lines = [_line(item, quantity, item.express_price if express else item.price) for item, quantity in chosen]
    return ({"items": lines, "express": express, "pickup_at": data["pickup_at"].isoformat() if data.get("pickup_at")
             else None, "notes": data.get("notes")}, sum(line["amount"] for line in lines))


def _repair(*, stay: _Stay, data: dict[str, Any], at: datetime) -> tuple[dict[str, Any], int]:
    [(category, _)] = _catalog_items(stay, RequestType.REPAIR, [{"item_id": data["category_id"], "quantity": 1}],
                                     "category_id")
    return ({"category": {"item_id": category.id, "code": category.code, "name": category.name},
             "description": data["description"], "location": data.get("location")}, 0)


def _housekeeping(*, stay: _Stay, data: dict[str, Any], at: datetime) -> tuple[dict[str, Any], int]:
    chosen = _catalog_items(stay, RequestType.HOUSEKEEPING, data["items"], "items")
    lines = [_line(item, quantity, item.price) for item, quantity in chosen]
    return {"items": lines, "notes": data.get("notes")}, sum(line["amount"] for line in lines)


_DETAILS = {
    RequestType.ROOM_SERVICE.value: _room_service,
    RequestType.LAUNDRY.value: _laundry,
    RequestType.REPAIR.value: _repair,
    RequestType.HOUSEKEEPING.value: _housekeeping,
}
