"""A guest with a full history, built through the API as the app and the staff console build it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from app.core import clock
from app.core.auth import Role
from app.push import jobs as push_jobs
from tests.bookings.conftest import build_hotel
from tests.factories import headers_for, make_catalog_item, make_chain, make_staff

JANUARY = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
PASSWORD = "a long and secret passphrase"


@dataclass
class History:
    """What the guest told the chain (the needles erasure must remove) and what the history produced."""

    headers: dict
    guest_id: int
    hotel: Any
    first_name: str = "Yevgenia"
    last_name: str = "Zakharchenko"
    email: str = "yevgenia.zakharchenko@example.org"
    phone: str = "+79995550123"
    document_number: str = "4510987654"
    child_name: str = "Miroslava"
    stay: dict = field(default_factory=dict)
    request_id: int = 0
    folio: dict = field(default_factory=dict)

    @property
    def needles(self) -> list[str]:
        return [self.first_name, self.last_name, self.email, self.phone, self.document_number, self.child_name]


def _ok(response: Any, status: int = 200) -> dict:
    assert response.status_code == status, response.json
    return response.json


@pytest.fixture
def time_machine():
    with clock.frozen(JANUARY) as advance:
        yield advance


@pytest.fixture
def history(client, time_machine) -> History:
    """Register, profile with document, preferences, family, consents, loyalty, a push device, a booking, check-in,
    a room-service order with a note, a message, the charge, a rating, express checkout and the survey."""
    resort = build_hotel(make_chain().id, city="Sochi", time_zone="Europe/Moscow", floors=(1, 2),
                         seasons=[("high", 4, 15, 10, 15), ("low", 10, 16, 4, 14)])
    h = History(headers={}, guest_id=0, hotel=resort)
    tokens = _ok(client.post("/api/v1/auth/register", json={
        "email": h.email, "password": PASSWORD, "first_name": h.first_name, "last_name": h.last_name,
        "device_name": f"{h.first_name}'s phone"}), 201)
    h.headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    h.guest_id = _ok(client.get("/api/v1/me", headers=h.headers))["id"]
    _build_profile(client, h)
    _stay(client, h, time_machine)
    push_jobs.queue_event_notifications()  # the transactional inbox the push feed makes of those events
    return h


def _build_profile(client: Any, h: History) -> None:
    _ok(client.patch("/api/v1/me", headers=h.headers, json={
        "phone": h.phone, "birth_date": "1990-04-12", "city": "Krasnoyarsk", "country": "RU"}))
    _ok(client.put("/api/v1/me/identity-document", headers=h.headers, json={
        "type": "passport", "number": h.document_number, "issuing_country": "RU", "expires_on": "2031-05-01"}))
    _ok(client.put("/api/v1/me/preferences", headers=h.headers, json={
        "pillow": "hypoallergenic", "allergies": ["peanuts"], "floor": "high",
        "notes": f"{h.first_name} sleeps badly near lifts"}))
    _ok(client.post("/api/v1/me/consents", headers=h.headers, json={"purpose": "children_birthdays",
                                                                     "granted": True}), 201)
    _ok(client.post("/api/v1/me/consents", headers=h.headers, json={"purpose": "marketing_push", "granted": True}),
        201)
    _ok(client.post("/api/v1/me/family", headers=h.headers, json={
        "relation": "child", "first_name": h.child_name, "birth_date": "2019-08-30"}), 201)
    _ok(client.post("/api/v1/loyalty/enrol", headers=h.headers, json={}), 201)
    _ok(client.post("/api/v1/auth/code", json={"email": h.email}), 202)  # a one-time code kept for its contact
    _ok(client.post("/api/v1/me/devices", headers=h.headers, json={
        "token": "fcm-token-privacy-0001-abcdefgh", "platform": "android"}), 201)


def _stay(client: Any, h: History, advance: Any) -> None:
    hotel = h.hotel
    dish = make_catalog_item(hotel.hotel, "room_service", code="pelmeni", price=60000)
    desk = headers_for(make_staff(Role.FRONT_DESK, hotels=[hotel.hotel]))
    body = {"hotel_id": hotel.hotel.id, "room_type_id": hotel.room_type.id, "check_in": "2027-01-20",
            "check_out": "2027-01-22", "adults": 2}
    quote = _ok(client.post("/api/v1/quotes", headers=h.headers, json=body))
    booking = _ok(client.post("/api/v1/bookings", headers={**h.headers, "Idempotency-Key": "book-1"}, json={
        **body, "expected_total": quote["totals"]["total"],
        "special_requests": f"Please greet {h.first_name} {h.last_name} by name"}), 201)
    advance(datetime(2027, 1, 20, 9, 0, tzinfo=UTC) - clock.now())
    h.stay = _ok(client.post(f"/api/v1/bookings/{booking['id']}/actions/check-in", headers=h.headers))
    order = _ok(client.post("/api/v1/requests", headers=h.headers, json={
        "stay_id": h.stay["id"], "type": "room_service", "items": [{"item_id": dish.id, "quantity": 2}],
        "notes": f"Knock twice, {h.first_name} is asleep"}), 201)
    h.request_id = order["id"]
    _ok(client.post(f"/api/v1/stays/{h.stay['id']}/messages", headers=h.headers, json={
        "body": f"Hello, this is {h.first_name} {h.last_name}; call me on {h.phone} or {h.email}"}), 201)
    for action in ("acknowledge", "assign", "start", "complete"):
        _ok(client.post(f"/api/v1/staff/requests/{h.request_id}/actions/{action}", headers=desk, json={}))
    _ok(client.post(f"/api/v1/requests/{h.request_id}/actions/rate", headers=h.headers, json={
        "rating": 2, "comment": f"{h.first_name} found the pelmeni cold"}))
    advance(datetime(2027, 1, 22, 7, 0, tzinfo=UTC) - clock.now())
    h.folio = _ok(client.get(f"/api/v1/stays/{h.stay['id']}/folio", headers=h.headers))
    _ok(client.post(f"/api/v1/stays/{h.stay['id']}/actions/checkout", headers=h.headers,
                    json={"confirmed_balance": h.folio["balance"]}))
    _ok(client.post(f"/api/v1/stays/{h.stay['id']}/survey", headers=h.headers, json={"answers": {
        "overall": 4, "recommend": 8, "comment": f"Regards, {h.first_name} {h.last_name}"}}), 201)
