"""Hotel use cases, split by what they manage: hotels, season calendars, room types, rooms and departments."""

from app.hotels.services.hotels import (
    create_chain,
    create_hotel,
    find_chain,
    get_hotel,
    get_managed_hotel,
    list_hotels,
    update_hotel,
)
from app.hotels.services.rooms import (
    create_room,
    create_room_type,
    list_departments,
    list_managed_room_types,
    list_room_types,
    list_rooms,
    replace_departments,
    update_room,
    update_room_type,
)
from app.hotels.services.seasons import DEFAULT_RESORT_CALENDAR, replace_seasons, season_calendar, season_on

__all__ = [
    "DEFAULT_RESORT_CALENDAR", "create_chain", "create_hotel", "create_room", "create_room_type", "find_chain",
    "get_hotel", "get_managed_hotel", "list_departments", "list_hotels", "list_managed_room_types",
    "list_room_types", "list_rooms", "replace_departments", "replace_seasons", "season_calendar", "season_on",
    "update_hotel", "update_room", "update_room_type",
]
