"""The stay in progress, its folio and its room state, through the API as the guest app uses them."""

from __future__ import annotations

import pytest

from app.bookings import services
from app.bookings.models import ChargeKind
from app.core.db import unit_of_work
from app.core.errors import Conflict
from app.core.events import events_after
from tests.factories import headers_for, make_guest, make_hotel, make_room, make_room_type, make_stay


@pytest.fixture
def stay():
    hotel = make_hotel()
    room = make_room(make_room_type(hotel))
    guest = make_guest()
    return make_stay(guest, room), guest


def test_guest_sees_current_stay_and_another_guest_gets_404(client, stay) -> None:
    booking, guest = stay
    response = client.get("/api/v1/stays/current", headers=headers_for(guest))
    assert response.status_code == 200
    assert response.json["id"] == booking.id and response.json["status"] == "in_house"
    other = make_guest()
    assert client.get(f"/api/v1/stays/{booking.id}", headers=headers_for(other)).status_code == 404
    assert client.get(f"/api/v1/stays/{booking.id}/folio", headers=headers_for(other)).status_code == 404
    missing = client.get("/api/v1/stays/current", headers=headers_for(other))
    assert missing.status_code == 404 and missing.json["code"] == "no_current_stay"


def test_a_charge_with_the_same_source_is_posted_once(client, stay) -> None:
    booking, guest = stay
    for _ in range(2):
        with unit_of_work():
            services.post_charge(booking_id=booking.id, kind=ChargeKind.MINIBAR, amount=35000, source="minibar:1",
                                 description={"en": "Minibar", "ru": "Мини-бар"})
    folio = client.get(f"/api/v1/stays/{booking.id}/folio", headers=headers_for(guest)).json
    assert folio["balance"] == 35000
    assert [(c["kind"], c["amount"], c["description"]) for c in folio["charges"]] == [("minibar", 35000, "Minibar")]
    assert [e.type for e in events_after(0)] == ["folio.charge_posted"]


def test_closed_folio_rejects_charge(stay) -> None:
    booking, _ = stay
    with unit_of_work():
        services.open_folio(booking).close()
    with pytest.raises(Conflict) as refused, unit_of_work():
        services.post_charge(booking_id=booking.id, kind="minibar", amount=100, source="minibar:2",
                             description={"en": "Minibar"})
    assert refused.value.code == "folio_closed"


def test_dnd_and_make_up_room_exclude_each_other_and_record_events(client, stay) -> None:
    booking, guest = stay
    url = f"/api/v1/stays/{booking.id}/room-status"
    assert client.put(url, json={"state": "dnd"}, headers=headers_for(guest)).json["room_state"] == "dnd"
    assert client.put(url, json={"state": "make_up_room"}, headers=headers_for(guest)).json["room_state"] == \
        "make_up_room"
    changes = [e.payload for e in events_after(0, types=["room.dnd_changed"])]
    assert [(c["previous"], c["state"]) for c in changes] == [("none", "dnd"), ("dnd", "make_up_room")]
    bad = client.put(url, json={"state": "sleeping"}, headers=headers_for(guest))
    assert bad.status_code == 422


def test_room_state_needs_an_occupied_room(client) -> None:
    hotel = make_hotel()
    guest = make_guest()
    booking = make_stay(guest, make_room(make_room_type(hotel)), status="confirmed")
    response = client.put(f"/api/v1/stays/{booking.id}/room-status", json={"state": "dnd"},
                          headers=headers_for(guest))
    assert response.status_code == 409 and response.json["code"] == "room_not_occupied"
