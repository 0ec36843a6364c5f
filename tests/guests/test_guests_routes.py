"""The guest's profile, preferences, family and consents through the HTTP API."""

from sqlalchemy import text

from app.core import clock
from app.extensions import db
from app.guests.models import Guest
from app.guests.schemas import GuestSchema
from tests.factories import make_guest

PREFERENCES = {
    "room_temperature_c": 21.5, "light_level": 40, "curtains_position": 50, "pillow": "feather", "bed": "king",
    "floor": "high",
    "quiet_room": True, "allergies": ["feathers", "nuts"], "diet": ["vegetarian"], "newspaper": "Kommersant",
    "service_language": "ru", "notes": "Late arrival on Fridays",
}


def test_profile_round_trip(client, auth_headers):
    headers = auth_headers(make_guest())
    changes = {"first_name": "Olga", "birth_date": "1990-02-28", "time_zone": "Asia/Vladivostok",
               "country": "RU", "city": "Vladivostok", "language": "ru"}
    assert client.patch("/api/v1/me", headers=headers, json=changes).status_code == 200
    me = client.get("/api/v1/me", headers=headers).json
    assert {key: me[key] for key in changes} == changes


def test_get_me_shows_every_field_exactly_as_the_profile_update_returns_it(client, auth_headers):
    # GET /me reads the profile's columns with SQLAlchemy Core; PATCH /me returns the ORM object through the same
    # schema: the two must agree field for field, including the derived ones (verified flags, identity document).
    headers = auth_headers(make_guest(phone="+79991234567", email_verified_at=clock.now()))
    client.put("/api/v1/me/identity-document", headers=headers, json={
        "type": "passport", "number": "4509123456", "issuing_country": "RU", "expires_on": "2031-05-01"})
    updated = client.patch("/api/v1/me", headers=headers, json={
        "first_name": "Olga", "last_name": "Ivanova", "birth_date": "1990-02-28", "time_zone": "Europe/Moscow",
        "country": "RU", "city": "Sochi", "language": "ru"}).json
    shown = client.get("/api/v1/me", headers=headers).json
    assert shown == updated
    assert set(shown) == {"id", "email", "phone", "email_verified", "phone_verified", "first_name", "last_name",
                          "birth_date", "language", "time_zone", "country", "city", "has_identity_document",
                          "created_at"}
    assert shown["has_identity_document"] is True
    assert shown["email_verified"] is True and shown["phone_verified"] is False
    assert shown["created_at"].endswith("+00:00")


def test_get_me_hand_written_answer_is_the_schemas_for_a_sparse_profile_too(client, auth_headers):
    # GET /me writes its document by hand (dump_guest); GuestSchema is the contract. A walk-in's profile with
    # nothing but a phone: every optional field empty, nothing verified.
    guest = make_guest(email=None, phone="+79990001122", first_name=None, last_name=None, password=None)
    shown = client.get("/api/v1/me", headers=auth_headers(guest)).json
    db.session.expire_all()
    assert shown == GuestSchema().dump(db.session.get(Guest, guest.id))
    assert shown["email"] is None and shown["birth_date"] is None and shown["email_verified"] is False


def test_identity_document_is_encrypted_at_rest(client, auth_headers):
    guest = make_guest()
    headers = auth_headers(guest)
    document = {"type": "passport", "number": "4509123456", "issuing_country": "RU", "expires_on": "2031-05-01"}
    assert client.get("/api/v1/me/identity-document", headers=headers).status_code == 404
    assert client.put("/api/v1/me/identity-document", headers=headers, json=document).status_code == 200
    assert client.get("/api/v1/me/identity-document", headers=headers).json == document
    me = client.get("/api/v1/me", headers=headers).json
    assert me["has_identity_document"] is True and "4509123456" not in str(me)
    stored = db.session.execute(text("SELECT identity_document FROM guests WHERE id = :id"), {"id": guest.id}).scalar()
    assert "4509123456" not in stored and stored.startswith("gAAAA")  # a Fernet token
    assert client.delete("/api/v1/me/identity-document", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).json["has_identity_document"] is False


def test_a_new_email_must_be_free_and_starts_unverified(client, auth_headers):
    make_guest(email="taken@example.com")
    headers = auth_headers(make_guest(email="me@example.com", email_verified_at=None))
    taken = client.patch("/api/v1/me", headers=headers, json={"email": "TAKEN@example.com"})
    assert taken.status_code == 409 and taken.json["code"] == "contact_taken"
    changed = client.patch("/api/v1/me", headers=headers, json={"email": "new@example.com"})
    assert changed.json["email"] == "new@example.com" and changed.json["email_verified"] is False


def test_the_last_contact_cannot_be_removed(client, auth_headers):
    headers = auth_headers(make_guest(email="me@example.com", phone=None))
    response = client.patch("/api/v1/me", headers=headers, json={"email": None})
    assert response.status_code == 422 and response.json["code"] == "contact_required"


def test_profile_fields_are_validated(client, auth_headers):
    headers = auth_headers(make_guest())
    response = client.patch("/api/v1/me", headers=headers, json={
        "phone": "12345", "time_zone": "Mars/Olympus", "country": "Russia", "birth_date": "2999-01-01",
        "language": "de",
    })
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert set(response.json["errors"]) == {"phone", "time_zone", "country", "birth_date", "language"}


def test_preferences_round_trip_and_put_replaces(client, auth_headers):
    headers = auth_headers(make_guest())
    assert client.get("/api/v1/me/preferences", headers=headers).json["allergies"] == []
    saved = client.put("/api/v1/me/preferences", headers=headers, json=PREFERENCES)
    assert saved.status_code == 200
    assert {key: saved.json[key] for key in PREFERENCES} == PREFERENCES
    assert client.put("/api/v1/me/preferences", headers=headers, json={"pillow": "firm"}).json["allergies"] == []
    assert client.get("/api/v1/me/preferences", headers=headers).json["pillow"] == "firm"


def test_preferences_are_validated(client, auth_headers):
    headers = auth_headers(make_guest())
    response = client.put("/api/v1/me/preferences", headers=headers, json={
        "room_temperature_c": 21.3, "light_level": 140, "pillow": "rock", "allergies": ["x" * 41], "colour": "red",
    })
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"room_temperature_c", "light_level", "pillow", "allergies", "colour"}


def test_a_childs_birthday_needs_the_parents_consent(client, auth_headers):
    headers = auth_headers(make_guest())
    child = {"relation": "child", "first_name": "Masha", "birth_date": "2019-07-01"}
    refused = client.post("/api/v1/me/family", headers=headers, json=child)
    assert refused.status_code == 422 and refused.json["code"] == "consent_required"
    assert client.post("/api/v1/me/family", headers=headers,
                       json={"relation": "child", "first_name": "Masha"}).status_code == 201

    client.post("/api/v1/me/consents", headers=headers, json={"purpose": "children_birthdays", "granted": True})
    assert client.post("/api/v1/me/family", headers=headers, json=child).status_code == 201

    client.post("/api/v1/me/consents", headers=headers, json={"purpose": "children_birthdays", "granted": False})
    family = client.get("/api/v1/me/family", headers=headers).json
    assert [member["birth_date"] for member in family] == [None, None]


def test_family_members_of_others_are_not_found(client, auth_headers):
    mine = auth_headers(make_guest())
    theirs = auth_headers(make_guest())
    member = client.post("/api/v1/me/family", headers=theirs, json={"relation": "spouse", "first_name": "Ivan"}).json
    assert client.delete(f"/api/v1/me/family/{member['id']}", headers=mine).status_code == 404
    assert client.delete(f"/api/v1/me/family/{member['id']}", headers=theirs).status_code == 204


def test_consents_keep_their_history_with_policy_version(client, auth_headers):
    headers = auth_headers(make_guest())
    initial = client.get("/api/v1/me/consents", headers=headers).json
    assert all(not state["granted"] for state in initial["current"]) and initial["history"] == []

    client.post("/api/v1/me/consents", headers=headers, json={"purpose": "marketing_push", "granted": True})
    overview = client.post("/api/v1/me/consents", headers=headers,
                           json={"purpose": "marketing_push", "granted": False}).json

    push = next(state for state in overview["current"] if state["purpose"] == "marketing_push")
    assert push["granted"] is False and push["source"] == "app"
    assert [(r["purpose"], r["granted"]) for r in overview["history"]] == [
        ("marketing_push", False), ("marketing_push", True)]
    assert {r["policy_version"] for r in overview["history"]} == {overview["policy_version"]}
