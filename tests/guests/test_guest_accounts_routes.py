"""Guest accounts through the HTTP API: one-time codes, claiming a walk-in profile, no silent takeover."""

from datetime import timedelta

from sqlalchemy import func, select

from app.core import clock
from app.extensions import db
from app.guests.models import Guest, GuestSource
from app.guests.senders import code_sender
from app.identity.models import LoginCode
from tests.factories import PASSWORD, make_guest, make_hotel

PHONE = "+79991112233"


def request_code(client, **contact):
    return client.post("/api/v1/auth/code", json=contact)


def verify_code(client, code, **contact):
    return client.post("/api/v1/auth/code/verify", json={**contact, "code": code})


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_code_login_creates_a_profile_for_a_new_phone(client, app):
    assert request_code(client, phone="+7 999 111-22-33").status_code == 202
    code = code_sender(app).last_code(PHONE)

    response = verify_code(client, code, phone=PHONE)

    assert response.status_code == 200
    me = client.get("/api/v1/me", headers=bearer(response.json["access_token"])).json
    assert me["phone"] == PHONE and me["phone_verified"] is True


def test_a_code_works_once(client, app):
    request_code(client, email="olga@example.com")
    code = code_sender(app).last_code("olga@example.com")
    assert verify_code(client, code, email="olga@example.com").status_code == 200
    again = verify_code(client, code, email="olga@example.com")
    assert again.status_code == 401 and again.json["code"] == "code_invalid"


def test_a_code_expires_after_five_minutes(client, app):
    with clock.frozen(clock.now()) as advance:
        request_code(client, email="olga@example.com")
        advance(timedelta(minutes=5, seconds=1))
        response = verify_code(client, code_sender(app).last_code("olga@example.com"), email="olga@example.com")
    assert response.status_code == 401 and response.json["code"] == "code_invalid"


def test_wrong_codes_are_limited_even_before_the_right_one(client, app):
    request_code(client, email="olga@example.com")
    right = code_sender(app).last_code("olga@example.com")
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        assert verify_code(client, wrong, email="olga@example.com").json["code"] == "code_invalid"
    response = verify_code(client, right, email="olga@example.com")
    assert response.status_code == 429 and response.json["code"] == "code_attempts_exceeded"


def test_codes_are_stored_only_as_keyed_hashes(client, app):
    request_code(client, email="olga@example.com")
    code = code_sender(app).last_code("olga@example.com")
    stored = db.session.scalars(select(LoginCode.code_hash)).one()
    assert code not in stored and len(stored) == 64


def test_code_requests_are_rate_limited_per_destination_however_spelled(client):
    for spelling in ("+79991112233", "+7 999 111-22-33", "+7(999)1112233", "+7 999 1112233", "+7-999-111-2233"):
        assert request_code(client, phone=spelling).status_code == 202
    limited = request_code(client, phone="+7 (999) 111 22 33")
    assert request_code(client, phone="+79991112244").status_code == 202  # another phone, same address
    assert limited.status_code == 429 and limited.json["code"] == "rate_limited"


def test_code_requests_are_rate_limited_per_address(client):
    for n in range(20):
        assert request_code(client, email=f"probe{n}@example.com").status_code == 202
    assert request_code(client, email="one-more@example.com").status_code == 429


def test_code_request_does_not_reveal_whether_a_contact_is_known(client):
    make_guest(email="known@example.com")
    known = request_code(client, email="known@example.com")
    unknown = request_code(client, email="unknown@example.com")
    assert known.status_code == unknown.status_code == 202
    assert known.json.keys() == unknown.json.keys()


def test_registering_a_members_email_is_refused_with_advice(client):
    make_guest(email="member@example.com")
    response = client.post("/api/v1/auth/register", json={"email": "member@example.com", "password": "another pw 1"})
    assert response.status_code == 409 and response.json["code"] == "account_exists"
    assert "log in" in response.json["detail"]
    assert login_ok(client, "member@example.com", PASSWORD)


def login_ok(client, login_name, password):
    return client.post("/api/v1/auth/login", json={"login": login_name, "password": password}).status_code == 200


def test_a_walk_in_profile_is_claimed_by_code_not_by_registering(client, app, auth_headers):
    from tests.factories import make_staff

    hotel = make_hotel()
    desk = auth_headers(make_staff(hotels=[hotel]))
    walk_in = client.post("/api/v1/staff/guests", headers=desk, json={
        "hotel_id": hotel.id, "first_name": "Pavel", "last_name": "Petrov", "phone": PHONE,
    }).json

    register = client.post("/api/v1/auth/register", json={"phone": PHONE, "password": "mine now 123"})
    assert register.status_code == 409 and register.json["code"] == "profile_claim_required"

    request_code(client, phone=PHONE)
    claimed = verify_code(client, code_sender(app).last_code(PHONE), phone=PHONE)
    me = client.get("/api/v1/me", headers=bearer(claimed.json["access_token"])).json
    assert me["id"] == walk_in["id"] and me["last_name"] == "Petrov"
    assert db.session.scalar(select(func.count()).select_from(Guest)) == 1


def test_after_a_code_login_a_password_can_be_set_without_the_old_one(client, app):
    make_guest(email="forgot@example.com", source=GuestSource.APP.value)
    request_code(client, email="forgot@example.com")
    tokens = verify_code(client, code_sender(app).last_code("forgot@example.com"), email="forgot@example.com").json
    response = client.post("/api/v1/auth/password", headers=bearer(tokens["access_token"]),
                           json={"new_password": "remembered now"})
    assert response.status_code == 204
    assert login_ok(client, "forgot@example.com", "remembered now")
