"""Bookings made at the front desk: a walk-in (or phoned-in) guest is priced and booked by a clerk, without the
app-only discount, once per Idempotency-Key, then checked in at the desk."""

from __future__ import annotations

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.core.auth import Role
from app.core.events import events_after
from app.extensions import db
from tests.bookings.conftest import book, booked_count
from tests.factories import headers_for, make_guest, make_member, make_staff


def _stay(hotel, **extra) -> dict:
    return {"hotel_id": hotel.hotel.id, "room_type_id": hotel.room_type.id, "check_in": "2027-01-10",
            "check_out": "2027-01-12", "adults": 2, **extra}


def _desk_book(client, staff, body: dict, key: str | None = None):
    headers = headers_for(staff) | ({"Idempotency-Key": key} if key else {})
    return client.post("/api/v1/staff/bookings", json=body, headers=headers)


def test_a_walk_in_is_booked_at_the_desk_price_once_and_checked_in(client, chain, time_machine) -> None:
    resort = chain["resort"]
    desk = make_staff(Role.FRONT_DESK, hotels=[resort.hotel])
    walk_in = client.post("/api/v1/staff/guests", headers=headers_for(desk), json={
        "hotel_id": resort.hotel.id, "first_name": "Pavel", "last_name": "Petrov", "phone": "+79995550011"})
    assert walk_in.status_code == 201, walk_in.json
    guest_id = walk_in.json["id"]

    in_the_app = client.post("/api/v1/quotes", json=_stay(resort)).json
    at_the_desk = client.post("/api/v1/staff/quotes", json=_stay(resort, guest_id=guest_id),
                              headers=headers_for(desk))
    assert at_the_desk.status_code == 200, at_the_desk.json
    for night in at_the_desk.json["nights"]:
        assert night["discounts"] == [] and night["net"] == night["public_price"]  # no app-only discount
    direct = sum(d["amount"] for night in in_the_app["nights"] for d in night["discounts"] if d["code"] == "direct")
    assert direct > 0
    assert at_the_desk.json["totals"]["net"] - in_the_app["totals"]["net"] == direct

    body = _stay(resort, guest_id=guest_id, expected_total=at_the_desk.json["totals"]["total"],
                 special_requests="Arrived by the night train")
    first = _desk_book(client, desk, body, key="desk-1")
    again = _desk_book(client, desk, body, key="desk-1")
    assert first.status_code == again.status_code == 201, first.json
    assert again.json["id"] == first.json["id"] and again.headers["Idempotent-Replayed"] == "true"
    assert first.json["total_amount"] == at_the_desk.json["totals"]["total"]
    assert booked_count(resort.room_type.id, "2027-01-10") == 1
    [created] = [event for event in events_after(0, limit=100) if event.type == "booking.created"]
    assert created.payload["channel"] == "front_desk" and created.guest_id == guest_id
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "stays.booked")).all()
    assert (entry.actor_id, entry.subject_id, entry.detail["guest_id"]) == (desk.id, first.json["id"], guest_id)

    listed = client.get(f"/api/v1/staff/stays?hotel_id={resort.hotel.id}&list=arrivals", headers=headers_for(desk))
    assert [(item["id"], item["channel"]) for item in listed.json["items"]] == [(first.json["id"], "front_desk")]
    checked_in = client.post(f"/api/v1/staff/stays/{first.json['id']}/actions/check-in", json={},
                             headers=headers_for(desk))
    assert checked_in.status_code == 200 and checked_in.json["status"] == "in_house"


def test_a_member_keeps_the_tier_discount_at_the_desk_and_the_desk_price_when_moving_dates(
        client, chain, time_machine) -> None:
    resort = chain["resort"]
    desk = make_staff(Role.FRONT_DESK, hotels=[resort.hotel])
    guest = make_guest(hotels=[resort.hotel])
    make_member(guest, tier="gold")
    quote = client.post("/api/v1/staff/quotes", json=_stay(resort, guest_id=guest.id), headers=headers_for(desk)).json
    assert {d["code"] for night in quote["nights"] for d in night["discounts"]} == {"tier"}
    booking = _desk_book(client, desk, _stay(resort, guest_id=guest.id)).json
    assert booking["total_amount"] == quote["totals"]["total"]

    # The guest sees the booking in the app and moves it; the new dates keep the desk's terms.
    mine = client.get("/api/v1/bookings", headers=headers_for(guest)).json["items"]
    assert [item["id"] for item in mine] == [booking["id"]]
    moved = client.post(f"/api/v1/bookings/{booking['id']}/actions/modify", headers=headers_for(guest),
                        json={"check_in": "2027-01-11", "check_out": "2027-01-13"})
    assert moved.status_code == 200, moved.json
    assert {d["code"] for night in moved.json["price"]["nights"] for d in night["discounts"]} == {"tier"}


def test_the_desk_books_only_its_hotels_and_guests_it_knows(client, chain, time_machine) -> None:
    resort, ski = chain["resort"], chain["ski"]
    desk = make_staff(Role.FRONT_DESK, hotels=[resort.hotel])
    known, stranger = make_guest(hotels=[resort.hotel]), make_guest(hotels=[ski.hotel])

    other_hotel = _desk_book(client, desk, _stay(ski, guest_id=known.id))
    assert other_hotel.status_code == 404
    unknown_guest = _desk_book(client, desk, _stay(resort, guest_id=stranger.id))
    assert unknown_guest.status_code == 404
    quote_for_stranger = client.post("/api/v1/staff/quotes", json=_stay(resort, guest_id=stranger.id),
                                     headers=headers_for(desk))
    assert quote_for_stranger.status_code == 404
    assert _desk_book(client, make_staff(Role.CONCIERGE, hotels=[resort.hotel]),
                      _stay(resort, guest_id=known.id)).status_code == 403
    assert client.post("/api/v1/staff/bookings", json=_stay(resort, guest_id=known.id),
                       headers=headers_for(known)).status_code in (401, 403)
    for body in (_stay(resort), _stay(resort, guest_id="me"), _stay(resort, guest_id=known.id, channel="app"),
                 _stay(resort, guest_id=known.id, check_out="2027-01-09")):
        invalid = _desk_book(client, desk, body)
        assert invalid.status_code == 422 and invalid.json["code"] in ("validation_failed", "invalid_dates"), body
    assert booked_count(resort.room_type.id, "2027-01-10") == 0

    for _ in resort.rooms:
        assert book(client, make_guest(), resort, check_in="2027-01-10", check_out="2027-01-11").status_code == 201
    full = _desk_book(client, desk, _stay(resort, guest_id=known.id))
    assert full.status_code == 409 and full.json["code"] == "sold_out"
