"""PreparedRead (app/core/prepared_reads.py) gives what the Session gives, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import DBAPIError

from app.core.db import unit_of_work
from app.core.prepared_reads import PreparedRead
from app.extensions import db
from app.guests.models import Guest
from tests.factories import make_guest

GUESTS = Guest.__table__.c
STATEMENT = select(
    GUESTS.id, GUESTS.email, GUESTS.phone, GUESTS.birth_date, GUESTS.email_verified_at, GUESTS.created_at,
    GUESTS.is_active, (GUESTS.is_active.is_(True) & GUESTS.merged_into_id.is_(None)).label("can_sign_in"),
    GUESTS.identity_document.is_not(None).label("has_document"),
).where(GUESTS.id == bindparam("guest_id"), GUESTS.language == "ru")


def test_a_row_reads_as_the_session_reads_it():
    verified = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    guest = make_guest(language="ru", birth_date=date(1990, 2, 3), email_verified_at=verified, phone=None)
    via_session = db.session.execute(STATEMENT, {"guest_id": guest.id}).one()
    db.session.rollback()

    row = PreparedRead(STATEMENT).first(guest_id=guest.id)

    assert tuple(row) == tuple(via_session)
    assert row._fields == tuple(via_session._fields)
    assert row.email_verified_at == verified and row.email_verified_at.tzinfo is not None  # the UTC type ran
    assert row.birth_date == date(1990, 2, 3) and row.phone is None
    assert row.is_active is True and row.can_sign_in is True and row.has_document is False


def test_no_row_is_none_and_a_literal_in_the_statement_is_bound():
    guest = make_guest(language="en")  # STATEMENT asks for language "ru"
    assert PreparedRead(STATEMENT).first(guest_id=guest.id) is None
    assert PreparedRead(STATEMENT).first(guest_id=guest.id + 1000) is None


def test_it_sees_what_other_transactions_committed_since_the_last_call():
    guest = make_guest(language="ru")
    read = PreparedRead(STATEMENT)
    assert read.first(guest_id=guest.id).can_sign_in is True
    with unit_of_work():
        db.session.get(Guest, guest.id).is_active = False
    assert read.first(guest_id=guest.id).can_sign_in is False


def test_database_errors_are_sqlalchemys_and_the_connection_goes_back_to_the_pool():
    broken = PreparedRead(select(func.no_such_function(GUESTS.id)).where(GUESTS.id == bindparam("guest_id")))
    checked_out = db.engine.pool.checkedout()
    with pytest.raises(DBAPIError):
        broken.first(guest_id=1)
    assert db.engine.pool.checkedout() == checked_out
    guest = make_guest(language="ru")
    assert PreparedRead(STATEMENT).first(guest_id=guest.id).id == guest.id  # the pool still serves good reads


def _pooled_connections_in_autocommit_mode() -> list[bool]:
    connections = [db.engine.raw_connection() for _ in range(db.engine.pool.checkedin())]
    try:
        return [bool(getattr(connection.dbapi_connection, "autocommit", False)) for connection in connections]
    finally:
        for connection in connections:
            connection.close()


def test_connections_go_back_to_the_pool_in_transaction_mode_after_good_and_failed_reads():
    """On PostgreSQL the read runs in autocommit mode (one round trip); a connection left in that mode would make
    the next unit of work commit statement by statement, and so half of a failed one."""
    guest = make_guest(language="ru")
    broken = PreparedRead(select(func.no_such_function(GUESTS.id)).where(GUESTS.id == bindparam("guest_id")))
    assert PreparedRead(STATEMENT).first(guest_id=guest.id) is not None
    with pytest.raises(DBAPIError):
        broken.first(guest_id=guest.id)
    assert db.engine.pool.checkedin() >= 1
    assert _pooled_connections_in_autocommit_mode() == [False] * db.engine.pool.checkedin()


def test_expanding_parameters_are_refused():
    with pytest.raises(ValueError, match="expanding"):
        PreparedRead(select(GUESTS.id).where(GUESTS.id.in_(bindparam("ids", expanding=True)))).first(ids=[1])
