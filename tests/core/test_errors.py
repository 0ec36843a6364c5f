"""Bad input gets a clear 4xx problem response; nothing answers 500 to a client's mistake."""

import pytest

from tests.factories import make_guest

PROBLEM = "application/problem+json"


def test_malformed_json_is_a_400_problem(client):
    response = client.post("/api/v1/auth/login", data="{not json", content_type="application/json")
    assert response.status_code == 400 and response.mimetype == PROBLEM
    assert response.json["code"] == "malformed_json" and response.json["status"] == 400


def test_wrong_types_and_missing_fields_are_named_per_field(client):
    response = client.post("/api/v1/auth/register", json={"email": 42, "password": ["x"], "language": None})
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert response.json["code"] == "validation_failed"
    assert set(response.json["errors"]) == {"email", "password", "language"}


def test_unknown_fields_are_rejected_not_ignored(client):
    response = client.post("/api/v1/auth/login", json={"login": "a@example.com", "password": "x", "admin": True})
    assert response.status_code == 422 and response.json["errors"] == {"admin": ["Unknown field."]}


def test_errors_of_list_items_and_of_the_whole_body_together_are_a_422(client, auth_headers):
    """marshmallow keys list items by index and whole-schema errors by "_schema": the answer stays JSON, not a 500."""
    from app.core.auth import Role
    from tests.factories import make_hotel, make_staff

    hotel = make_hotel()
    headers = auth_headers(make_staff(Role.HOTEL_MANAGER, hotels=[hotel]))
    response = client.put(f"/api/v1/admin/hotels/{hotel.id}/departments", headers=headers,
                          json={"departments": [{"kind": "kitchen", "name": {}}, {"kind": "kitchen", "name": {}}]})
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert set(response.json["errors"]["departments"]) == {"0", "1", "_schema"}
    # An item without its kind (the fuzzer's find) is a field error too, not a 500.
    response = client.put(f"/api/v1/admin/hotels/{hotel.id}/departments", headers=headers,
                          json={"departments": [{"kind": "concierge", "name": {"en": "Desk"}}, {"name": {}}]})
    assert response.status_code == 422 and "1" in response.json["errors"]["departments"]


def test_a_body_that_is_not_an_object_is_a_422(client):
    response = client.post("/api/v1/auth/login", json=["a", "b"])
    assert response.status_code == 422 and response.mimetype == PROBLEM


def test_oversize_bodies_are_refused(client):
    response = client.post("/api/v1/auth/login", data="x" * (1024 * 1024 + 1), content_type="application/json")
    assert response.status_code == 413 and response.json["code"] == "payload_too_large"


@pytest.mark.parametrize("method,path", [
    ("DELETE", "/api/v1/me/family/abc"), ("DELETE", "/api/v1/me/family/-1"), ("GET", "/api/v1/nowhere"),
    ("DELETE", "/api/v1/me/family/99999999999999999999999"), ("GET", "/api/v1/staff/guests/1.5"),
])
def test_bad_ids_and_unknown_paths_are_404_problems(client, auth_headers, method, path):
    response = client.open(path, method=method, headers=auth_headers(make_guest()))
    assert response.status_code == 404 and response.mimetype == PROBLEM and response.json["code"] == "not_found"


def test_wrong_method_is_a_405_problem_with_allow(client):
    response = client.delete("/api/v1/auth/login")
    assert response.status_code == 405 and response.json["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]


def test_bad_query_arguments_are_422(client, auth_headers):
    from app.core.auth import Role
    from tests.factories import make_hotel, make_staff

    desk = auth_headers(make_staff(Role.FRONT_DESK, hotels=[make_hotel()]))
    for query in ("query=ab&limit=0", "query=ab&limit=many", "query=ab&cursor=garbage", "query=ab&x=1", ""):
        response = client.get(f"/api/v1/staff/guests?{query}", headers=desk)
        assert response.status_code == 422, query
        assert response.mimetype == PROBLEM


def test_every_response_carries_a_request_id_and_echoes_a_safe_one(client):
    assert len(client.get("/healthz").headers["X-Request-ID"]) == 32
    assert client.get("/healthz", headers={"X-Request-ID": "app-1234"}).headers["X-Request-ID"] == "app-1234"
    unsafe = client.get("/healthz", headers={"X-Request-ID": "<script>"}).headers["X-Request-ID"]
    assert unsafe != "<script>" and len(unsafe) == 32
    problem = client.get("/api/v1/me", headers={"X-Request-ID": "trace-42"}).json
    assert problem["request_id"] == "trace-42"


def test_an_unexpected_error_is_a_500_problem_without_internals(client, auth_headers, monkeypatch):
    def boom(**_):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("app.guests.routes.services.get_preferences", boom)
    response = client.get("/api/v1/me/preferences", headers=auth_headers(make_guest()))
    assert response.status_code == 500 and response.mimetype == PROBLEM
    assert "secret" not in response.get_data(as_text=True)


def test_text_with_a_nul_character_is_a_422_not_a_database_error(client, auth_headers):
    """PostgreSQL cannot store U+0000 in text: before this check, the fuzzer's query (below) was a 500 there."""
    from app.core.auth import Role
    from tests.factories import make_hotel, make_staff

    manager = auth_headers(make_staff(Role.HOTEL_MANAGER, hotels=[make_hotel()]))
    response = client.get("/api/v1/staff/audit?subject_kind=%C3%9F%00%03&actor_kind=staff", headers=manager)
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert response.json["errors"] == {"subject_kind": ["Must not contain the NUL character (U+0000)."]}
    guest = make_guest()
    response = client.patch("/api/v1/me", headers=auth_headers(guest), json={"first_name": "Ann\u0000a"})
    assert response.status_code == 422 and "first_name" in response.json["errors"]
    response = client.put("/api/v1/me/preferences", headers=auth_headers(guest),
                          json={"allergies": ["nuts", "milk\u0000"]})
    assert response.status_code == 422 and "1" in response.json["errors"]["allergies"]
    assert client.get("/api/v1/me", headers=auth_headers(guest)).json["first_name"] == guest.first_name
