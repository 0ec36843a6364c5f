"""The per-process catalogue copy behind availability search: every change a manager makes shows in the next search."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app import create_app
from app.bookings import services
from app.bookings.catalogue import CatalogueStamp
from app.bookings.schemas import HotelAvailabilitySchema, dump_availability
from app.core import clock
from app.core.auth import Role
from app.core.db import unit_of_work
from app.extensions import db
from app.hotels.models import Room
from tests.conftest import IsolatedClient
from tests.factories import headers_for, make_guest, make_staff

JANUARY = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
SEARCH = "/api/v1/availability?check_in=2027-01-20&check_out=2027-01-23&guests=2"


@pytest.fixture(autouse=True)
def _in_january():
    with clock.frozen(JANUARY):
        yield


def _offer(client, chain_hotel) -> dict:
    [found] = [h for h in client.get(SEARCH).json if h["hotel_id"] == chain_hotel.hotel.id]
    [offer] = found["offers"]
    return offer


def _quote_total(client, chain_hotel) -> int:
    body = {"hotel_id": chain_hotel.hotel.id, "room_type_id": chain_hotel.room_type.id, "check_in": "2027-01-20",
            "check_out": "2027-01-23", "adults": 2}
    return client.post("/api/v1/quotes", json=body).json["totals"]["total"]


@pytest.fixture
def manager_headers(chain) -> dict[str, str]:
    return headers_for(make_staff(Role.HOTEL_MANAGER, hotels=[chain["resort"].hotel, chain["ski"].hotel]))


def test_a_new_pricing_policy_shows_in_the_next_search(client, chain, manager_headers) -> None:
    resort = chain["resort"]
    before = _offer(client, resort)
    response = client.put(f"/api/v1/admin/hotels/{resort.hotel.id}/pricing", headers=manager_headers,
                          json={"direct_discount_bp": 2000, "max_discount_bp": 2500, "tax_bp": 0})
    assert response.status_code == 200, response.json
    after = _offer(client, resort)
    assert after["public_total"] == before["public_total"]
    assert after["direct_total"] < before["direct_total"]
    assert after["total"] == after["direct_total"] == _quote_total(client, resort)


def test_a_price_change_shows_in_the_next_quote_and_booking(client, chain, manager_headers) -> None:
    resort = chain["resort"]
    before = _quote_total(client, resort)
    client.put(f"/api/v1/admin/hotels/{resort.hotel.id}/pricing", headers=manager_headers,
               json={"direct_discount_bp": 2500, "max_discount_bp": 2500, "tax_bp": 0})
    after = _quote_total(client, resort)
    assert after < before
    guest = make_guest()
    booking = client.post("/api/v1/bookings", headers=headers_for(guest), json={
        "hotel_id": resort.hotel.id, "room_type_id": resort.room_type.id, "check_in": "2027-01-20",
        "check_out": "2027-01-23", "adults": 2, "expected_total": after})
    assert booking.status_code == 201, booking.json


def test_a_cheaper_rate_plan_shows_in_the_next_search(client, chain, manager_headers) -> None:
    ski = chain["ski"]
    before = _offer(client, ski)
    response = client.post(f"/api/v1/admin/hotels/{ski.hotel.id}/rate-plans", headers=manager_headers, json={
        "room_type_id": ski.room_type.id, "code": "saver", "name": {"en": "Saver"}, "base_price": 500_000})
    assert response.status_code == 201, response.json
    after = _offer(client, ski)
    assert after["rate_plan_id"] == response.json["id"] != before["rate_plan_id"]
    assert after["total"] < before["total"]
    assert after["total"] == _quote_total(client, ski)


def test_a_new_season_calendar_shows_in_the_next_search(client, chain, manager_headers) -> None:
    resort = chain["resort"]
    before = _offer(client, resort)  # January is low season at the resort: 80 % of the base
    response = client.put(f"/api/v1/admin/hotels/{resort.hotel.id}/seasons", headers=manager_headers,
                          json={"seasons": [{"kind": "high", "start": "01-01", "end": "12-31"}]})
    assert response.status_code == 200, response.json
    after = _offer(client, resort)
    assert after["public_total"] * 8000 == before["public_total"] * 15000
    assert after["total"] == _quote_total(client, resort)


def test_a_room_taken_out_of_service_shows_in_the_next_search(client, chain) -> None:
    ski = chain["ski"]
    assert _offer(client, ski)["available"] == 3
    with unit_of_work():
        db.session.get(Room, ski.rooms[0].id).is_active = False
    assert _offer(client, ski)["available"] == 2


def _stamp() -> int | None:
    db.session.commit()
    return db.session.scalar(select(CatalogueStamp.stamp))


def test_a_rooms_other_changes_leave_the_catalogue_alone(chain) -> None:
    stamp = _stamp()
    assert stamp is not None  # the chain fixture made catalogue changes
    with unit_of_work():
        db.session.get(Room, chain["ski"].rooms[0].id).features = ["sea_view"]
    assert _stamp() == stamp
    with unit_of_work():
        db.session.get(Room, chain["ski"].rooms[0].id).is_active = False
    assert _stamp() != stamp


def test_another_process_sees_a_change_at_once(app, client, chain, manager_headers) -> None:
    """A second application on the same database has its own copy, as a second gunicorn worker would."""
    other = create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    other.test_client_class = IsolatedClient
    try:
        other_client = other.test_client()
        before = _offer(other_client, chain["resort"])
        client.put(f"/api/v1/admin/hotels/{chain['resort'].hotel.id}/pricing", headers=manager_headers,
                   json={"direct_discount_bp": 2000, "max_discount_bp": 2500})
        assert _offer(other_client, chain["resort"])["direct_total"] < before["direct_total"]
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_hand_written_answer_is_the_documented_schema(app, chain, language) -> None:
    with app.test_request_context(headers={"Accept-Language": language}):
        results = services.search_availability(check_in=datetime(2027, 1, 20).date(),
                                               check_out=datetime(2027, 1, 23).date(), guests=2)
        assert len(results) == 2
        assert dump_availability(results) == HotelAvailabilitySchema(many=True).dump(results)
