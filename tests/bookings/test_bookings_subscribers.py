"""Bookings' reactions to other domains' events."""

from __future__ import annotations

import pytest

from app.core.db import unit_of_work
from app.core.errors import Conflict, NotFound
from app.core.events import events_after, record
from tests.factories import headers_for, make_guest, make_hotel, make_room, make_room_type, make_stay


def redeem(guest_id: int, points: int, reference: str) -> None:
    with unit_of_work():
        record("loyalty.points_redeemed", guest_id=guest_id, payload={"points": points, "reference": reference})


def test_points_redeemed_on_a_stay_credit_its_folio(client) -> None:
    guest = make_guest()
    stay = make_stay(guest, make_room(make_room_type(make_hotel())))
    redeem(guest.id, 250, f"booking:{stay.id}")
    folio = client.get(f"/api/v1/stays/{stay.id}/folio", headers=headers_for(guest)).json
    assert [(c["kind"], c["amount"]) for c in folio["charges"]] == [("points", -25000)]


def test_points_cannot_pay_another_guests_or_a_finished_stay() -> None:
    guest, other = make_guest(), make_guest()
    room = make_room(make_room_type(make_hotel()))
    with pytest.raises(NotFound):
        redeem(other.id, 10, f"booking:{make_stay(guest, room).id}")
    done = make_stay(guest, make_room(make_room_type(make_hotel())), status="checked_out")
    with pytest.raises(Conflict):
        redeem(guest.id, 10, f"booking:{done.id}")
    assert events_after(0) == []  # refused redemptions leave nothing behind
