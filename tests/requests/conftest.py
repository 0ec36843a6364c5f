"""A hotel with a checked-in guest, its staff and a small catalogue; helpers to drive requests through the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from app.core.auth import Role
from tests.factories import (
    headers_for,
    make_catalog_item,
    make_guest,
    make_hotel,
    make_room,
    make_room_type,
    make_staff,
    make_stay,
)


@dataclass
class World:
    hotel: Any
    room: Any
    guest: Any
    stay: Any
    guest_headers: dict
    desk: Any
    desk_headers: dict
    manager_headers: dict
    dish: Any
    shirt: Any
    leak: Any
    towels: Any

    def order(self, client: Any, body: dict | None = None, headers: dict | None = None) -> Any:
        body = body or {"type": "room_service", "items": [{"item_id": self.dish.id, "quantity": 2}]}
        return client.post("/api/v1/requests", json={"stay_id": self.stay.id, **body},
                           headers={**self.guest_headers, **(headers or {})})

    def act(self, client: Any, request_id: int, action: str, body: dict | None = None,
            headers: dict | None = None) -> Any:
        return client.post(f"/api/v1/staff/requests/{request_id}/actions/{action}", json=body or {},
                           headers=headers or self.desk_headers)


@pytest.fixture
def world() -> World:
    hotel = make_hotel()
    room = make_room(make_room_type(hotel), number="305")
    guest = make_guest(phone="+79995550011")
    stay = make_stay(guest, room)
    desk = make_staff(Role.FRONT_DESK, hotels=[hotel])
    return World(
        hotel=hotel, room=room, guest=guest, stay=stay, guest_headers=headers_for(guest), desk=desk,
        desk_headers=headers_for(desk), manager_headers=headers_for(make_staff(Role.HOTEL_MANAGER, hotels=[hotel])),
        dish=make_catalog_item(hotel, "room_service", code="borscht", name={"en": "Borscht", "ru": "Борщ"},
                               price=45000),
        shirt=make_catalog_item(hotel, "laundry", code="shirt", price=30000, express_price=45000),
        leak=make_catalog_item(hotel, "repair", code="plumbing", name={"en": "Plumbing", "ru": "Сантехника"}),
        towels=make_catalog_item(hotel, "housekeeping", code="towels"),
    )
