"""Security headers on every answer, CORS only for allowed origins, and production refusing weak settings."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from config import ProductionConfig
from tests.factories import make_guest

CONSOLE = "https://console.example.com"


@pytest.fixture
def config(app):
    """Change the app's config for one test (the app is shared by the session)."""
    saved = dict(app.config)
    yield app.config
    app.config.clear()
    app.config.update(saved)


@pytest.mark.parametrize("path", ["/api/v1/hotels", "/api/v1/me", "/api/v1/nope", "/healthz"])
def test_every_answer_carries_the_security_headers(client, path):
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "Strict-Transport-Security" not in response.headers  # testing runs over plain HTTP


def test_hsts_is_sent_when_configured_and_production_sets_a_year(client, config):
    config["SECURITY_HSTS_SECONDS"] = 31536000
    assert client.get("/healthz").headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert ProductionConfig.SECURITY_HSTS_SECONDS >= 31536000


def test_swagger_ui_may_run_its_own_script_and_nothing_else(client):
    response = client.get("/docs")
    csp = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    inline = re.search(rb"<script>(.*?)</script>", response.data, re.DOTALL).group(1)
    digest = base64.b64encode(hashlib.sha256(inline).digest()).decode()
    assert f"'sha256-{digest}'" in csp["script-src"] and "unsafe-inline" not in csp["script-src"]
    assert csp["default-src"] == "'none'" and csp["connect-src"] == "'self'" and csp["frame-ancestors"] == "'none'"


def test_an_allowed_origin_gets_cors_headers_and_others_do_not(client, config, auth_headers):
    config["CORS_ORIGINS"] = [CONSOLE]
    headers = auth_headers(make_guest())
    allowed = client.get("/api/v1/me", headers={**headers, "Origin": CONSOLE})
    assert allowed.status_code == 200 and allowed.headers["Access-Control-Allow-Origin"] == CONSOLE
    assert "Origin" in allowed.headers["Vary"] and "ETag" in allowed.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in allowed.headers  # bearer tokens, never cookies
    other = client.get("/api/v1/me", headers={**headers, "Origin": "https://evil.example.com"})
    assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other.headers


def test_preflight_is_answered_without_authentication_for_allowed_origins_only(client, config):
    config["CORS_ORIGINS"] = [CONSOLE]
    preflight = {"Access-Control-Request-Method": "PATCH", "Access-Control-Request-Headers": "authorization"}
    allowed = client.options("/api/v1/me", headers={**preflight, "Origin": CONSOLE})
    assert allowed.status_code == 204 and allowed.headers["Access-Control-Allow-Origin"] == CONSOLE
    assert "PATCH" in allowed.headers["Access-Control-Allow-Methods"]
    assert "Idempotency-Key" in allowed.headers["Access-Control-Allow-Headers"]
    refused = client.options("/api/v1/me", headers={**preflight, "Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_no_cors_by_default(client):
    response = client.get("/api/v1/hotels", headers={"Origin": CONSOLE})
    assert "Access-Control-Allow-Origin" not in response.headers


# -- production refuses weak settings ----------------------------------------------------------------------------

@pytest.fixture
def production(monkeypatch):
    """ProductionConfig with real settings; each test weakens one."""
    from cryptography.fernet import Fernet

    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://app@db/hotel")
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    for name, value in {"SECRET_KEY": "s" * 40, "JWT_SECRET_KEY": "j" * 40, "VOUCHER_SIGNING_KEY": "v" * 40,
                        "DATA_ENCRYPTION_KEYS": [Fernet.generate_key().decode()],
                        "LOGIN_CODE_SENDER": "sms_gateway:Sender",
                        "FCM_CREDENTIALS_FILE": "/run/secrets/fcm-service-account.json",
                        "CORS_ORIGINS": [CONSOLE]}.items():
        monkeypatch.setattr(ProductionConfig, name, value)
    ProductionConfig.validate()  # the baseline starts
    return monkeypatch


def _refusal() -> str:
    with pytest.raises(RuntimeError) as refused:
        ProductionConfig.validate()
    return str(refused.value)


@pytest.mark.parametrize(("setting", "value", "named"), [
    ("DEBUG", True, "DEBUG"),
    ("CORS_ORIGINS", ["*"], "CORS_ORIGINS"),
    ("CORS_ORIGINS", [CONSOLE, "http://console.example.com"], "CORS_ORIGINS"),
    ("ARGON2_TIME_COST", 1, "ARGON2_TIME_COST"),
    ("ARGON2_MEMORY_COST_KIB", 256, "ARGON2_MEMORY_COST_KIB"),
    ("DATA_ENCRYPTION_KEYS", [], "DATA_ENCRYPTION_KEYS"),
    ("SECRET_KEY", "short-secret", "SECRET_KEY"),
    ("JWT_SECRET_KEY", "short-secret", "JWT_SECRET_KEY"),
])
def test_production_refuses_a_weak_setting(production, setting, value, named):
    production.setattr(ProductionConfig, setting, value)
    assert named in _refusal()


@pytest.mark.parametrize(("memory_kib", "time_cost", "accepted"), [
    (47104, 1, True), (19456, 2, True), (12288, 3, True), (9216, 4, True), (7168, 5, True), (65536, 3, True),
    (47103, 1, False), (19456, 1, False), (7168, 4, False), (6144, 10, False),
])
def test_production_takes_any_owasp_argon2id_profile(production, memory_kib, time_cost, accepted):
    production.setattr(ProductionConfig, "ARGON2_MEMORY_COST_KIB", memory_kib)
    production.setattr(ProductionConfig, "ARGON2_TIME_COST", time_cost)
    if accepted:
        ProductionConfig.validate()
    else:
        assert "ARGON2_MEMORY_COST_KIB" in _refusal()


def test_production_refuses_flask_debug_from_the_environment(production):
    production.setenv("FLASK_DEBUG", "1")
    assert "DEBUG" in _refusal()


def test_production_refuses_sqlite_unless_explicitly_allowed(production):
    production.setenv("DATABASE_URL", "sqlite:////srv/hotel/hotel.db")
    assert "ALLOW_SQLITE_IN_PRODUCTION" in _refusal()
    production.setattr(ProductionConfig, "ALLOW_SQLITE_IN_PRODUCTION", True)
    ProductionConfig.validate()
