"""Probes and the API document."""

import re

import pytest

from config import ProductionConfig


def test_health_and_readiness(client):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ok", "database": "ok"}


def test_openapi_document_lists_every_api_route_with_a_summary(client, app):
    document = client.get("/api/v1/openapi.json").json
    assert document["info"]["title"] and document["openapi"].startswith("3.")
    api_rules = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")}
    documented = {path for path in document["paths"]}
    as_openapi = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule) for rule in api_rules}  # <int:id>, <scene>
    assert as_openapi - {"/api/v1/openapi.json"} <= documented
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                assert operation.get("summary"), f"{method.upper()} {path} has no summary"
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    problem = document["components"]["responses"]["DEFAULT_ERROR"]["content"]
    assert "application/problem+json" in problem


def test_swagger_ui_is_served(client):
    response = client.get("/docs")
    assert response.status_code == 200 and b"swagger" in response.data.lower()


def test_production_refuses_development_secrets(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(RuntimeError) as refused:
        ProductionConfig.validate()
    message = str(refused.value)
    for setting in ("SECRET_KEY", "JWT_SECRET_KEY", "DATABASE_URL", "DATA_ENCRYPTION_KEYS", "LOGIN_CODE_SENDER"):
        assert setting in message


def test_production_starts_with_real_settings(monkeypatch):
    from cryptography.fernet import Fernet

    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://app@db/hotel")
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "s" * 40)
    monkeypatch.setattr(ProductionConfig, "JWT_SECRET_KEY", "j" * 40)
    monkeypatch.setattr(ProductionConfig, "DATA_ENCRYPTION_KEYS", [Fernet.generate_key().decode()])
    monkeypatch.setattr(ProductionConfig, "LOGIN_CODE_SENDER", "sms_gateway:Sender")
    ProductionConfig.validate()
