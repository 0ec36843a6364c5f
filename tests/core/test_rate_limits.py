"""Flask-Limiter is consulted only by endpoints that declare a limit (app/core/ratelimits.py)."""

from flask import Flask
from flask.testing import FlaskClient

from app.core.ratelimits import limited_endpoints


def test_every_endpoint_that_declares_a_limit_is_found(app: Flask) -> None:
    # Also fails if Flask-Limiter stops marking what it decorates: the filter would then lift every limit.
    assert limited_endpoints(app) == {
        "guest-auth.Register", "guest-auth.Login", "guest-auth.LoginCode", "guest-auth.LoginCodeVerify",
        "staff.StaffLogin", "console.login",
    }


def test_a_declared_limit_still_counts_and_refuses(app: Flask, client: FlaskClient) -> None:
    allowed = int(app.config["RATELIMIT_LOGIN"].split()[0])  # "10 per minute"
    body = {"login": "nobody@example.com", "password": "wrong-password-1"}
    first = client.post("/api/v1/auth/login", json=body)
    assert first.headers["X-RateLimit-Limit"] == str(allowed)
    for _ in range(allowed - 1):
        client.post("/api/v1/auth/login", json=body)
    refused = client.post("/api/v1/auth/login", json=body)
    assert refused.status_code == 429
    assert refused.json["code"] == "rate_limited"


def test_an_endpoint_without_a_limit_is_not_counted(client: FlaskClient) -> None:
    response = client.get("/api/v1/hotels")
    assert response.status_code == 200
    assert "X-RateLimit-Limit" not in response.headers
