"""Tokens and sessions through the HTTP API: login, refresh rotation and theft detection, logout, sessions, keys."""

from datetime import timedelta

from app.core import clock
from app.core.auth import ServiceKind
from app.core.db import unit_of_work
from app.identity import services as identity
from tests.factories import PASSWORD, make_guest, make_hotel, make_staff

PROBLEM = "application/problem+json"


def login(client, login_name, password=PASSWORD, **extra):
    return client.post("/api/v1/auth/login", json={"login": login_name, "password": password, **extra})


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_register_returns_tokens_that_open_my_profile(client):
    response = client.post("/api/v1/auth/register", json={
        "email": " Maria@Example.COM ", "phone": "+7 999 123-45-67", "password": "long enough pw",
        "first_name": "Maria", "language": "ru",
    })
    assert response.status_code == 201
    assert response.json["token_type"] == "Bearer" and response.json["expires_in"] == 900
    me = client.get("/api/v1/me", headers=bearer(response.json["access_token"])).json
    assert (me["email"], me["phone"], me["language"]) == ("maria@example.com", "+79991234567", "ru")


def test_login_works_with_email_or_phone(client):
    make_guest(email="ivan@example.com", phone="+79990001122")
    assert login(client, "IVAN@example.com").status_code == 200
    assert login(client, "+7 999 000 11 22").status_code == 200


def test_wrong_password_and_unknown_login_answer_alike(client):
    make_guest(email="ivan@example.com")
    wrong = login(client, "ivan@example.com", "not the password")
    unknown = login(client, "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.mimetype == PROBLEM
    assert wrong.json["code"] == unknown.json["code"] == "invalid_credentials"


def test_refresh_rotates_and_the_old_refresh_token_works_once(client):
    make_guest(email="ivan@example.com")
    first = login(client, "ivan@example.com").json
    second = client.post("/api/v1/auth/refresh", headers=bearer(first["refresh_token"]))
    assert second.status_code == 200
    assert second.json["refresh_token"] != first["refresh_token"]
    assert client.get("/api/v1/me", headers=bearer(second.json["access_token"])).status_code == 200


def test_reusing_a_refresh_token_revokes_the_whole_family(client):
    make_guest(email="ivan@example.com")
    stolen = login(client, "ivan@example.com").json
    rotated = client.post("/api/v1/auth/refresh", headers=bearer(stolen["refresh_token"])).json

    replay = client.post("/api/v1/auth/refresh", headers=bearer(stolen["refresh_token"]))

    assert replay.status_code == 401 and replay.json["code"] == "refresh_token_reused"
    # Every token of the family is dead now, the legitimate client's newest ones included.
    assert client.post("/api/v1/auth/refresh", headers=bearer(rotated["refresh_token"])).status_code == 401
    me = client.get("/api/v1/me", headers=bearer(rotated["access_token"]))
    assert me.status_code == 401 and me.json["code"] == "session_ended"


def test_reuse_detection_spares_other_sessions(client):
    make_guest(email="ivan@example.com")
    phone = login(client, "ivan@example.com").json
    tablet = login(client, "ivan@example.com").json
    client.post("/api/v1/auth/refresh", headers=bearer(phone["refresh_token"]))
    client.post("/api/v1/auth/refresh", headers=bearer(phone["refresh_token"]))
    assert client.get("/api/v1/me", headers=bearer(tablet["access_token"])).status_code == 200


def test_access_token_cannot_refresh_and_refresh_token_cannot_read(client):
    make_guest(email="ivan@example.com")
    tokens = login(client, "ivan@example.com").json
    assert client.post("/api/v1/auth/refresh", headers=bearer(tokens["access_token"])).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(tokens["refresh_token"])).status_code == 401


def test_logout_ends_the_session_at_once(client):
    make_guest(email="ivan@example.com")
    tokens = login(client, "ivan@example.com").json
    assert client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"])).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(tokens["access_token"])).status_code == 401
    assert client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"])).status_code == 401


def test_password_change_ends_every_other_session(client):
    make_guest(email="ivan@example.com")
    here = login(client, "ivan@example.com", device_name="phone").json
    elsewhere = login(client, "ivan@example.com", device_name="old laptop").json

    changed = client.post("/api/v1/auth/password", headers=bearer(here["access_token"]),
                          json={"current_password": PASSWORD, "new_password": "a brand new secret"})

    assert changed.status_code == 204
    assert client.get("/api/v1/me", headers=bearer(here["access_token"])).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(elsewhere["access_token"])).status_code == 401
    assert login(client, "ivan@example.com").status_code == 401
    assert login(client, "ivan@example.com", "a brand new secret").status_code == 200


def test_password_change_needs_the_current_password(client):
    make_guest(email="ivan@example.com")
    tokens = login(client, "ivan@example.com").json
    missing = client.post("/api/v1/auth/password", headers=bearer(tokens["access_token"]),
                          json={"new_password": "a brand new secret"})
    wrong = client.post("/api/v1/auth/password", headers=bearer(tokens["access_token"]),
                        json={"current_password": "nope", "new_password": "a brand new secret"})
    assert missing.status_code == 403 and missing.json["code"] == "current_password_required"
    assert wrong.status_code == 401


def test_sessions_are_listed_and_one_can_be_revoked(client):
    make_guest(email="ivan@example.com")
    phone = login(client, "ivan@example.com", device_name="phone").json
    lost = login(client, "ivan@example.com", device_name="lost tablet").json
    sessions = client.get("/api/v1/auth/sessions", headers=bearer(phone["access_token"])).json
    assert {s["device_name"] for s in sessions} == {"phone", "lost tablet"}
    assert [s["current"] for s in sessions if s["device_name"] == "phone"] == [True]

    revoked = client.delete(f"/api/v1/auth/sessions/{lost['session_id']}", headers=bearer(phone["access_token"]))

    assert revoked.status_code == 204
    assert client.get("/api/v1/me", headers=bearer(lost["access_token"])).status_code == 401


def test_someone_elses_session_is_not_found(client):
    make_guest(email="ivan@example.com")
    make_guest(email="olga@example.com")
    ivan = login(client, "ivan@example.com").json
    olga = login(client, "olga@example.com").json
    response = client.delete(f"/api/v1/auth/sessions/{olga['session_id']}", headers=bearer(ivan["access_token"]))
    assert response.status_code == 404
    assert client.get("/api/v1/me", headers=bearer(olga["access_token"])).status_code == 200


def test_failed_logins_lock_the_account_with_growing_back_off(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_FAILURES_BEFORE_LOCK", 3)
    monkeypatch.setitem(app.config, "LOGIN_LOCK_BASE_SECONDS", 30)
    make_guest(email="ivan@example.com")
    with clock.frozen(clock.now()) as advance:
        for _ in range(3):
            assert login(client, "ivan@example.com", "guess").status_code == 401
        locked = login(client, "ivan@example.com")
        assert locked.status_code == 429 and locked.json["code"] == "login_locked"
        # At least the lock; Flask-Limiter may raise it to the end of its own window, never lower it.
        assert int(locked.headers["Retry-After"]) >= 30
        assert login(client, "ivan@example.com").json["code"] == "login_locked"
        advance(timedelta(seconds=31))
        assert login(client, "ivan@example.com", "guess again").status_code == 401  # 4th failure: 60 s now
        assert int(login(client, "ivan@example.com").headers["Retry-After"]) > 31
        advance(timedelta(seconds=61))
        assert login(client, "ivan@example.com").status_code == 200


def test_login_is_rate_limited_per_client_address(client):
    make_guest(email="ivan@example.com")
    # Different logins, so the per-account back-off does not step in: this is the per-address limit (10/min).
    statuses = [login(client, f"probe{n}@example.com", "wrong").status_code for n in range(10)]
    assert statuses == [401] * 10
    limited = login(client, "ivan@example.com")
    assert limited.status_code == 429
    assert limited.json["code"] == "rate_limited" and "Retry-After" in limited.headers


def test_staff_log_in_and_see_their_role_and_hotels(client):
    hotel = make_hotel()
    make_staff(email="desk@example.com", hotels=[hotel])
    response = client.post("/api/v1/staff/auth/login", json={"email": "desk@example.com", "password": PASSWORD})
    assert response.status_code == 200
    me = client.get("/api/v1/staff/me", headers=bearer(response.json["access_token"])).json
    assert me["role"] == "front_desk" and me["hotel_ids"] == [hotel.id]


def test_a_guest_token_cannot_call_staff_endpoints_nor_a_staff_token_guest_ones(client, auth_headers):
    hotel = make_hotel()
    guest_headers = auth_headers(make_guest())
    staff_headers = auth_headers(make_staff(hotels=[hotel]))
    assert client.get("/api/v1/staff/me", headers=guest_headers).status_code == 403
    assert client.get("/api/v1/me", headers=staff_headers).status_code == 403


def test_deactivated_staff_are_locked_out_at_once(client, auth_headers):
    staff = make_staff(hotels=[make_hotel()])
    headers = auth_headers(staff)
    with unit_of_work() as session:
        session.merge(staff).is_active = False
    response = client.get("/api/v1/staff/me", headers=headers)
    assert response.status_code == 401 and response.json["code"] == "account_unavailable"


def test_missing_expired_and_forged_tokens_are_401_problems(client, app, monkeypatch):
    make_guest(email="ivan@example.com")
    assert client.get("/api/v1/me").json["code"] == "token_missing"
    assert client.get("/api/v1/me", headers=bearer("not.a.jwt")).json["code"] == "token_invalid"
    tokens = login(client, "ivan@example.com").json
    forged = tokens["access_token"][:-3] + ("aaa" if not tokens["access_token"].endswith("aaa") else "bbb")
    assert client.get("/api/v1/me", headers=bearer(forged)).status_code == 401
    monkeypatch.setitem(app.config, "JWT_ACCESS_TOKEN_EXPIRES", timedelta(seconds=-1))
    expired = login(client, "ivan@example.com").json["access_token"]
    response = client.get("/api/v1/me", headers=bearer(expired))
    assert response.status_code == 401 and response.json["code"] == "token_expired"


def test_api_keys_identify_service_accounts_until_revoked(client):
    with unit_of_work():
        key, plaintext = identity.create_api_key(name="bridge-sochi", kind=ServiceKind.BRIDGE)
    me = client.get("/api/v1/service-accounts/me", headers={"X-API-Key": plaintext})
    assert me.status_code == 200 and me.json["name"] == "bridge-sochi" and me.json["kind"] == "bridge"
    assert client.get("/api/v1/service-accounts/me",
                      headers={"Authorization": f"ApiKey {plaintext}"}).status_code == 200
    assert client.get("/api/v1/service-accounts/me", headers={"X-API-Key": plaintext + "x"}).status_code == 401
    assert client.get("/api/v1/service-accounts/me").json["code"] == "api_key_missing"
    with unit_of_work():
        identity.revoke_api_key(prefix=key.prefix)
    assert client.get("/api/v1/service-accounts/me", headers={"X-API-Key": plaintext}).status_code == 401
