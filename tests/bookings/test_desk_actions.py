"""The front desk checks guests in and out through the API: guests who did not use the phone, a no-show who turned
up after the night audit, and a guest who leaves before the last night."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.bookings import jobs
from app.core import clock
from app.core.auth import Role
from app.core.events import events_after
from app.extensions import db
from tests.bookings.conftest import book, booked_count
from tests.factories import headers_for, make_guest, make_room, make_room_type, make_staff


def _at(moment: str, advance) -> None:
    advance(datetime.fromisoformat(moment).replace(tzinfo=UTC) - clock.now())


def _check_in(client, staff, booking_id: int, **body):
    return client.post(f"/api/v1/staff/stays/{booking_id}/actions/check-in", json=body, headers=headers_for(staff))


def _checkout(client, staff, booking_id: int, balance: int):
    return client.post(f"/api/v1/staff/stays/{booking_id}/actions/checkout", json={"confirmed_balance": balance},
                       headers=headers_for(staff))


def _stay(client, staff, booking_id: int):
    return client.get(f"/api/v1/staff/stays/{booking_id}", headers=headers_for(staff))


def _audited(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_the_desk_checks_in_a_guest_who_did_not_use_the_phone(client, chain, time_machine) -> None:
    resort = chain["resort"]
    desk = make_staff(Role.FRONT_DESK, hotels=[resort.hotel])
    guest = make_guest(first_name="Anna", last_name="Test")
    client.put("/api/v1/me/preferences", json={"floor": "high", "pillow": "firm"}, headers=headers_for(guest))
    booking = book(client, guest, resort, check_in="2027-01-10", check_out="2027-01-12").json

    stay = _check_in(client, desk, booking["id"])
    assert stay.status_code == 200, stay.json
    assert stay.json["status"] == "in_house" and stay.json["room_number"] == resort.rooms[2].number  # the 5th floor
    seen = _stay(client, desk, booking["id"]).json
    assert seen["guest_name"] == "Anna Test" and seen["folio"]["balance"] == booking["total_amount"]
    # Leaving today would be leaving early: tonight paid, tomorrow night credited.
    tomorrow = booking["price"]["nights"][1]["total"]
    assert seen["departure"] == {"date": "2027-01-10", "early": True, "credited_nights": ["2027-01-11"],
                                 "check_out": "2027-01-11", "balance": booking["total_amount"] - tomorrow}
    # As after a check-in on the phone: housekeeping prepares the room the guest's way.
    [preparation] = client.get(f"/api/v1/staff/queue?hotel_id={resort.hotel.id}", headers=headers_for(desk)).json[
        "items"]
    assert preparation["details"]["preferences"] == {"floor": "high", "pillow": "firm"}
    [checked_in] = [event for event in events_after(0, limit=100) if event.type == "booking.checked_in"]
    assert checked_in.payload["source"] == "desk"
    [entry] = _audited("stays.checked_in")
    assert (entry.actor_id, entry.subject_id, entry.detail) == (
        desk.id, booking["id"], {"room_id": resort.rooms[2].id, "after_no_show": False})
    assert [entry.subject_id for entry in _audited("stays.viewed")] == [booking["id"]]

    again = _check_in(client, desk, booking["id"])
    assert again.status_code == 409 and again.json["code"] == "booking_not_checkable"  # and nothing is posted twice:
    assert _stay(client, desk, booking["id"]).json["folio"]["balance"] == booking["total_amount"]


def test_the_desk_may_pick_the_room_but_not_any_room(client, chain, time_machine) -> None:
    resort, ski = chain["resort"], chain["ski"]
    desk = make_staff(Role.FRONT_DESK, hotels=[resort.hotel])
    first, second = make_guest(), make_guest()
    taken = book(client, first, resort, check_in="2027-01-10", check_out="2027-01-11").json
    booking = book(client, second, resort, check_in="2027-01-10", check_out="2027-01-11").json
    occupied = _check_in(client, desk, taken["id"]).json["room_id"]
    suite = make_room(make_room_type(resort.hotel, max_occupancy=2), floor=3)
    closed = make_room(resort.room_type, floor=3, is_active=False)

    refusals = {
        ski.rooms[0].id: (422, "unknown_room"), 10**9: (422, "unknown_room"), suite.id: (409, "room_type_mismatch"),
        closed.id: (409, "room_out_of_service"), occupied: (409, "room_occupied"),
    }
    for room_id, (status, code) in refusals.items():
        refused = _check_in(client, desk, booking["id"], room_id=room_id)
        assert (refused.status_code, refused.json["code"]) == (status, code), room_id
    assert _stay(client, desk, booking["id"]).json["status"] == "confirmed"  # nothing half done
    for body in ({"room_id": "one"}, {"room_id": 0}, {"room": 1}, {"room_id": True}):
        invalid = _check_in(client, desk, booking["id"], **body)
        assert invalid.status_code == 422 and invalid.json["code"] == "validation_failed", body

    chosen = resort.rooms[1]
    stay = _check_in(client, desk, booking["id"], room_id=chosen.id)
    assert stay.status_code == 200 and stay.json["room_id"] == chosen.id


def test_only_the_desk_of_the_hotel_moves_guests_in_and_out(client, chain, time_machine) -> None:
    resort, ski = chain["resort"], chain["ski"]
    guest = make_guest()
    booking = book(client, guest, resort, check_in="2027-01-10", check_out="2027-01-11").json
    ski_desk = make_staff(Role.FRONT_DESK, hotels=[ski.hotel])
    for response in (_stay(client, ski_desk, booking["id"]), _check_in(client, ski_desk, booking["id"]),
                     _stay(client, ski_desk, 10**9)):
        assert response.status_code == 404
    concierge = make_staff(Role.CONCIERGE, hotels=[resort.hotel])
    assert _stay(client, concierge, booking["id"]).status_code == 200  # sees the stay, but moves no money
    assert _check_in(client, concierge, booking["id"]).status_code == 403
    assert _check_in(client, make_staff(Role.HOUSEKEEPING, hotels=[resort.hotel]), booking["id"]).status_code == 403
    assert client.post(f"/api/v1/staff/stays/{booking['id']}/actions/check-in", json={},
                       headers=headers_for(guest)).status_code in (401, 403)
    manager = make_staff(Role.HOTEL_MANAGER, hotels=[resort.hotel])
    assert _check_in(client, manager, booking["id"]).status_code == 200
    assert _checkout(client, ski_desk, booking["id"], 0).status_code == 404


def test_a_no_show_who_turns_up_after_the_night_audit_is_checked_in(client, chain, time_machine) -> None:
    resort = chain["resort"]
    desk = make_staff(Role.FRONT_DESK, hotels=[resort.hotel])
    guest = make_guest()
    booking = book(client, guest, resort, check_in="2027-01-10", check_out="2027-01-12").json
    _at("2027-01-11T01:00:00", time_machine)  # 04:00 in Sochi: the night audit
    assert jobs.record_no_shows() == 1
    fee = _stay(client, desk, booking["id"]).json["cancellation_fee"]
    assert fee > 0 and booked_count(resort.room_type.id, "2027-01-11") == 0

    _at("2027-01-11T02:00:00", time_machine)  # 05:00: the flight was late
    stay = _check_in(client, desk, booking["id"])
    assert stay.status_code == 200, stay.json
    assert stay.json["status"] == "in_house" and stay.json["cancellation_fee"] == 0
    folio = _stay(client, desk, booking["id"]).json["folio"]
    assert folio["status"] == "open" and folio["balance"] == booking["total_amount"]  # the nights, not the fee
    assert [charge["amount"] for charge in folio["charges"] if charge["kind"] == "fee"] == [fee, -fee]
    assert booked_count(resort.room_type.id, "2027-01-11") == 1  # the released night is taken again
    [entry] = _audited("stays.checked_in")
    assert entry.detail["after_no_show"] is True
    # The guest sees it too, and checks out on the phone as usual.
    mine = client.get("/api/v1/stays/current", headers=headers_for(guest)).json
    assert mine["id"] == booking["id"]


def test_a_no_show_whose_nights_were_sold_again_stays_a_no_show(client, chain, time_machine) -> None:
    resort = chain["resort"]
    desk = make_staff(Role.FRONT_DESK, hotels=[resort.hotel])
    booking = book(client, make_guest(), resort, check_in="2027-01-10", check_out="2027-01-12").json
    _at("2027-01-11T01:00:00", time_machine)
    assert jobs.record_no_shows() == 1
    for _ in resort.rooms:  # the night of the 11th sells out again
        assert book(client, make_guest(), resort, check_in="2027-01-11", check_out="2027-01-12").status_code == 201

    refused = _check_in(client, desk, booking["id"])
    assert refused.status_code == 409 and refused.json["code"] == "sold_out"
    seen = _stay(client, desk, booking["id"]).json
    assert seen["status"] == "no_show" and seen["folio"]["status"] == "closed"
    assert [charge["kind"] for charge in seen["folio"]["charges"]] == ["fee"]
    assert booked_count(resort.room_type.id, "2027-01-10") == 1  # the arrival night, still held


def test_an_early_departure_pays_tonight_and_gets_the_later_nights_back(client, chain, time_machine) -> None:
    resort = chain["resort"]
    desk = make_staff(Role.FRONT_DESK, hotels=[resort.hotel])
    guest = make_guest()
    assert client.post("/api/v1/loyalty/enrol", json={}, headers=headers_for(guest)).status_code == 201
    booking = book(client, guest, resort, check_in="2027-01-10", check_out="2027-01-14").json
    assert _check_in(client, desk, booking["id"]).status_code == 200
    nights = booking["price"]["nights"]
    _at("2027-01-11T08:00:00", time_machine)  # 11:00 on the 11th: the guest must leave today

    plan = _stay(client, desk, booking["id"]).json["departure"]
    later = nights[2]["total"] + nights[3]["total"]  # the 12th and the 13th; the 11th is tonight
    assert plan == {"date": "2027-01-11", "early": True, "credited_nights": ["2027-01-12", "2027-01-13"],
                    "check_out": "2027-01-12", "balance": booking["total_amount"] - later}
    by_phone = client.post(f"/api/v1/stays/{booking['id']}/actions/checkout",
                           json={"confirmed_balance": plan["balance"]}, headers=headers_for(guest))
    assert by_phone.status_code == 409 and by_phone.json["code"] == "early_departure_at_desk"
    stale = _checkout(client, desk, booking["id"], booking["total_amount"])
    assert stale.status_code == 409 and stale.json["code"] == "folio_changed"
    assert stale.json["balance"] == plan["balance"]

    done = _checkout(client, desk, booking["id"], plan["balance"])
    assert done.status_code == 200, done.json
    assert done.json["balance"] == plan["balance"] and done.json["stay"]["status"] == "checked_out"
    assert (done.json["stay"]["check_out"], done.json["stay"]["nights"]) == ("2027-01-12", 2)
    assert done.json["points_earned"] > 0
    folio = client.get(f"/api/v1/stays/{booking['id']}/folio", headers=headers_for(guest)).json
    assert folio["status"] == "closed" and folio["balance"] == plan["balance"]
    credits = [charge for charge in folio["charges"] if charge["amount"] < 0]
    assert sorted(charge["kind"] for charge in credits) == ["room_night", "room_night", "tax", "tax"]
    assert -sum(charge["amount"] for charge in credits) == later
    assert [booked_count(resort.room_type.id, f"2027-01-{day}") for day in (10, 11, 12, 13)] == [1, 1, 0, 0]
    [entry] = _audited("stays.checked_out")
    assert entry.detail == {"balance": plan["balance"], "early": True, "booked_check_out": "2027-01-14"}
    [checked_out] = [event for event in events_after(0, limit=200) if event.type == "booking.checked_out"]
    assert checked_out.payload["source"] == "desk" and checked_out.payload["booked_check_out"] == "2027-01-14"
    again = _checkout(client, desk, booking["id"], plan["balance"])
    assert again.status_code == 409 and again.json["code"] == "stay_not_in_house"


def test_the_desk_checks_out_on_the_last_night_without_credits(client, chain, time_machine) -> None:
    resort = chain["resort"]
    desk = make_staff(Role.FRONT_DESK, hotels=[resort.hotel])
    booking = book(client, make_guest(), resort, check_in="2027-01-10", check_out="2027-01-12").json
    _check_in(client, desk, booking["id"])
    _at("2027-01-11T08:00:00", time_machine)  # the last night is tonight: it is paid, as on the phone
    plan = _stay(client, desk, booking["id"]).json["departure"]
    assert plan["early"] is False and plan["balance"] == booking["total_amount"]
    done = _checkout(client, desk, booking["id"], booking["total_amount"])
    assert done.status_code == 200 and done.json["stay"]["check_out"] == "2027-01-12"
    for body in ({}, {"confirmed_balance": "all"}, {"confirmed_balance": 1, "tip": 5}):
        invalid = client.post(f"/api/v1/staff/stays/{booking['id']}/actions/checkout", json=body,
                              headers=headers_for(desk))
        assert invalid.status_code == 422 and invalid.json["code"] == "validation_failed", body
    assert [booked_count(resort.room_type.id, f"2027-01-{day}") for day in (10, 11)] == [1, 1]


def test_a_night_belongs_to_its_evening_until_the_night_audit(client, chain, time_machine) -> None:
    """A guest arriving at 02:00 is arriving on the evening's date: the night they booked is still theirs. The
    hotel's business day ends at the night audit (NO_SHOW_AUDIT_HOUR), not at midnight."""
    resort = chain["resort"]  # Moscow time
    late, later = make_guest(), make_guest()
    one_night = book(client, late, resort, check_in="2027-01-10", check_out="2027-01-11").json
    too_late = book(client, later, resort, check_in="2027-01-10", check_out="2027-01-11").json
    two_nights = book(client, late, resort, check_in="2027-01-10", check_out="2027-01-12").json

    _at("2027-01-10T23:00:00", time_machine)  # 02:00 on the 11th by the sea
    arrived = client.post(f"/api/v1/bookings/{one_night['id']}/actions/check-in", headers=headers_for(late))
    assert arrived.status_code == 200, arrived.json
    desk = make_staff(Role.FRONT_DESK, hotels=[resort.hotel])
    arrivals = client.get(f"/api/v1/staff/stays?hotel_id={resort.hotel.id}&list=arrivals", headers=headers_for(desk))
    assert arrivals.json["date"] == "2027-01-10"  # the night clerk still sees the evening's arrivals
    assert too_late["id"] in [item["id"] for item in arrivals.json["items"]]
    assert _check_in(client, desk, two_nights["id"]).status_code == 200
    # Leaving now, at 02:00, is leaving after the night of the 10th: the night of the 11th is credited.
    plan = _stay(client, desk, two_nights["id"]).json["departure"]
    assert (plan["date"], plan["credited_nights"]) == ("2027-01-10", ["2027-01-11"])

    _at("2027-01-11T01:00:00", time_machine)  # 04:00: the night audit closed the 10th
    refused = client.post(f"/api/v1/bookings/{too_late['id']}/actions/check-in", headers=headers_for(later))
    assert refused.status_code == 409 and refused.json["code"] == "check_in_not_open"
