"""Database plumbing: the unit of work, SQLite settings, column types and model mixins."""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator

from app.core import clock
from app.extensions import db

log = logging.getLogger(__name__)
_AFTER_COMMIT = "after_commit"  # key in Session.info: callables to run once the unit of work has committed

# Depth of nested unit_of_work blocks in this context; only the outermost commits.
_uow_depth: ContextVar[int] = ContextVar("uow_depth", default=0)
# True while a unit of work is open: on SQLite its transaction starts with BEGIN IMMEDIATE.
_write_intent: ContextVar[bool] = ContextVar("write_intent", default=False)
# The SQLite writer lock this unit of work holds (taken at its BEGIN IMMEDIATE, released when it ends).
_held_writer_lock: ContextVar[WriterLock | None] = ContextVar("held_writer_lock", default=None)


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
    session.info.pop(_AFTER_COMMIT, None)
    committed = False
    try:
        yield session
        session.commit()
        committed = True
    except BaseException as error:
        if getattr(error, "keeps_changes", False):
            session.commit()
            committed = True
        else:
            session.rollback()
        raise
    finally:
        _write_intent.reset(write_token)
        _uow_depth.reset(depth_token)
        _release_writer_lock()
        callbacks = session.info.pop(_AFTER_COMMIT, [])
        if committed:
            _run_after_commit(callbacks)


def after_commit(callback: Callable[[], None]) -> None:
    """Run `callback` once the current unit of work has committed (never if it rolls back).

    For network I/O that must follow the commit, never precede it: "send after the block" (CONVENTIONS.md). The
    callback runs outside the transaction, after the writer lock is released; it must not raise (a failure is
    logged, the commit stands), so whatever it sends must also be recoverable from the database.
    """
    if not in_unit_of_work():
        raise RuntimeError("after_commit() outside a unit of work")
    db.session().info.setdefault(_AFTER_COMMIT, []).append(callback)


def _run_after_commit(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("after-commit callback %r failed", callback)


def in_unit_of_work() -> bool:
    return _uow_depth.get() > 0


class WriterLock:
    """One SQLite writer at a time, queued in the kernel instead of in SQLite's sleeping busy handler.

    SQLite lets one transaction write at a time; the others wait in its busy handler, which polls by sleeping
    (1, 2, 5, 10 ... 100 ms), so under load writers sleep while the lock is free and throughput collapses. Here a
    writer first takes a lock of this process (threads queue on it) and then an flock on a file beside the
    database (processes queue on it, woken by the kernel the moment it is released); only then BEGIN IMMEDIATE,
    which then finds SQLite's lock free. Readers never take it. Anything that does not take it (the sqlite3
    shell, another program) is still covered by busy_timeout.
    """

    def __init__(self, database_path: str | None, *, timeout_s: float) -> None:
        self._thread_lock = threading.Lock()
        self._timeout_s = timeout_s
        self._path = f"{database_path}.writer-lock" if database_path else None
        self._fd: int | None = None
        self._fd_pid = 0  # an flock is per open file: a forked child must open its own

    def acquire(self) -> None:
        if not self._thread_lock.acquire(timeout=self._timeout_s):
            # What SQLite itself says after busy_timeout: the API's "database unavailable" problem (503).
            timed_out = sqlite3.OperationalError("database is locked (timed out waiting for the writer lock)")
            raise DBAPIError.instance("BEGIN IMMEDIATE", None, timed_out, sqlite3.Error)
        try:
            if self._path is not None:
                if self._fd is None or self._fd_pid != os.getpid():
                    self._fd, self._fd_pid = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise

    def release(self) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()


def _release_writer_lock() -> None:
    lock = _held_writer_lock.get()
    if lock is not None:
        _held_writer_lock.set(None)
        lock.release()


def configure_engine(app: Flask) -> None:
    """Apply per-dialect settings to the engine flask-sqlalchemy created for `app`."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"],
                          mmap_size=app.config.get("SQLITE_MMAP_SIZE", 0))
    else:  # a file on this machine cannot have dropped the connection
        ping_connections_left_idle(engine, idle_seconds=app.config["DB_PING_IDLE_SECONDS"])


def ping_connections_left_idle(engine: Engine, *, idle_seconds: float) -> None:
    """Before a pooled connection idle for `idle_seconds` or more is used, ping it; one the server closed is
    replaced (the pool connects anew), so the request does not fail on it.

    SQLAlchemy's pool_pre_ping pings at every checkout: a round trip per unit of work and per prepared read, a
    tenth of a small request's time on PostgreSQL. A connection used a moment ago is alive unless the server went
    away within that moment; then the request that finds out gets the outage's 503 (Retry-After) and SQLAlchemy
    drops the pool's other connections of that time (docs/operations.md).
    """

    @event.listens_for(engine, "checkin")
    def on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < idle_seconds:
            return  # a new connection, or one in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            if engine.dialect.is_disconnect(error, dbapi_connection, None):
                raise DisconnectionError(str(error)) from error  # the pool replaces the connection
            raise


def _driver_execute(connection: Any, statement: str) -> None:
    """Run `statement` on the driver's connection: through exec_driver_sql a BEGIN cost a third of GET /me.

    Driver errors become SQLAlchemy's (OperationalError and the rest), as exec_driver_sql would raise them.
    """
    try:
        connection.connection.dbapi_connection.execute(statement)
    except sqlite3.Error as error:
        raise DBAPIError.instance(statement, None, error, sqlite3.Error) from error


def _sqlite_file(engine: Engine) -> str | None:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return os.path.abspath(database)


def _configure_sqlite(engine: Engine, *, busy_timeout_ms: int, mmap_size: int = 0) -> None:
    writer_lock = WriterLock(_sqlite_file(engine), timeout_s=busy_timeout_ms / 1000)

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself, so writes can ask for BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoints, never corrupt; no fsync per commit
        # Reads through a memory map share the OS page cache instead of copying pages into each connection's cache.
        cursor.execute(f"PRAGMA mmap_size={int(mmap_size)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        # A deferred transaction that reads then writes fails with "database is locked" at once under contention,
        # whatever busy_timeout says; IMMEDIATE takes the write lock up front. Writers queue on WriterLock first;
        # unit_of_work releases it once the transaction has ended.
        if not _write_intent.get():
            _driver_execute(connection, "BEGIN")
            return
        if _held_writer_lock.get() is None:
            writer_lock.acquire()
            _held_writer_lock.set(writer_lock)
        try:
            _driver_execute(connection, "BEGIN IMMEDIATE")
        except BaseException:
            _release_writer_lock()
            raise


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
