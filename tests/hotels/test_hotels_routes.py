"""HTTP behaviour of the hotel catalogue (/hotels) and its administration (/admin)."""

from __future__ import annotations

from typing import Any

import pytest

from app.core.auth import Role
from app.core.db import unit_of_work
from app.extensions import db
from app.hotels.models import Department, Hotel
from tests.factories import make_chain, make_guest, make_hotel, make_room, make_room_type, make_staff

HOTELS = "/api/v1/hotels"
ADMIN = "/api/v1/admin"


def hotel_body(chain_id: int, **overrides: Any) -> dict[str, Any]:
    return {
        "chain_id": chain_id, "code": "sochi-sea", "name": {"en": "Sea Breeze", "ru": "Морской бриз"},
        "city": "Sochi", "country": "RU", "time_zone": "Europe/Moscow", "currency": "RUB", "stars": 4,
        "check_in_time": "14:00", "check_out_time": "12:00", **overrides,
    }


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == code
    return body


@pytest.fixture
def hotel_a() -> Hotel:
    return make_hotel(code="hotel-a", city="Sochi")


@pytest.fixture
def hotel_b() -> Hotel:
    return make_hotel(code="hotel-b", city="Moscow")


@pytest.fixture
def admin(auth_headers) -> dict[str, str]:
    return auth_headers(make_staff(Role.CHAIN_ADMIN))


@pytest.fixture
def manager_a(auth_headers, hotel_a: Hotel) -> dict[str, str]:
    return auth_headers(make_staff(Role.HOTEL_MANAGER, hotels=[hotel_a]))


# -- public catalogue --------------------------------------------------------------------------------------------

def test_list_shows_only_active_hotels(client, hotel_a, hotel_b):
    make_hotel(code="closed", is_active=False)

    response = client.get(HOTELS)

    assert response.status_code == 200
    assert [hotel["code"] for hotel in response.get_json()["items"]] == ["hotel-a", "hotel-b"]


def test_list_pages_with_a_cursor(client):
    codes = [make_hotel(code=f"h{n}").code for n in range(5)]

    first = client.get(HOTELS, query_string={"limit": 2}).get_json()
    second = client.get(HOTELS, query_string={"limit": 2, "cursor": first["next_cursor"]}).get_json()
    third = client.get(HOTELS, query_string={"limit": 2, "cursor": second["next_cursor"]}).get_json()

    pages = [first, second, third]
    assert [hotel["code"] for page in pages for hotel in page["items"]] == codes
    assert third["next_cursor"] is None


def test_list_filters_by_city_case_insensitively_and_exactly(client, hotel_a, hotel_b):
    matched = client.get(HOTELS, query_string={"city": "sOcHi"}).get_json()["items"]
    partial = client.get(HOTELS, query_string={"city": "Soch"}).get_json()["items"]

    assert [hotel["code"] for hotel in matched] == ["hotel-a"]
    assert partial == []


def test_city_filter_folds_case_beyond_ascii(client):
    make_hotel(code="ru-sochi", city="Сочи")

    matched = client.get(HOTELS, query_string={"city": "СОЧИ"}).get_json()["items"]

    assert [hotel["code"] for hotel in matched] == ["ru-sochi"]


def test_hotel_shows_its_public_fields(client):
    hotel = make_hotel(code="sea", address="Kurortny 1", stars=5, description={"en": "By the sea", "ru": "Возле моря"})

    body = client.get(f"{HOTELS}/{hotel.id}").get_json()

    assert body == {
        "id": hotel.id, "code": "sea", "name": hotel.name["en"], "description": "By the sea", "city": "Sochi",
        "country": "RU", "address": "Kurortny 1", "time_zone": "Europe/Moscow", "currency": "RUB", "stars": 5,
        "check_in_time": "14:00", "check_out_time": "12:00",
    }


# One language per test: a test's requests share Flask's `g`, where the request language is cached.
@pytest.mark.parametrize(("accept_language", "name"), [
    ("ru-RU,ru;q=0.9,en;q=0.8", "Морской бриз"),
    ("en-GB", "Sea Breeze"),
    ("de", "Sea Breeze"),
    (None, "Sea Breeze"),
])
def test_texts_follow_accept_language_with_english_fallback(client, accept_language, name):
    hotel = make_hotel(name={"en": "Sea Breeze", "ru": "Морской бриз"}, description={"en": "By the sea"})
    headers = {"Accept-Language": accept_language} if accept_language else {}

    body = client.get(f"{HOTELS}/{hotel.id}", headers=headers).get_json()

    assert body["name"] == name
    assert body["description"] == "By the sea"  # English when the caller's language has no text


@pytest.mark.parametrize("suffix", ["", "/room-types", "/seasons"])
def test_unknown_and_inactive_hotels_are_not_found(client, suffix):
    inactive = make_hotel(is_active=False)

    assert_problem(client.get(f"{HOTELS}/{inactive.id}{suffix}"), 404, "not_found")
    assert_problem(client.get(f"{HOTELS}/999999{suffix}"), 404, "not_found")


def test_room_types_show_photos_amenities_and_beds_in_the_callers_language(client, hotel_a):
    make_room_type(hotel_a, code="sea-view", name={"en": "Sea view", "ru": "Вид на море"}, max_occupancy=3,
                   bed_type="king", size_m2=32, amenities=["wifi", "balcony"],
                   photos=["https://example.com/sea.jpg"])

    body = client.get(f"{HOTELS}/{hotel_a.id}/room-types", headers={"Accept-Language": "ru"}).get_json()

    assert body == [{
        "id": body[0]["id"], "code": "sea-view", "name": "Вид на море", "description": None, "max_occupancy": 3,
        "bed_type": "king", "size_m2": 32, "amenities": ["wifi", "balcony"], "photos": ["https://example.com/sea.jpg"],
    }]


def test_season_calendar_shows_kinds_month_days_and_localised_names(client, admin, hotel_a):
    client.put(f"{ADMIN}/hotels/{hotel_a.id}/seasons", headers=admin, json={"seasons": [
        {"kind": "high", "start": "12-01", "end": "03-31", "name": {"en": "Ski season", "ru": "Лыжный сезон"}},
        {"kind": "low", "start": "05-01", "end": "06-30"},
    ]})

    body = client.get(f"{HOTELS}/{hotel_a.id}/seasons", headers={"Accept-Language": "ru"}).get_json()

    assert body == [
        {"kind": "low", "start": "05-01", "end": "06-30", "name": None},
        {"kind": "high", "start": "12-01", "end": "03-31", "name": "Лыжный сезон"},
    ]


# -- creating and changing hotels: roles and scope ---------------------------------------------------------------

def test_chain_admin_creates_a_hotel_with_the_resort_calendar_by_default(client, admin):
    chain = make_chain()

    response = client.post(f"{ADMIN}/hotels", headers=admin, json=hotel_body(chain.id))

    assert response.status_code == 201
    body = response.get_json()
    assert body["name"] == {"en": "Sea Breeze", "ru": "Морской бриз"}
    assert body["chain_id"] == chain.id and body["is_active"] is True
    assert [(s["kind"], s["start"], s["end"]) for s in body["seasons"]] == [
        ("high", "04-15", "10-15"), ("low", "10-16", "04-14"),
    ]
    assert client.get(f"{HOTELS}/{body['id']}").status_code == 200


def test_chain_admin_may_leave_out_the_chain_when_there_is_one(client, admin):
    chain = make_chain()
    body = hotel_body(chain.id)
    del body["chain_id"]

    response = client.post(f"{ADMIN}/hotels", headers=admin, json=body)

    assert response.status_code == 201
    assert response.get_json()["chain_id"] == chain.id


def test_hotel_manager_cannot_create_hotels(client, manager_a, hotel_a):
    response = client.post(f"{ADMIN}/hotels", headers=manager_a, json=hotel_body(hotel_a.chain_id))

    assert_problem(response, 403, "role_forbidden")


def test_hotel_manager_changes_own_hotel_but_another_is_not_found(client, manager_a, hotel_a, hotel_b):
    own = client.patch(f"{ADMIN}/hotels/{hotel_a.id}", headers=manager_a, json={"stars": 5, "address": "Pier 3"})
    other = client.patch(f"{ADMIN}/hotels/{hotel_b.id}", headers=manager_a, json={"stars": 5})

    assert own.status_code == 200
    assert (own.get_json()["stars"], own.get_json()["address"]) == (5, "Pier 3")
    assert_problem(other, 404, "not_found")
    assert db.session.get(Hotel, hotel_b.id).stars is None


def test_hotel_manager_cannot_change_the_code_or_listing(client, manager_a, hotel_a):
    response = client.patch(f"{ADMIN}/hotels/{hotel_a.id}", headers=manager_a, json={"is_active": False})

    body = assert_problem(response, 403, "chain_admin_only")
    assert "is_active" in body["errors"]


def test_chain_admin_delists_a_hotel(client, admin, hotel_a):
    response = client.patch(f"{ADMIN}/hotels/{hotel_a.id}", headers=admin, json={"is_active": False})

    assert response.status_code == 200
    assert client.get(f"{HOTELS}/{hotel_a.id}").status_code == 404


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.HOUSEKEEPING, Role.MARKETER])
def test_other_staff_roles_are_forbidden(client, auth_headers, hotel_a, role):
    headers = auth_headers(make_staff(role, hotels=[hotel_a]))

    assert_problem(client.patch(f"{ADMIN}/hotels/{hotel_a.id}", headers=headers, json={"stars": 3}), 403,
                   "role_forbidden")
    assert_problem(client.get(f"{ADMIN}/hotels/{hotel_a.id}/rooms", headers=headers), 403, "role_forbidden")


def test_guest_token_is_forbidden(client, auth_headers, hotel_a):
    headers = auth_headers(make_guest())

    response = client.patch(f"{ADMIN}/hotels/{hotel_a.id}", headers=headers, json={"stars": 3})

    assert_problem(response, 403, "wrong_account_kind")


def test_admin_endpoints_need_a_token(client, hotel_a):
    assert client.patch(f"{ADMIN}/hotels/{hotel_a.id}", json={"stars": 3}).status_code == 401


# -- validation and conflicts ------------------------------------------------------------------------------------

def test_invalid_hotel_fields_are_422_with_errors_per_field(client, admin):
    chain = make_chain()
    body = hotel_body(chain.id, currency="rub", country="Russia", time_zone="Mars/Olympus", check_in_time="25:00",
                      stars=6, name={"ru": "Только по-русски"}, code="Bad Code!")

    response = client.post(f"{ADMIN}/hotels", headers=admin, json=body)

    problem = assert_problem(response, 422, "validation_failed")
    assert set(problem["errors"]) == {"currency", "country", "time_zone", "check_in_time", "stars", "name", "code"}


def test_unknown_fields_are_422(client, admin, hotel_a):
    response = client.patch(f"{ADMIN}/hotels/{hotel_a.id}", headers=admin, json={"stras": 5})

    problem = assert_problem(response, 422, "validation_failed")
    assert problem["errors"] == {"stras": ["Unknown field."]}


def test_duplicate_hotel_code_is_409(client, admin, hotel_a):
    response = client.post(f"{ADMIN}/hotels", headers=admin, json=hotel_body(hotel_a.chain_id, code="hotel-a"))

    assert_problem(response, 409, "hotel_code_taken")


def test_renaming_a_hotel_code_to_a_taken_one_is_409(client, admin, hotel_a, hotel_b):
    response = client.patch(f"{ADMIN}/hotels/{hotel_b.id}", headers=admin, json={"code": "hotel-a"})

    assert_problem(response, 409, "hotel_code_taken")


# -- season calendars --------------------------------------------------------------------------------------------

def test_overlapping_seasons_are_422_seasons_overlap(client, admin, hotel_a):
    response = client.put(f"{ADMIN}/hotels/{hotel_a.id}/seasons", headers=admin, json={"seasons": [
        {"kind": "high", "start": "12-01", "end": "03-31"},
        {"kind": "low", "start": "03-15", "end": "05-31"},
    ]})

    problem = assert_problem(response, 422, "seasons_overlap")
    assert "12-01..03-31" in problem["detail"] and "03-15..05-31" in problem["detail"]
    assert [(s.start_month, s.start_day) for s in db.session.get(Hotel, hotel_a.id).seasons] == [(4, 15)]


def test_a_ski_season_may_wrap_over_new_year(client, admin, hotel_a):
    calendar = [
        {"kind": "high", "start": "12-01", "end": "03-31", "name": {"en": "Ski season"}},
        {"kind": "low", "start": "04-01", "end": "06-30"},
        {"kind": "shoulder", "start": "07-01", "end": "11-30"},
    ]

    response = client.put(f"{ADMIN}/hotels/{hotel_a.id}/seasons", headers=admin, json={"seasons": calendar})

    assert response.status_code == 200
    assert [(s["kind"], s["start"], s["end"]) for s in response.get_json()["seasons"]] == [
        ("low", "04-01", "06-30"), ("shoulder", "07-01", "11-30"), ("high", "12-01", "03-31"),
    ]


def test_february_29_is_a_valid_season_day_but_april_31_is_not(client, admin, hotel_a):
    url = f"{ADMIN}/hotels/{hotel_a.id}/seasons"

    leap = client.put(url, headers=admin, json={"seasons": [{"kind": "high", "start": "02-29", "end": "02-29"}]})
    impossible = client.put(url, headers=admin, json={"seasons": [{"kind": "high", "start": "04-31", "end": "05-10"}]})
    wrong_kind = client.put(url, headers=admin, json={"seasons": [{"kind": "peak", "start": "04-01", "end": "4-30"}]})

    assert leap.status_code == 200
    assert assert_problem(impossible, 422, "validation_failed")["errors"] == {"seasons": {"0": {"start": [
        "Use MM-DD with a day that exists (for example 04-15)."]}}}
    assert set(assert_problem(wrong_kind, 422, "validation_failed")["errors"]["seasons"]["0"]) == {"kind", "end"}


def test_hotel_manager_cannot_replace_another_hotels_calendar(client, manager_a, hotel_b):
    response = client.put(f"{ADMIN}/hotels/{hotel_b.id}/seasons", headers=manager_a, json={"seasons": []})

    assert_problem(response, 404, "not_found")


# -- room types --------------------------------------------------------------------------------------------------

def test_manager_adds_a_room_type_with_all_translations(client, manager_a, hotel_a):
    response = client.post(f"{ADMIN}/hotels/{hotel_a.id}/room-types", headers=manager_a, json={
        "code": "deluxe", "name": {"en": "Deluxe", "ru": "Делюкс"}, "max_occupancy": 2, "bed_type": "queen",
        "size_m2": 30, "amenities": ["wifi", "minibar"], "photos": ["https://example.com/deluxe.jpg"],
    })

    assert response.status_code == 201
    body = response.get_json()
    assert body["name"] == {"en": "Deluxe", "ru": "Делюкс"} and body["hotel_id"] == hotel_a.id
    assert client.get(f"{HOTELS}/{hotel_a.id}/room-types").get_json()[0]["name"] == "Deluxe"


def test_room_type_photos_must_be_http_urls(client, admin, hotel_a):
    response = client.post(f"{ADMIN}/hotels/{hotel_a.id}/room-types", headers=admin, json={
        "code": "std", "name": {"en": "Standard"}, "max_occupancy": 2,
        "photos": ["https://example.com/ok.jpg", "javascript:alert(1)", "ftp://example.com/x.jpg"],
    })

    problem = assert_problem(response, 422, "validation_failed")
    assert set(problem["errors"]["photos"]) == {"1", "2"}


def test_duplicate_room_type_code_in_a_hotel_is_409_but_free_in_another(client, admin, hotel_a, hotel_b):
    make_room_type(hotel_a, code="std")
    body = {"code": "std", "name": {"en": "Standard"}, "max_occupancy": 2}

    taken = client.post(f"{ADMIN}/hotels/{hotel_a.id}/room-types", headers=admin, json=body)
    elsewhere = client.post(f"{ADMIN}/hotels/{hotel_b.id}/room-types", headers=admin, json=body)

    assert_problem(taken, 409, "room_type_code_taken")
    assert elsewhere.status_code == 201


def test_manager_changes_own_room_type_but_another_hotels_is_not_found(client, manager_a, hotel_a, hotel_b):
    own, other = make_room_type(hotel_a), make_room_type(hotel_b)

    changed = client.patch(f"{ADMIN}/room-types/{own.id}", headers=manager_a, json={"max_occupancy": 4})
    hidden = client.patch(f"{ADMIN}/room-types/{other.id}", headers=manager_a, json={"max_occupancy": 4})

    assert changed.get_json()["max_occupancy"] == 4
    assert_problem(hidden, 404, "not_found")


# -- rooms -------------------------------------------------------------------------------------------------------

def test_manager_adds_a_room_and_lists_rooms_page_by_page(client, manager_a, hotel_a):
    room_type = make_room_type(hotel_a)
    for number in ("101", "102"):
        make_room(room_type, number=number)

    created = client.post(f"{ADMIN}/hotels/{hotel_a.id}/rooms", headers=manager_a, json={
        "number": "201", "floor": 2, "room_type_id": room_type.id, "features": ["sea_view", "quiet"],
    })
    first = client.get(f"{ADMIN}/hotels/{hotel_a.id}/rooms", headers=manager_a, query_string={"limit": 2}).get_json()
    second = client.get(f"{ADMIN}/hotels/{hotel_a.id}/rooms", headers=manager_a,
                        query_string={"limit": 2, "cursor": first["next_cursor"]}).get_json()

    assert created.status_code == 201
    assert created.get_json()["features"] == ["sea_view", "quiet"]
    assert [room["number"] for room in first["items"] + second["items"]] == ["101", "102", "201"]
    assert second["next_cursor"] is None


def test_a_room_needs_a_room_type_of_the_same_hotel(client, admin, hotel_a, hotel_b):
    foreign_type = make_room_type(hotel_b)

    response = client.post(f"{ADMIN}/hotels/{hotel_a.id}/rooms", headers=admin,
                           json={"number": "101", "floor": 1, "room_type_id": foreign_type.id})

    assert "room_type_id" in assert_problem(response, 422, "unknown_room_type")["errors"]


def test_duplicate_room_number_in_a_hotel_is_409(client, admin, hotel_a):
    room_type = make_room_type(hotel_a)
    make_room(room_type, number="101")

    response = client.post(f"{ADMIN}/hotels/{hotel_a.id}/rooms", headers=admin,
                           json={"number": "101", "floor": 1, "room_type_id": room_type.id})

    assert_problem(response, 409, "room_number_taken")


def test_room_floor_must_be_within_range(client, admin, hotel_a):
    room_type = make_room_type(hotel_a)

    response = client.post(f"{ADMIN}/hotels/{hotel_a.id}/rooms", headers=admin,
                           json={"number": "B1", "floor": -6, "room_type_id": room_type.id})

    assert set(assert_problem(response, 422, "validation_failed")["errors"]) == {"floor"}


def test_manager_changes_own_room_but_another_hotels_is_not_found(client, manager_a, hotel_a, hotel_b):
    own, other = make_room(make_room_type(hotel_a)), make_room(make_room_type(hotel_b))

    changed = client.patch(f"{ADMIN}/rooms/{own.id}", headers=manager_a, json={"floor": 3, "is_active": False})
    hidden = client.patch(f"{ADMIN}/rooms/{other.id}", headers=manager_a, json={"floor": 3})
    listing = client.get(f"{ADMIN}/hotels/{hotel_b.id}/rooms", headers=manager_a)

    assert (changed.get_json()["floor"], changed.get_json()["is_active"]) == (3, False)
    assert_problem(hidden, 404, "not_found")
    assert_problem(listing, 404, "not_found")


# -- departments -------------------------------------------------------------------------------------------------

def test_replacing_departments_keeps_ids_of_kinds_that_stay(client, manager_a, hotel_a):
    url = f"{ADMIN}/hotels/{hotel_a.id}/departments"
    client.put(url, headers=manager_a, json={"departments": [
        {"kind": "front_desk", "name": {"en": "Reception"}},
        {"kind": "kitchen", "name": {"en": "Kitchen"}},
    ]})
    before = {d["kind"]: d["id"] for d in client.get(url, headers=manager_a).get_json()["departments"]}

    response = client.put(url, headers=manager_a, json={"departments": [
        {"kind": "laundry", "name": {"en": "Laundry", "ru": "Прачечная"}},
        {"kind": "front_desk", "name": {"en": "Front desk", "ru": "Ресепшн"}},
    ]})

    after = response.get_json()["departments"]
    assert response.status_code == 200
    assert [d["kind"] for d in after] == ["front_desk", "laundry"]
    assert after[0] == {"id": before["front_desk"], "kind": "front_desk", "name": {"en": "Front desk", "ru": "Ресепшн"}}
    with unit_of_work():
        assert db.session.query(Department).filter_by(kind="kitchen").count() == 0


def test_a_department_kind_may_appear_once(client, admin, hotel_a):
    response = client.put(f"{ADMIN}/hotels/{hotel_a.id}/departments", headers=admin, json={"departments": [
        {"kind": "kitchen", "name": {"en": "Kitchen"}}, {"kind": "kitchen", "name": {"en": "Bar"}},
    ]})

    assert "departments" in assert_problem(response, 422, "validation_failed")["errors"]
