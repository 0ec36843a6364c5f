"""The front desk's day through the API: arrivals, departures, who is in the house; only for its own hotels."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.bookings import jobs
from app.core import clock
from app.core.auth import Role
from app.extensions import db
from tests.bookings.conftest import book
from tests.factories import headers_for, make_guest, make_staff


def _desk(client, staff, hotel, list_name, **query):
    params = "&".join(f"{key}={value}" for key, value in {"hotel_id": hotel.hotel.id, "list": list_name,
                                                              **query}.items())
    return client.get(f"/api/v1/staff/stays?{params}", headers=headers_for(staff))


def test_the_desk_sees_its_day_in_the_hotels_own_date(client, chain, time_machine) -> None:
    resort = chain["resort"]
    desk = make_staff(Role.FRONT_DESK, hotels=[resort.hotel])
    anna, boris, clara = (make_guest(first_name=name, last_name="Test") for name in ("Anna", "Boris", "Clara"))
    arriving = book(client, anna, resort, check_in="2027-01-10", check_out="2027-01-12",
                    special_requests="Late arrival, about 23:00").json
    arrived = book(client, boris, resort, check_in="2027-01-10", check_out="2027-01-11").json
    book(client, clara, resort, check_in="2027-01-11", check_out="2027-01-13")
    cancelled = book(client, clara, resort, check_in="2027-01-10", check_out="2027-01-11").json
    client.post(f"/api/v1/bookings/{cancelled['id']}/actions/cancel", headers=headers_for(clara))
    checked_in = client.post(f"/api/v1/bookings/{arrived['id']}/actions/check-in", headers=headers_for(boris)).json

    arrivals = _desk(client, desk, resort, "arrivals")
    assert arrivals.status_code == 200 and arrivals.json["date"] == "2027-01-10"  # 12:00 in Sochi
    assert [(item["guest_name"], item["status"], item["room_number"]) for item in arrivals.json["items"]] == [
        ("Anna Test", "confirmed", None), ("Boris Test", "in_house", checked_in["room_number"])]
    assert arrivals.json["items"][0]["special_requests"] == "Late arrival, about 23:00"
    tomorrow = _desk(client, desk, resort, "arrivals", date="2027-01-11").json["items"]
    assert [item["guest_name"] for item in tomorrow] == ["Clara Test"]
    in_house = _desk(client, desk, resort, "in_house").json["items"]
    assert [item["id"] for item in in_house] == [arrived["id"]]
    leaving = _desk(client, desk, resort, "departures", date="2027-01-11").json["items"]
    assert [item["id"] for item in leaving] == [arrived["id"]]

    # The night audit: Anna never came; she stays on the day's arrivals, as a no-show.
    time_machine(datetime(2027, 1, 11, 1, 0, tzinfo=UTC) - clock.now())  # 04:00 in Sochi
    assert jobs.record_no_shows() == 1
    missed = _desk(client, desk, resort, "arrivals", date="2027-01-10").json["items"]
    assert [(item["id"], item["status"]) for item in missed] == [(arriving["id"], "no_show"),
                                                                 (arrived["id"], "in_house")]
    audited = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "stays.listed")).all()
    assert len(audited) == 5 and audited[0].actor_id == desk.id and audited[0].hotel_id == resort.hotel.id


def test_pages_follow_the_cursor(client, chain, time_machine) -> None:
    resort = chain["resort"]
    desk = make_staff(Role.FRONT_DESK, hotels=[resort.hotel])
    ids = [book(client, make_guest(), resort, check_in="2027-01-10", check_out="2027-01-11").json["id"]
           for _ in range(3)]
    first = _desk(client, desk, resort, "arrivals", limit=2).json
    second = _desk(client, desk, resort, "arrivals", limit=2, cursor=first["next_cursor"]).json
    assert [item["id"] for item in first["items"] + second["items"]] == ids and second["next_cursor"] is None


def test_other_hotels_and_other_roles_see_nothing(client, chain, time_machine) -> None:
    resort, ski = chain["resort"], chain["ski"]
    book(client, make_guest(), resort, check_in="2027-01-10", check_out="2027-01-11")
    ski_desk = make_staff(Role.FRONT_DESK, hotels=[ski.hotel])
    assert _desk(client, ski_desk, resort, "arrivals").status_code == 404
    assert _desk(client, make_staff(Role.HOUSEKEEPING, hotels=[resort.hotel]), resort, "arrivals").status_code == 403
    assert client.get(f"/api/v1/staff/stays?hotel_id={resort.hotel.id}&list=arrivals",
                      headers=headers_for(make_guest())).status_code in (401, 403)
    desk = headers_for(make_staff(Role.FRONT_DESK, hotels=[resort.hotel]))
    for query in ("list=everyone", "list=arrivals&date=yesterday", "list=arrivals&surprise=1", "list=arrivals&limit=0"):
        response = client.get(f"/api/v1/staff/stays?hotel_id={resort.hotel.id}&{query}", headers=desk)
        assert response.status_code == 422 and response.json["code"] == "validation_failed", query
