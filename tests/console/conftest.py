"""Console tests: a hotel with a checked-in guest, its staff of several roles, and helpers to log in with a form."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from app.bookings.services.booking import hotel_today
from app.core import clock
from app.core.auth import Role
from tests.bookings.conftest import JANUARY, ChainHotel, book, build_hotel
from tests.factories import (
    PASSWORD,
    headers_for,
    make_catalog_item,
    make_chain,
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


@pytest.fixture
def resort() -> Iterator[ChainHotel]:
    """A hotel that can be booked (rate plan, pricing, seasons: tests/bookings' resort), for the desk's pages; the
    clock stands at noon there, so that its today cannot change between a booking and the page that lists it."""
    with clock.frozen(JANUARY):
        yield build_hotel(make_chain().id, city="Sochi", time_zone="Europe/Moscow", floors=(1, 2, 5),
                          seasons=[("high", 4, 15, 10, 15), ("low", 10, 16, 4, 14)])


def book_from_today(client: Any, guest: Any, hotel: ChainHotel, nights: int = 2) -> dict:
    """A booking arriving today, hotel time (the desk's lists show the hotel's today)."""
    today = hotel_today(hotel.hotel)
    response = book(client, guest, hotel, check_in=today.isoformat(),
                    check_out=(today + timedelta(days=nights)).isoformat())
    assert response.status_code == 201, response.json
    return response.json


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


# -- a real HTTP server and Chromium, for the browser tests ------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture(scope="module")
def live_server(app: Flask) -> Iterator[str]:
    """The app behind werkzeug's threaded server on an ephemeral port, sharing the tests' database.

    Request threads are daemons (werkzeug's ThreadingMixIn), so a stream a page holds open never blocks the end.
    """
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="console-live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium, driven by Playwright (never `playwright install`: the test command installs the browser).

    Module-scoped: Playwright's sync API keeps an asyncio loop running in this thread while it lives, and later
    tests that call asyncio.run() themselves (firebase-admin closing its client) would fail under it.
    """
    if not Path(CHROMIUM).exists():
        if os.environ.get("CONSOLE_BROWSER_OPTIONAL") == "1":
            pytest.skip(f"{CHROMIUM} is absent and CONSOLE_BROWSER_OPTIONAL=1")
        pytest.fail(f"{CHROMIUM} is missing: scripts/test installs the chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium: Any, live_server: str) -> Iterator[Any]:
    """A fresh browser profile (no cookies) per test, English unless the test switches."""
    context = chromium.new_context(base_url=live_server, locale="en-GB", viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def screenshot(page: Any, name: str) -> None:
    """Save the whole page as var/screenshots/<name>.png for review."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def browser_login(page: Any, staff: Any, *, shot: str | None = None) -> None:
    page.goto("/console/login")
    page.fill("input[name=email]", staff.email)
    page.fill("input[name=password]", PASSWORD)
    if shot:
        screenshot(page, shot)
    page.click("button[type=submit]")
