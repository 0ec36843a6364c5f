"""The front desk's pages through the test client: the day's lists, check-in, a stay's folio and checkout, roles."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.audit.models import AuditEntry
from app.core.auth import Role
from app.extensions import db
from tests.bookings.conftest import build_hotel
from tests.console.conftest import book_from_today, console_login, page_csrf
from tests.factories import headers_for, make_chain, make_guest, make_staff


def stay_status(client, guest, booking_id: int) -> str:
    return client.get(f"/api/v1/bookings/{booking_id}", headers=headers_for(guest)).json["status"]


def test_the_desk_checks_a_guest_in_and_out_from_its_pages(client, resort) -> None:
    guest = make_guest(first_name="Ivan", last_name="Petrov")
    booking = book_from_today(client, guest, resort)
    console_login(client, make_staff(Role.FRONT_DESK, hotels=[resort.hotel], full_name="Daria Desk"))

    arrivals = client.get("/console/stays")
    assert arrivals.status_code == 200 and "Ivan Petrov" in arrivals.text and booking["reference"] in arrivals.text
    assert 'data-action="check-in"' in arrivals.text
    checked_in = client.post(f"/console/stays/{booking['id']}/actions/check-in",
                             data={"csrf_token": page_csrf(client, "/console/stays"),
                                   "next": "/console/stays?list=arrivals"},
                             follow_redirects=True)
    assert checked_in.status_code == 200 and f"{booking['reference']}: checked in" in checked_in.text
    assert stay_status(client, guest, booking["id"]) == "in_house"
    in_house = client.get(f"/console/stays?hotel_id={resort.hotel.id}&list=in_house")
    assert "Ivan Petrov" in in_house.text and 'data-action="check-in"' not in in_house.text

    page = client.get(f"/console/stays/{booking['id']}")
    assert page.status_code == 200 and "Room, night of" in page.text
    # Leaving on the arrival day: tonight is paid, tomorrow night is credited.
    settle = int(re.search(r'name="confirmed_balance" value="(-?\d+)"', page.text).group(1))
    assert settle == booking["total_amount"] - booking["price"]["nights"][1]["total"]
    assert "Early departure" in page.text and f"{settle / 100:,.2f} RUB" in page.text

    token = page_csrf(client, "/console/stays")
    stale = client.post(f"/console/stays/{booking['id']}/actions/checkout",
                        data={"csrf_token": token, "confirmed_balance": str(booking["total_amount"])},
                        follow_redirects=True)
    assert "The folio changed" in stale.text and stay_status(client, guest, booking["id"]) == "in_house"
    nonsense = client.post(f"/console/stays/{booking['id']}/actions/checkout",
                           data={"csrf_token": token, "confirmed_balance": "all of it"}, follow_redirects=True)
    assert "confirmed_balance" in nonsense.text and stay_status(client, guest, booking["id"]) == "in_house"
    done = client.post(f"/console/stays/{booking['id']}/actions/checkout",
                       data={"csrf_token": token, "confirmed_balance": str(settle)}, follow_redirects=True)
    assert done.status_code == 200 and f"{booking['reference']}: checked out" in done.text
    assert stay_status(client, guest, booking["id"]) == "checked_out"
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.subject_id == booking["id"],
                                                                 AuditEntry.subject_kind == "booking")).all()
    assert {"stays.checked_in", "stays.viewed", "stays.checked_out"} <= set(actions)


def test_who_may_see_and_who_may_act(app, client, resort) -> None:
    guest = make_guest()
    booking = book_from_today(client, guest, resort)

    console_login(client, make_staff(Role.CONCIERGE, hotels=[resort.hotel]))
    seen = client.get("/console/stays")
    assert seen.status_code == 200 and booking["reference"] in seen.text and 'data-action="check-in"' not in seen.text
    assert client.get(f"/console/stays/{booking['id']}").status_code == 200
    refused = client.post(f"/console/stays/{booking['id']}/actions/check-in",
                          data={"csrf_token": page_csrf(client, "/console/stays")})
    assert refused.status_code == 403 and stay_status(client, guest, booking["id"]) == "confirmed"

    ski = build_hotel(make_chain().id, city="Sheregesh", time_zone="Asia/Novokuznetsk", floors=(1,), seasons=[])
    other = app.test_client()
    console_login(other, make_staff(Role.FRONT_DESK, hotels=[ski.hotel]))
    assert booking["reference"] not in other.get("/console/stays").text
    assert other.get(f"/console/stays/{booking['id']}").status_code == 404
    stranger = other.post(f"/console/stays/{booking['id']}/actions/check-in",
                          data={"csrf_token": page_csrf(other, "/console/stays")})
    assert stranger.status_code == 404 and stay_status(client, guest, booking["id"]) == "confirmed"
    assert other.post(f"/console/stays/{booking['id']}/actions/teleport",
                      data={"csrf_token": page_csrf(other, "/console/stays")}).status_code == 404

    housekeeping = app.test_client()
    console_login(housekeeping, make_staff(Role.HOUSEKEEPING, hotels=[resort.hotel]))
    assert housekeeping.get("/console/stays").status_code == 403
