"""A guest's stays through the API: book, change, cancel, check in, charges, express checkout, survey."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.bookings import services
from app.bookings.models import Booking
from app.core import clock
from app.core.db import unit_of_work
from app.core.events import events_after
from app.extensions import db
from tests.bookings.conftest import book, booked_count, transaction_held_open
from tests.factories import give_points, headers_for, make_guest


def test_booking_confirms_at_the_quoted_price_and_a_retry_books_nothing_new(client, chain, time_machine) -> None:
    guest = make_guest()
    quoted = client.post("/api/v1/quotes", json={"hotel_id": chain["ski"].hotel.id, "check_in": "2027-01-20",
                                                 "room_type_id": chain["ski"].room_type.id,
                                                 "check_out": "2027-01-23", "adults": 2}).json
    first = book(client, guest, chain["ski"], key="book-1", expected_total=quoted["totals"]["total"])
    again = book(client, guest, chain["ski"], key="book-1", expected_total=quoted["totals"]["total"])
    assert first.status_code == again.status_code == 201 and again.json == first.json
    assert first.json["status"] == "confirmed" and first.json["total_amount"] == quoted["totals"]["total"]
    assert first.json["price"]["nights"] == quoted["nights"]
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1
    assert booked_count(chain["ski"].room_type.id, "2027-01-21") == 1


def test_a_changed_price_is_not_booked_silently(client, chain, time_machine) -> None:
    response = book(client, make_guest(), chain["ski"], expected_total=1)
    assert response.status_code == 409 and response.json["code"] == "price_changed"
    assert booked_count(chain["ski"].room_type.id, "2027-01-21") == 0


@pytest.mark.slow
def test_many_guests_racing_for_the_last_room_get_exactly_one(app, chain, time_machine) -> None:
    hotel = chain["resort"]
    for guest in [make_guest() for _ in range(len(hotel.rooms) - 1)]:
        assert book(app.test_client(), guest, hotel).status_code == 201
    racers = [headers_for(make_guest()) for _ in range(12)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(lambda headers: book(app.test_client(), None, hotel, headers=headers), racers))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 11, statuses
    assert {r.json["code"] for r in responses if r.status_code == 409} == {"sold_out"}
    assert booked_count(hotel.room_type.id, "2027-01-20") == len(hotel.rooms)


def test_modify_moves_the_nights_and_refuses_dates_that_are_full(client, chain, time_machine) -> None:
    hotel, guest = chain["resort"], make_guest()
    booking = book(client, guest, hotel).json
    url = f"/api/v1/bookings/{booking['id']}/actions/modify"
    moved = client.post(url, json={"check_in": "2027-02-01", "check_out": "2027-02-03"}, headers=headers_for(guest))
    assert moved.status_code == 200 and moved.json["nights"] == 2
    assert booked_count(hotel.room_type.id, "2027-01-20") == 0 and booked_count(hotel.room_type.id, "2027-02-01") == 1
    for other in [make_guest() for _ in hotel.rooms]:
        book(client, other, hotel, check_in="2027-03-01", check_out="2027-03-02")
    full = client.post(url, json={"check_in": "2027-03-01", "check_out": "2027-03-02"}, headers=headers_for(guest))
    assert full.status_code == 409 and full.json["code"] == "sold_out"
    kept = client.get(f"/api/v1/bookings/{booking['id']}", headers=headers_for(guest)).json
    assert (kept["check_in"], kept["check_out"]) == ("2027-02-01", "2027-02-03")
    assert booked_count(hotel.room_type.id, "2027-02-01") == 1


def test_cancellation_is_free_until_the_deadline_then_costs_the_first_night(client, chain, time_machine) -> None:
    hotel, guest = chain["resort"], make_guest()
    early = book(client, guest, hotel).json
    late = book(client, guest, hotel, check_in="2027-01-11", check_out="2027-01-13").json
    assert early["free_cancellation_until"] == "2027-01-18T14:00:00+03:00"  # 48 h before 14:00 on arrival day
    free = client.post(f"/api/v1/bookings/{early['id']}/actions/cancel", headers=headers_for(guest))
    assert free.status_code == 200 and free.json["status"] == "cancelled" and free.json["cancellation_fee"] == 0
    fee = client.post(f"/api/v1/bookings/{late['id']}/actions/cancel", headers=headers_for(guest)).json
    assert fee["cancellation_fee"] == late["price"]["nights"][0]["total"] > 0
    folio = client.get(f"/api/v1/stays/{late['id']}/folio", headers=headers_for(guest)).json
    assert folio["balance"] == fee["cancellation_fee"] and folio["status"] == "closed"
    assert booked_count(hotel.room_type.id, "2027-01-11") == 0
    twice = client.post(f"/api/v1/bookings/{early['id']}/actions/cancel", headers=headers_for(guest))
    assert twice.status_code == 409 and twice.json["code"] == "booking_not_modifiable"


def test_other_guests_bookings_are_not_found(client, chain, time_machine) -> None:
    booking = book(client, make_guest(), chain["resort"]).json
    stranger = headers_for(make_guest())
    for path in ("", "/actions/cancel", "/actions/check-in"):
        method = client.get if not path else client.post
        assert method(f"/api/v1/bookings/{booking['id']}{path}", headers=stranger).status_code == 404
    assert client.get("/api/v1/bookings", headers=stranger).json["items"] == []


def test_mobile_check_in_opens_the_day_before_arrival(client, chain, time_machine) -> None:
    guest = make_guest()
    booking = book(client, guest, chain["resort"]).json
    url = f"/api/v1/bookings/{booking['id']}/actions/check-in"
    too_early = client.post(url, headers=headers_for(guest))
    assert too_early.status_code == 409 and too_early.json["code"] == "check_in_not_open"
    time_machine(timedelta(days=9))  # 19 January, the day before arrival
    checked_in = client.post(url, headers=headers_for(guest))
    assert checked_in.status_code == 200 and checked_in.json["status"] == "in_house"
    assert checked_in.json["room_number"] in {room.number for room in chain["resort"].rooms}


def test_guests_checking_in_at_the_same_moment_get_different_rooms(app, client, chain, time_machine) -> None:
    """Both see the same free rooms and prefer the same one; the second, held up by the first's transaction, takes
    the next room (PostgreSQL: after the unique index on in-house rooms refused the first choice)."""
    hotel, first, second = chain["resort"], make_guest(), make_guest()
    bookings = [book(client, guest, hotel, check_in="2027-01-10", check_out="2027-01-12").json
                for guest in (first, second)]
    db.session.remove()

    def check_in_second():
        with app.app_context():
            return app.test_client().post(f"/api/v1/bookings/{bookings[1]['id']}/actions/check-in",
                                          headers=headers_for(second))

    def check_in_first() -> int | None:
        return services.check_in(guest_id=first.id, booking_id=bookings[0]["id"]).room_id

    with ThreadPoolExecutor(1) as pool, transaction_held_open(app, check_in_first) as first_room:
        checking_in = pool.submit(check_in_second)
        time.sleep(0.3)  # the second check-in is under way, waiting for the first's transaction
    response = checking_in.result()
    assert response.status_code == 200, response.json
    assert response.json["room_id"] not in (None, first_room.result())


def journey(client, guest, hotel, *, check_in: str, check_out: str, advance, minibar: int) -> dict:
    """search -> quote -> book -> check in -> a charge -> express checkout, as the app does it."""
    headers = headers_for(guest)
    found = client.get(f"/api/v1/availability?city={hotel.hotel.city}&check_in={check_in}&check_out={check_out}"
                       "&guests=2").json
    [offer] = found[0]["offers"]
    quoted = client.post("/api/v1/quotes", headers=headers, json={
        "hotel_id": hotel.hotel.id, "room_type_id": offer["room_type_id"], "check_in": check_in,
        "check_out": check_out, "adults": 2}).json
    booking = book(client, guest, hotel, check_in=check_in, check_out=check_out, key=f"trip-{check_in}",
                   expected_total=quoted["totals"]["total"]).json
    advance(datetime.fromisoformat(check_in).replace(tzinfo=UTC) - clock.now())
    stay = client.post(f"/api/v1/bookings/{booking['id']}/actions/check-in", headers=headers).json
    with unit_of_work():
        for _ in range(2):  # a retried posting from another part of the system
            services.post_charge(booking_id=stay["id"], kind="minibar", amount=minibar, source="minibar:1",
                                 description={"en": "Minibar"})
    assert client.get("/api/v1/stays/current", headers=headers).json["id"] == stay["id"]
    folio = client.get(f"/api/v1/stays/{stay['id']}/folio", headers=headers).json
    assert folio["balance"] == quoted["totals"]["total"] + minibar
    advance(datetime.fromisoformat(check_out).replace(tzinfo=UTC) - clock.now())
    url = f"/api/v1/stays/{stay['id']}/actions/checkout"
    stale = client.post(url, json={"confirmed_balance": folio["balance"] - 1}, headers=headers)
    assert stale.status_code == 409 and stale.json["code"] == "folio_changed"
    done = client.post(url, json={"confirmed_balance": folio["balance"]}, headers=headers)
    assert done.status_code == 200, done.json
    assert done.json["stay"]["status"] == "checked_out" and done.json["balance"] == folio["balance"]
    return {"stay": stay, "checkout": done.json, "quote": quoted}


def test_a_member_stays_in_two_hotels_earns_points_changes_tier_and_keeps_preferences(client, chain,
                                                                                         time_machine) -> None:
    guest = make_guest()
    headers = headers_for(guest)
    assert client.post("/api/v1/loyalty/enrol", json={}, headers=headers).status_code == 201
    assert client.put("/api/v1/me/preferences", headers=headers, json={
        "floor": "high", "quiet_room": True, "room_temperature_c": 21.5, "pillow": "hypoallergenic"}).status_code == 200
    first = journey(client, guest, chain["resort"], check_in="2027-01-20", check_out="2027-01-22",
                    advance=time_machine, minibar=35000)
    [member_discount] = [d for d in first["quote"]["nights"][0]["discounts"] if d["code"] == "tier"]
    assert member_discount["basis_points"] == 300  # the club's entry tier
    assert client.get("/api/v1/loyalty", headers=headers_for(guest)).json["tier"]["code"] == "member"
    second = journey(client, guest, chain["ski"], check_in="2027-02-05", check_out="2027-02-13",
                     advance=time_machine, minibar=12000)

    # Points: one per 100 roubles of eligible spend (room nights and services, not tax), posted at each checkout.
    for trip in (first, second):
        eligible = trip["checkout"]["balance"] - sum(n["tax"] for n in trip["quote"]["nights"])
        assert trip["checkout"]["points_earned"] == eligible // 10000
    headers = headers_for(guest)  # weeks have passed: a new session
    status = client.get("/api/v1/loyalty", headers=headers).json
    assert status["tier"]["code"] == "silver"  # 2 + 8 = 10 qualifying nights
    assert status["balance"] == first["checkout"]["points_earned"] + second["checkout"]["points_earned"]
    assert [e.payload["to"] for e in events_after(0, types=["loyalty.tier_changed"])][-1] == "silver"

    # The same preferences prepared both rooms, in two hotels, without being asked again.
    top_floor = {chain["resort"].rooms[-1].number, chain["ski"].rooms[-1].number}
    assert {first["stay"]["room_number"], second["stay"]["room_number"]} == top_floor
    prepared = [e.payload for e in events_after(0, types=["booking.checked_in"])]
    assert [p["preferences"]["room_temperature_c"] for p in prepared] == ["21.5", "21.5"]
    assert all(p["preferences"]["pillow"] == "hypoallergenic" for p in prepared)
    stays = client.get("/api/v1/bookings", headers=headers).json["items"]
    assert [s["status"] for s in stays] == ["checked_out", "checked_out"]
    assert client.get("/api/v1/stays/current", headers=headers).status_code == 404


def test_points_pay_part_of_the_folio(client, chain, time_machine) -> None:
    guest = make_guest()
    headers = headers_for(guest)
    client.post("/api/v1/loyalty/enrol", json={}, headers=headers)
    give_points(guest, 800)
    booking = book(client, guest, chain["resort"]).json
    paid = client.post("/api/v1/loyalty/redemptions", json={"points": 500, "booking_id": booking["id"]},
                       headers=headers | {"Idempotency-Key": "pay-1"})
    assert paid.status_code == 201, paid.json
    folio = client.get(f"/api/v1/stays/{booking['id']}/folio", headers=headers).json
    assert [(c["kind"], c["amount"]) for c in folio["charges"]] == [("points", -50000)]
    too_many = client.post("/api/v1/loyalty/redemptions", json={"points": 500, "booking_id": booking["id"]},
                           headers=headers)
    assert too_many.status_code == 409 and too_many.json["code"] == "insufficient_points"


def test_after_checkout_the_survey_is_answered_once(client, chain, time_machine) -> None:
    guest = make_guest()
    stay = journey(client, guest, chain["resort"], check_in="2027-01-20", check_out="2027-01-21",
                   advance=time_machine, minibar=100)["stay"]
    url, headers = f"/api/v1/stays/{stay['id']}/survey", headers_for(guest)
    survey = client.get(url, headers=headers).json
    assert [q["id"] for q in survey["questions"] if q["part"] == "short"] == ["overall", "recommend", "comment"]
    bad = client.post(url, json={"answers": {"overall": 9}}, headers=headers)
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"overall", "recommend"}
    ok = client.post(url, json={"answers": {"overall": 5, "recommend": 10, "staff": 4}}, headers=headers)
    assert ok.status_code == 201 and ok.json["submitted"] is True
    again = client.post(url, json={"answers": {"overall": 1, "recommend": 0}}, headers=headers)
    assert again.status_code == 409 and again.json["code"] == "survey_already_submitted"
