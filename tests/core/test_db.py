"""The unit of work on SQLite: writers queue on the writer lock (threads and processes), readers never do."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.core.db import unit_of_work
from app.core.events import DomainEvent
from app.extensions import db


@pytest.fixture(autouse=True)
def _sqlite_only(app: Flask) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the writer lock is SQLite's")


def _lock_path() -> str:
    return os.path.abspath(db.engine.url.database) + ".writer-lock"


def _write(app: Flask, marker: str) -> None:
    with app.app_context(), unit_of_work():
        db.session.add(DomainEvent(type=marker, payload={}))


def _count(marker: str) -> int:
    db.session.commit()  # a fresh snapshot: see what other connections committed
    return db.session.scalar(select(func.count()).select_from(DomainEvent).where(DomainEvent.type == marker))


@contextmanager
def _held_by_another_process() -> Iterator[None]:
    """A child process holds the lock file's flock until the block ends."""
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: lock, say so, wait for the word, exit (which releases the flock)
        try:
            fd = os.open(_lock_path(), os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(ready_w, b"1")
            os.read(go_r, 1)
        finally:
            os._exit(0)
    try:
        assert os.read(ready_r, 1) == b"1"
        yield
    finally:
        os.write(go_w, b"1")
        os.waitpid(pid, 0)
        for fd in (ready_r, ready_w, go_r, go_w):
            os.close(fd)


def test_a_writer_waits_for_another_process_holding_the_writer_lock_and_readers_do_not(app: Flask) -> None:
    _write(app, "test.first")  # the lock file exists from here on
    writer = threading.Thread(target=_write, args=(app, "test.waiting"))
    with _held_by_another_process():
        writer.start()
        writer.join(timeout=0.5)
        assert writer.is_alive(), "the writer should be queued behind the other process"
        assert _count("test.first") == 1  # a read goes through meanwhile
        assert _count("test.waiting") == 0
    writer.join(timeout=10)
    assert not writer.is_alive()
    assert _count("test.waiting") == 1


def test_threads_writing_at_once_all_succeed(app: Flask) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                _write(app, "test.concurrent")
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert _count("test.concurrent") == 80


def test_a_failed_unit_of_work_releases_the_writer_lock(app: Flask) -> None:
    with pytest.raises(ValueError), app.app_context(), unit_of_work():
        db.session.add(DomainEvent(type="test.rolled_back", payload={}))
        db.session.flush()
        raise ValueError("boom")
    writer = threading.Thread(target=_write, args=(app, "test.after"))
    writer.start()
    writer.join(timeout=10)
    assert not writer.is_alive()
    assert _count("test.rolled_back") == 0
    assert _count("test.after") == 1


def test_a_writer_that_waits_too_long_gets_the_database_unavailable_error(app: Flask) -> None:
    """Past SQLITE_BUSY_TIMEOUT_MS the wait ends like SQLite's own: OperationalError, which the API answers 503."""
    from sqlalchemy.exc import OperationalError

    from app import create_app

    impatient = create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                                       "SQLITE_BUSY_TIMEOUT_MS": 200})
    holding, done = threading.Event(), threading.Event()

    def hold() -> None:
        with impatient.app_context(), unit_of_work():
            db.session.add(DomainEvent(type="test.holder", payload={}))
            db.session.flush()
            holding.set()
            done.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        with pytest.raises(OperationalError, match="writer lock"):
            _write(impatient, "test.impatient")
    finally:
        done.set()
        holder.join(10)
        with impatient.app_context():
            db.session.remove()
            db.engine.dispose()
    assert _count("test.holder") == 1 and _count("test.impatient") == 0
