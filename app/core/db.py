"""Database plumbing: the unit of work, SQLite settings, column types and model mixins."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator

from app.core import clock
from app.extensions import db

# Depth of nested unit_of_work blocks in this context; only the outermost commits.
_uow_depth: ContextVar[int] = ContextVar("uow_depth", default=0)
# True while a unit of work is open: on SQLite its transaction starts with BEGIN IMMEDIATE.
_write_intent: ContextVar[bool] = ContextVar("write_intent", default=False)


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """Run the block as one transaction: commit at the end, roll back on any error.

    Opened by entrypoints only (a route, a scheduled job, an MQTT message handler). A block nested inside
    another joins it, so an idempotent route and its use case commit together.
    """
    session = db.session()  # the request's Session behind the scoped_session proxy
    depth = _uow_depth.get()
    if depth:
        token = _uow_depth.set(depth + 1)
        try:
            yield session
        finally:
            _uow_depth.reset(token)
        return
    if session.in_transaction():
        # A read-only transaction (the auth lookup, say) is still open: end it so that the write starts afresh,
        # with BEGIN IMMEDIATE on SQLite, instead of upgrading a read lock (which fails at once when contended).
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("changes were made outside a unit of work")
        session.commit()
    depth_token = _uow_depth.set(1)
    write_token = _write_intent.set(True)
    try:
        yield session
        session.commit()
    except BaseException as error:
        if getattr(error, "keeps_changes", False):
            session.commit()
        else:
            session.rollback()
        raise
    finally:
        _write_intent.reset(write_token)
        _uow_depth.reset(depth_token)


def in_unit_of_work() -> bool:
    return _uow_depth.get() > 0


def configure_engine(app: Flask) -> None:
    """Apply per-dialect settings to the engine flask-sqlalchemy created for `app`."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"])


def _configure_sqlite(engine: Engine, *, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself, so writes can ask for BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        # A deferred transaction that reads then writes fails with "database is locked" at once under contention,
        # whatever busy_timeout says; IMMEDIATE takes the write lock up front and waits politely for it.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every database (SQLite has no time zone type)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class IdMixin:
    id: Mapped[int] = mapped_column(primary_key=True)  # BIGINT on PostgreSQL (see app.extensions.Base)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: clock.now(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=lambda: clock.now(), onupdate=lambda: clock.now(), nullable=False
    )


def render_migration_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Alembic autogenerate hook: write our TypeDecorators as their storage type (sa.DateTime(), sa.Text()).

    Migrations then never import application code, which may be renamed long after a migration was written.
    """
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{type(obj.impl_instance).__name__}()"
    return False
