"""The release step (`flask db upgrade`) builds exactly the schema the models describe, on SQLite and PostgreSQL."""

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A brand-new database of the kind the suite runs on."""
    test_url = os.environ.get("TEST_DATABASE_URL")
    if not test_url:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(test_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(test_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_migrations_build_the_models_schema_and_roll_back(empty_database_url):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                           db.metadata)
        assert differences == [], "models and migrations differ: run `flask db migrate`"
        downgrade(revision="base")
        with db.engine.connect() as connection:
            remaining = set(db.inspect(connection).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        db.engine.dispose()


def test_the_private_details_migration_removes_allergies_and_notes_copied_in_clear(empty_database_url):
    """Before revision ab4852256653, check-in copied allergies and notes into plain JSON; the upgrade removes them."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade(revision="3ea8892b52c9")
        payload = ('{"room_id": 1, "preferences": {"pillow": "feather", "allergies": ["nuts"], '
                   '"notes": "asthma"}, "language": "ru"}')
        with db.engine.begin() as connection:
            for event_type in ("booking.checked_in", "request.created"):
                connection.execute(text(
                    "INSERT INTO domain_events (type, hotel_id, guest_id, subject_id, payload, occurred_at) "
                    "VALUES (:type, 1, 1, 1, :payload, '2026-11-01 10:00:00')"),
                    {"type": event_type, "payload": payload})
        upgrade()
        with db.engine.connect() as connection:
            rows = dict(connection.execute(text("SELECT type, payload FROM domain_events")).all())
        checked_in = rows["booking.checked_in"]
        checked_in = json.loads(checked_in) if isinstance(checked_in, str) else checked_in
        assert checked_in == {"room_id": 1, "preferences": {"pillow": "feather"}, "language": "ru"}
        assert "nuts" in str(rows["request.created"])  # other events are not touched (none carried preferences)
        db.engine.dispose()
