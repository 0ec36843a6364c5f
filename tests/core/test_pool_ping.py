"""Pooled PostgreSQL connections are pinged only after sitting idle (app/core/db.py, ping_connections_left_idle)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool, QueuePool

from app.core.db import ping_connections_left_idle
from app.extensions import db

IDLE_SECONDS = 0.3


@pytest.fixture
def engine(app: Flask) -> Iterator[Engine]:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's connections are files on this machine: never pinged")
    engine = create_engine(db.engine.url, poolclass=QueuePool, pool_size=1, max_overflow=0)
    ping_connections_left_idle(engine, idle_seconds=IDLE_SECONDS)
    yield engine
    engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _count_pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    pings: list[object] = []
    real_ping = engine.dialect.do_ping

    def counting_ping(dbapi_connection: object) -> bool:
        pings.append(dbapi_connection)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counting_ping)
    return pings


def test_a_connection_used_a_moment_ago_is_not_pinged_and_an_idle_one_is(engine, monkeypatch):
    pings = _count_pings(engine, monkeypatch)
    first = _backend_pid(engine)  # a new connection: not pinged
    assert _backend_pid(engine) == first and _backend_pid(engine) == first
    assert pings == []
    time.sleep(IDLE_SECONDS + 0.1)
    assert _backend_pid(engine) == first
    assert len(pings) == 1


def test_a_connection_the_server_closed_while_it_sat_idle_is_replaced_before_use(engine):
    first = _backend_pid(engine)
    killer = create_engine(engine.url, poolclass=NullPool)
    with killer.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar_one()
    killer.dispose()
    time.sleep(IDLE_SECONDS + 0.1)

    assert _backend_pid(engine) != first  # no error: the ping found it dead and the pool connected anew
