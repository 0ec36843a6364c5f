"""Prices through /quotes and /availability: direct below public, each hotel's own seasons, every line explained."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.bookings.models import PromoCode
from app.bookings.services.pricing import share
from app.core import clock
from app.core.db import unit_of_work
from app.extensions import db
from tests.bookings.conftest import BASE_PRICE

JANUARY = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _in_january():
    with clock.frozen(JANUARY):
        yield


def quote(client, hotel, **extra):
    body = {"hotel_id": hotel.hotel.id, "room_type_id": hotel.room_type.id, "check_in": "2027-01-20",
            "check_out": "2027-01-23", "adults": 2, **extra}
    return client.post("/api/v1/quotes", json=body)


def test_direct_price_is_the_public_price_less_the_hotels_discount(client, chain) -> None:
    response = quote(client, chain["resort"])
    assert response.status_code == 200, response.json
    for night in response.json["nights"]:
        [direct] = night["discounts"]
        assert direct["code"] == "direct" and direct["basis_points"] == 1000
        assert night["net"] == night["public_price"] - share(night["public_price"], 1000)
        assert night["net"] < night["public_price"]


def test_seasons_follow_each_hotels_own_calendar(client, chain) -> None:
    resort, ski = quote(client, chain["resort"]).json, quote(client, chain["ski"]).json
    assert {night["season"] for night in resort["nights"]} == {"low"}  # the Black Sea in January
    assert {night["season"] for night in ski["nights"]} == {"high"}  # the ski hotel's winter
    assert resort["nights"][0]["public_price"] == share(BASE_PRICE, 8000)
    assert ski["nights"][0]["public_price"] == share(BASE_PRICE, 15000)
    assert ski["nights"][0]["season_adjustment"] == share(BASE_PRICE, 15000) - BASE_PRICE


def test_every_line_adds_up_to_the_totals(client, chain) -> None:
    body = quote(client, chain["ski"]).json
    nights = body["nights"]
    assert all(n["public_price"] - sum(d["amount"] for d in n["discounts"]) == n["net"] for n in nights)
    assert all(n["tax"] == share(n["net"], 100) and n["total"] == n["net"] + n["tax"] for n in nights)
    totals = body["totals"]
    assert totals["public"] == sum(n["public_price"] for n in nights)
    assert totals["total"] == sum(n["total"] for n in nights) == totals["net"] + totals["tax"]
    assert totals["discounts"] == totals["public"] - totals["net"]
    assert body["currency"] == "RUB"


def test_a_promo_code_stacks_under_the_cap_and_says_so(client, chain) -> None:
    with unit_of_work():
        db.session.add(PromoCode(code="WINTER20", discount_bp=2000))
    night = quote(client, chain["resort"], promo_code="winter20").json["nights"][0]
    assert [(d["code"], d["basis_points"], d["capped"]) for d in night["discounts"]] == [
        ("direct", 1000, False), ("promo", 1500, True)]  # 10 % + 20 % capped at the hotel's 25 %
    assert night["net"] == night["public_price"] - share(night["public_price"], 1000) - \
        share(night["public_price"], 1500)


@pytest.mark.parametrize("code, status", [("NOSUCH", 422), ("MEMBERS", 422), ("EXPIRED", 422)])
def test_unusable_promo_codes_are_refused(client, chain, code, status) -> None:
    with unit_of_work():
        db.session.add_all([PromoCode(code="MEMBERS", discount_bp=500, members_only=True),
                            PromoCode(code="EXPIRED", discount_bp=500, valid_until=date(2026, 12, 31))])
    response = quote(client, chain["resort"], promo_code=code)
    assert response.status_code == status and response.json["code"] == "promo_code_invalid"


@pytest.mark.parametrize("change, field", [
    ({"check_out": "2027-01-19"}, "check_out"),
    ({"adults": 4}, "adults"),
    ({"check_in": "2027-01-01", "check_out": "2027-01-02"}, "check_in"),  # in the past
    ({"nights": 2}, "nights"),
])
def test_impossible_stays_get_field_errors(client, chain, change, field) -> None:
    response = quote(client, chain["resort"], **change)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]


def test_availability_spans_the_whole_chain_or_one_city(client, chain) -> None:
    args = "check_in=2027-01-20&check_out=2027-01-23&guests=2"
    everywhere = client.get(f"/api/v1/availability?{args}").json
    assert {h["hotel_id"] for h in everywhere} == {chain["resort"].hotel.id, chain["ski"].hotel.id}
    [ski] = client.get(f"/api/v1/availability?{args}&city=sheregesh").json
    [offer] = ski["offers"]
    assert offer["available"] == 3 and offer["direct_total"] < offer["public_total"]
    assert offer["total"] == quote(client, chain["ski"]).json["totals"]["total"] == ski["from_total"]
    assert client.get("/api/v1/availability?check_in=2027-01-20&check_out=2027-01-23&guests=4").json == []
