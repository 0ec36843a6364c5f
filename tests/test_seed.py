"""`flask seed demo`: loads a demo chain once, prints its logins, and its accounts can log in."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.bookings.models import PricingPolicy, PromoCode, RatePlan
from app.core.auth import Role
from app.extensions import db
from app.guests.models import ConsentRecord, Guest, GuestHotelLink, GuestPreferences
from app.hotels.models import Chain, Department, Hotel, Room, RoomType, Season
from app.staff.models import StaffMember

PASSWORD = "demo-password-2026"
COUNTED = (Chain, Hotel, Season, RoomType, Room, Department, StaffMember, Guest, GuestPreferences, ConsentRecord,
           GuestHotelLink, PricingPolicy, RatePlan, PromoCode)


def run_seed(app: Flask) -> Any:
    result = app.test_cli_runner().invoke(args=["seed", "demo"])
    assert result.exit_code == 0, result.output
    return result


def row_counts() -> dict[str, int]:
    counts = {model.__name__: db.session.scalar(select(func.count()).select_from(model)) for model in COUNTED}
    db.session.commit()  # end the read, so the next count sees the CLI's commits
    return counts


def test_seed_demo_loads_a_chain_of_three_hotels_with_staff_of_every_role(app):
    run_seed(app)

    hotels = db.session.scalars(select(Hotel).order_by(Hotel.id)).all()
    assert [hotel.city for hotel in hotels] == ["Sochi", "Sheregesh", "Moscow"]
    for hotel in hotels:
        rooms = db.session.scalars(select(Room).where(Room.hotel_id == hotel.id)).all()
        assert 10 <= len(rooms) <= 20
        assert len({room.floor for room in rooms}) > 1
        assert hotel.seasons and len(hotel.departments) == 6
    roles = set(db.session.scalars(select(StaffMember.role)))
    assert roles == {role.value for role in Role}


def test_seed_demo_twice_changes_nothing(app):
    run_seed(app)
    first = row_counts()

    second_run = run_seed(app)

    assert row_counts() == first
    assert "already loaded" in second_run.output


def test_seed_demo_prints_a_login_line_per_account_on_every_run(app):
    outputs = [run_seed(app).output for _ in range(2)]

    for output in outputs:
        logins = [line for line in output.splitlines() if line.startswith("login:")]
        assert f"login: chain_admin admin@demo.hotel / {PASSWORD}" in logins
        assert f"login: guest anna@demo.guest / {PASSWORD}" in logins
        assert len(logins) == db.session.scalar(select(func.count()).select_from(StaffMember)) + 3


@pytest.mark.parametrize("line_prefix", ["login: chain_admin ", "login: hotel_manager ", "login: front_desk "])
def test_seeded_staff_log_in_with_the_printed_credentials(app, client, line_prefix):
    output = run_seed(app).output
    email = next(line for line in output.splitlines() if line.startswith(line_prefix)).split()[2]

    response = client.post("/api/v1/staff/auth/login", json={"email": email, "password": PASSWORD})

    assert response.status_code == 200, response.get_json()
    me = client.get("/api/v1/staff/me", headers={"Authorization": f"Bearer {response.get_json()['access_token']}"})
    assert me.get_json()["role"] == line_prefix.split()[1]


def test_seeded_guest_logs_in_with_email_and_sees_preferences(app, client):
    run_seed(app)

    response = client.post("/api/v1/auth/login", json={"login": "anna@demo.guest", "password": PASSWORD})

    assert response.status_code == 200, response.get_json()
    headers = {"Authorization": f"Bearer {response.get_json()['access_token']}"}
    assert client.get("/api/v1/me/preferences", headers=headers).get_json()["pillow"] == "firm"


def test_seeded_chain_is_bookable_in_every_hotel(app, client):
    run_seed(app)
    found = client.get("/api/v1/availability?check_in=2031-01-20&check_out=2031-01-22&guests=2")
    assert found.status_code == 200, found.json
    assert [hotel["city"] for hotel in found.json] == ["Sochi", "Sheregesh", "Moscow"]
    sochi, sheregesh, _ = found.json
    # January: low season by the sea, high season in the mountains, each from its own calendar.
    assert all(offer["direct_total"] < offer["public_total"] for hotel in found.json for offer in hotel["offers"])
    assert sheregesh["offers"][0]["public_total"] == 2 * 750_000 and sochi["offers"][0]["public_total"] == 2 * 630_000
