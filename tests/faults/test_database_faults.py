"""The database goes away and comes back: the API answers 503 problems meanwhile, and recovers on its own.

PostgreSQL: the app reaches the server through a TCP proxy that the test cuts (connections reset, then refused)
and restores. SQLite: the database file's directory disappears (a lost volume) and comes back; that app opens the
file per use (NullPool), as a pooled connection would keep the vanished file open.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from app import create_app
from app.core.errors import is_database_unavailable
from app.extensions import db
from tests.conftest import IsolatedClient
from tests.factories import headers_for, make_guest, make_hotel
from tests.faults.proxy import TcpProxy


@dataclass
class Outage:
    app: Any
    down: Callable[[], None]
    up: Callable[[], None]


@pytest.fixture
def outage(app: Any, tmp_path: Path) -> Iterator[Outage]:
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    proxy = None
    if url.get_backend_name() == "postgresql":
        proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
        proxy.up()
        fault_app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url.set(host="127.0.0.1", port=proxy.port)
                                           .render_as_string(hide_password=False)})
        down, up = proxy.down, proxy.up
    else:
        home, away = tmp_path / "volume", tmp_path / "away"
        home.mkdir()
        fault_app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{home / 'hotel.db'}",
                                           "SQLALCHEMY_ENGINE_OPTIONS": {"poolclass": NullPool}})
        with fault_app.app_context():
            db.create_all()

        def down() -> None:
            home.rename(away)

        def up() -> None:
            away.rename(home)

    fault_app.test_client_class = IsolatedClient
    try:
        yield Outage(fault_app, down, up)
    finally:
        with fault_app.app_context():
            db.session.remove()
            db.engine.dispose()
        if proxy is not None:
            proxy.down()


def _calls(fault_app: Any) -> list[tuple[str, str, dict, dict | None]]:
    with fault_app.app_context():
        hotel = make_hotel()
        guest_headers = headers_for(make_guest(hotels=[hotel]))
    return [
        ("GET", "/readyz", {}, None),
        ("GET", "/api/v1/hotels", {}, None),
        ("GET", f"/api/v1/hotels/{hotel.id}", {}, None),
        ("GET", "/api/v1/me", guest_headers, None),
        ("PATCH", "/api/v1/me", guest_headers, {"first_name": "Olga"}),
    ]


def test_database_outage_answers_503_problems_and_recovers(outage: Outage) -> None:
    calls = _calls(outage.app)
    client = outage.app.test_client()
    for method, path, headers, body in calls:
        assert client.open(path, method=method, headers=headers, json=body).status_code == 200, path

    outage.down()
    for method, path, headers, body in calls:
        response = client.open(path, method=method, headers=headers, json=body)
        assert response.status_code == 503, (path, response.status_code, response.get_data(as_text=True))
        assert response.mimetype == "application/problem+json"
        assert response.json["code"] == "database_unavailable" and response.headers["Retry-After"] == "5"

    outage.up()
    for method, path, headers, body in calls:
        response = client.open(path, method=method, headers=headers, json=body)
        assert response.status_code == 200, (path, response.status_code, response.get_data(as_text=True))
    assert client.get("/api/v1/me", headers=calls[3][2]).json["first_name"] == "Olga"


def test_a_programming_error_is_not_mistaken_for_an_outage() -> None:
    """SQLite reports "no such table" as an OperationalError: still a bug (500), never a 503 that hides it."""
    with pytest.raises(DBAPIError) as raised:
        db.session.execute(text("SELECT * FROM no_such_table"))
    db.session.rollback()
    assert not is_database_unavailable(raised.value)


def _serialization_failure() -> DBAPIError:
    """A real one from PostgreSQL: a REPEATABLE READ transaction updates a row another committed meanwhile."""
    hotel = make_hotel()
    with db.engine.connect() as first, db.engine.connect() as second:
        first.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        first.execute(text("SELECT city FROM hotels WHERE id = :id"), {"id": hotel.id})
        second.execute(text("UPDATE hotels SET city = 'Kazan' WHERE id = :id"), {"id": hotel.id})
        second.commit()
        with pytest.raises(DBAPIError) as raised:
            first.execute(text("UPDATE hotels SET city = 'Omsk' WHERE id = :id"), {"id": hotel.id})
        first.rollback()
    return raised.value


def test_a_transaction_the_database_rolled_back_is_a_503_to_retry_not_an_outage(client, monkeypatch):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("serialization failures and deadlocks are PostgreSQL's")
    error = _serialization_failure()

    def conflicted(**_: Any) -> None:
        raise error

    monkeypatch.setattr("app.hotels.services.list_hotels", conflicted)
    response = client.get("/api/v1/hotels")
    assert response.status_code == 503 and response.json["code"] == "database_busy"
    assert response.headers["Retry-After"] == "1"
    assert client.get("/readyz").status_code == 200
