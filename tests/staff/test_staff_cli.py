"""The command-line tools that make the first accounts and machine keys."""

from app.core.auth import Role
from tests.factories import make_hotel


def test_flask_staff_create_makes_an_account_that_can_log_in(app, client):
    hotel = make_hotel(code="demo-sochi")
    result = app.test_cli_runner().invoke(args=[
        "staff", "create", "--email", "Desk@Example.com", "--name", "Desk Clerk", "--role", Role.FRONT_DESK.value,
        "--hotel", hotel.code, "--password", "long enough pw",
    ])
    assert result.exit_code == 0, result.output
    login = client.post("/api/v1/staff/auth/login", json={"email": "desk@example.com", "password": "long enough pw"})
    assert login.status_code == 200


def test_flask_staff_create_refuses_unknown_hotels_and_hotel_less_staff(app):
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["staff", "create", "--email", "a@example.com", "--name", "A", "--role",
                                  "housekeeping", "--hotel", "nowhere", "--password", "long enough pw"])
    assert unknown.exit_code != 0 and "nowhere" in str(unknown.exception)
    no_hotel = runner.invoke(args=["staff", "create", "--email", "b@example.com", "--name", "B", "--role",
                                   "housekeeping", "--password", "long enough pw"])
    assert no_hotel.exit_code != 0


def test_flask_apikey_create_prints_a_working_key_once(app, client):
    result = app.test_cli_runner().invoke(args=["apikey", "create", "--name", "bridge-1", "--kind", "bridge"])
    assert result.exit_code == 0
    key = result.output.split(": ", 1)[1].splitlines()[0].strip()
    assert client.get("/api/v1/service-accounts/me", headers={"X-API-Key": key}).json["name"] == "bridge-1"
    prefix = key.split(".")[0]
    assert app.test_cli_runner().invoke(args=["apikey", "revoke", prefix]).exit_code == 0
    assert client.get("/api/v1/service-accounts/me", headers={"X-API-Key": key}).status_code == 401
