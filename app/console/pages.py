"""What each console page shows, gathered from the domain services (the console holds no rules of its own)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.bookings import services as bookings
from app.core import clock
from app.core.auth import GUEST_DATA_ROLES, MANAGERS, Role
from app.core.i18n import localise
from app.hotels import services as hotels_services
from app.iot.services.rooms import staff_rooms
from app.partners.services.desk import hotel_day_bookings
from app.requests import services as requests_services
from app.requests.models import OPEN_STATUSES
from app.requests.services.lifecycle import QUEUE_ROLES, RULES
from app.staff import services as staff_services

QUEUE_LIMIT = 100
# Buttons a queue row offers, in order; each shows only when the request's status allows it (RULES).
ROW_ACTIONS = ("acknowledge", "assign", "start", "hold", "resume", "complete")
ROOM_ROLES = (Role.FRONT_DESK, Role.HOUSEKEEPING, Role.MAINTENANCE, Role.CONCIERGE, *MANAGERS)
PARTNER_DESK_ROLES = GUEST_DATA_ROLES
STAY_ROLES = GUEST_DATA_ROLES  # the desk's lists and stays; checking in and out: DESK_ROLES
DESK_LIST_LIMIT = 100
MARKETING_ROLES = (Role.MARKETER,)
DEPARTMENTS = ("kitchen", "laundry", "maintenance", "housekeeping")


@dataclass(frozen=True)
class QueueFilters:
    hotel_id: int | None = None
    department: str | None = None
    status: str | None = None
    overdue: bool | None = None

    @classmethod
    def from_args(cls, args: Any) -> QueueFilters:
        """Read the filter form; values outside the known ones are ignored rather than refused."""
        hotel_id = args.get("hotel_id", "")
        department = args.get("department") or None
        status = args.get("status") or None
        return cls(hotel_id=int(hotel_id) if hotel_id.isdigit() and len(hotel_id) < 10 else None,
                   department=department if department in DEPARTMENTS else None,
                   status=status if status in {s.value for s in OPEN_STATUSES} else None,
                   overdue=True if args.get("overdue") == "1" else None)

    def query(self) -> dict[str, str]:
        values = {"hotel_id": self.hotel_id, "department": self.department, "status": self.status,
                  "overdue": "1" if self.overdue else None}
        return {key: str(value) for key, value in values.items() if value is not None}


def chosen_hotel(hotels: list[Any], raw: str | None) -> Any:
    """The hotel picked in ?hotel_id= if it is one of mine, else my first (None when I have none)."""
    for hotel in hotels:
        if raw == str(hotel.id):
            return hotel
    return hotels[0] if hotels else None


def home_endpoint(staff: Any) -> str:
    """Where a staff member lands after login: the queue, or the marketing desk for marketers."""
    return "console.marketing" if staff.role == Role.MARKETER else "console.queue"


def nav(staff: Any) -> list[tuple[str, str]]:
    """(endpoint, label key) of the pages the staff member's role opens."""
    pages = [("console.queue", "queue", QUEUE_ROLES), ("console.stays", "front_desk", STAY_ROLES),
             ("console.rooms", "rooms", ROOM_ROLES),
             ("console.marketing", "marketing", MARKETING_ROLES), ("console.partners", "partners", PARTNER_DESK_ROLES)]
    return [(endpoint, label) for endpoint, label, roles in pages if staff.role in {r.value for r in roles}]


def my_hotels(staff: Any) -> list[Any]:
    """The hotels the staff member works at (a chain admin: every active hotel)."""
    if staff.is_chain_wide:
        return hotels_services.list_hotels(cursor=None, limit=100).items
    return sorted(staff.hotels, key=lambda hotel: hotel.id)


def hotel_names(hotels: list[Any]) -> dict[int, str]:
    return {hotel.id: localise(hotel.name) or hotel.code for hotel in hotels}


def queue(staff: Any, filters: QueueFilters) -> dict[str, Any]:
    """The open queue, most urgent first, with each row's SLA time left, room state and possible actions."""
    page = requests_services.staff_queue(
        staff=staff, cursor=None, limit=QUEUE_LIMIT, hotel_id=filters.hotel_id, department=filters.department,
        status=[filters.status] if filters.status else None, overdue=filters.overdue)
    now = clock.now()
    names = staff_services.names_of(r.assigned_to_staff_id for r in page.items)
    stays = {booking_id: bookings.find_booking(booking_id=booking_id)
             for booking_id in {r.booking_id for r in page.items}}
    rows = [{
        "request": r, "seconds_left": r.seconds_left(now), "overdue": r.overdue(now),
        "assignee": names.get(r.assigned_to_staff_id), "room_state": _room_state(stays.get(r.booking_id)),
        "actions": [action for action in ROW_ACTIONS if r.status in RULES[action].allowed_from],
    } for r in page.items]
    return {"rows": rows, "more": page.next_cursor is not None}


def _room_state(stay: Any) -> str:
    return stay.room_state if stay is not None and stay.status == "in_house" else "none"


def request_detail(staff: Any, request_id: int) -> dict[str, Any]:
    """One request with its history (who, when), its room state and whom it may be assigned to."""
    request = requests_services.staff_view(staff=staff, request_id=request_id)
    history = requests_services.history(request)
    names = staff_services.names_of([request.assigned_to_staff_id,
                                     *(t.actor_id for t in history if t.actor_kind == "staff")])
    now = clock.now()
    return {
        "req": request, "history": history, "names": names, "seconds_left": request.seconds_left(now),
        "overdue": request.overdue(now),
        "room_state": _room_state(bookings.find_booking(booking_id=request.booking_id)),
        "actions": [action for action in (*ROW_ACTIONS, "reject") if request.status in RULES[action].allowed_from],
        "colleagues": staff_services.colleagues(staff=staff, hotel_id=request.hotel_id,
                                                roles=[role.value for role in QUEUE_ROLES]),
        "may_see_guest": staff.role in {role.value for role in GUEST_DATA_ROLES},
    }


def rooms(staff: Any, hotel_id: int) -> dict[str, Any]:
    """Rooms of a hotel with occupancy, DND / make-up-room, devices, and the faults and offline devices to look at."""
    views = staff_rooms(staff=staff, hotel_id=hotel_id)
    alerts = []
    for room in views:
        for device in room.devices:
            if device.fault:
                alerts.append({"room": room.number, "device": device, "kind": "fault", "text": device.fault})
            elif device.available is False:
                alerts.append({"room": room.number, "device": device, "kind": "offline", "text": ""})
    bridge_known = any(device.available is not None for room in views for device in room.devices)
    has_devices = any(room.devices for room in views)
    return {"rooms": views, "alerts": alerts, "bridge_down": has_devices and not bridge_known}


def desk_day(staff: Any, hotel_id: int, kind: str) -> dict[str, Any]:
    """One of the desk's lists for the hotel's today (audited: call in a unit of work)."""
    day, page = bookings.desk_list(staff=staff, hotel_id=hotel_id, kind=bookings.DeskList(kind), day=None,
                                   cursor=None, limit=DESK_LIST_LIMIT)
    return {"day": day, "entries": page.items, "more": page.next_cursor is not None}


def partner_day(staff: Any, hotel_id: int) -> list[dict[str, Any]]:
    return hotel_day_bookings(staff=staff, hotel_id=hotel_id)
