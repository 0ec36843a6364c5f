"""Console tests: a hotel with a checked-in guest, its staff of several roles, and helpers to log in with a form."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from app.core.auth import Role
from tests.factories import (
    PASSWORD,
    headers_for,
    make_catalog_item,
    make_guest,
    make_hotel,
    make_room,
    make_room_type,
    make_staff,
    make_stay,
)

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class ConsoleWorld:
    hotel: Any
    room: Any
    guest: Any
    stay: Any
    guest_headers: dict
    desk: Any
    housekeeper: Any
    marketer: Any
    manager: Any
    dish: Any

    def order(self, client: Any) -> dict:
        """The guest orders room service through the API, as the app does."""
        response = client.post("/api/v1/requests", headers=self.guest_headers, json={
            "stay_id": self.stay.id, "type": "room_service", "items": [{"item_id": self.dish.id, "quantity": 1}]})
        assert response.status_code == 201, response.json
        return response.json


@pytest.fixture
def world() -> ConsoleWorld:
    hotel = make_hotel(name={"en": "Sea Breeze", "ru": "Морской бриз"})
    room = make_room(make_room_type(hotel), number="305")
    guest = make_guest(hotels=[hotel], first_name="Anna", phone="+79995550011")
    return ConsoleWorld(
        hotel=hotel, room=room, guest=guest, stay=make_stay(guest, room), guest_headers=headers_for(guest),
        desk=make_staff(Role.FRONT_DESK, hotels=[hotel], full_name="Daria Desk"),
        housekeeper=make_staff(Role.HOUSEKEEPING, hotels=[hotel], full_name="Hanna House"),
        marketer=make_staff(Role.MARKETER, hotels=[hotel], full_name="Mark Eter"),
        manager=make_staff(Role.HOTEL_MANAGER, hotels=[hotel], full_name="Max Manager"),
        dish=make_catalog_item(hotel, "room_service", code="borscht", name={"en": "Borscht", "ru": "Борщ"}),
    )


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def console_login(client: Any, staff: Any, password: str = PASSWORD) -> Any:
    """Log in through the form, as a browser does; returns the response of the POST."""
    page = client.get("/console/login")
    return client.post("/console/login", data={"email": staff.email, "password": password,
                                               "csrf_token": csrf_of(page.text)})


def page_csrf(client: Any, path: str = "/console/queue") -> str:
    return csrf_of(client.get(path).text)
