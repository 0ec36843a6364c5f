"""Domain events: recorded in the caller's transaction, subscribers run inside it, readers tail by id."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import text

from app.core import events
from app.core.db import unit_of_work
from app.extensions import db


@pytest.fixture
def handlers(app: Flask):
    saved = {key: list(value) for key, value in app.extensions["domain_event_handlers"].items()}
    yield app.extensions["domain_event_handlers"]
    app.extensions["domain_event_handlers"].clear()
    app.extensions["domain_event_handlers"].update(saved)


def test_subscriber_runs_inside_the_recording_transaction(app: Flask, handlers) -> None:
    seen = []
    events.subscribe(app, "thing.happened", lambda event: seen.append((event.id, db.session().in_transaction())))
    with unit_of_work():
        event = events.record("thing.happened", hotel_id=1, payload={"n": 1})
    assert seen == [(event.id, True)]


def test_rolled_back_work_leaves_no_event(app: Flask, handlers) -> None:
    def refuse(_event: events.DomainEvent) -> None:
        raise RuntimeError("subscriber failed")

    events.subscribe(app, "thing.happened", refuse)
    with pytest.raises(RuntimeError), unit_of_work():
        events.record("thing.happened", hotel_id=1)
    assert events.events_after(0) == []


def test_readers_tail_by_id_and_filter_by_hotel_and_type() -> None:
    with unit_of_work():
        first = events.record("a.one", hotel_id=1)
        events.record("a.two", hotel_id=2)
        third = events.record("a.two", hotel_id=1)
    assert [e.id for e in events.events_after(0, hotel_ids=[1])] == [first.id, third.id]
    assert [e.id for e in events.events_after(first.id, hotel_ids=[1])] == [third.id]
    assert [e.type for e in events.events_after(0, types=["a.two"])] == ["a.two", "a.two"]
    assert events.events_after(0, hotel_ids=[]) == []


def test_a_reader_s_cursor_moves_past_the_events_it_does_not_want() -> None:
    """Otherwise a reader of a rare type scans every event recorded since its last match, on every read."""
    with unit_of_work():
        wanted = events.record("room.changed", hotel_id=1)
        for _ in range(3):
            events.record("device.state_changed", hotel_id=1)
        other_hotel = events.record("room.changed", hotel_id=2)
    found, cursor = events.tail(0, hotel_ids=[1], types=["room.changed"])
    assert [e.id for e in found] == [wanted.id] and cursor == other_hotel.id
    assert events.tail(cursor, types=["room.changed"]) == ([], cursor)  # nothing new: the cursor stays
    with unit_of_work():
        later = [events.record("room.changed", hotel_id=1) for _ in range(3)]
    found, cursor_at_limit = events.tail(cursor, types=["room.changed"], limit=2)
    assert [e.id for e in found] == [e.id for e in later[:2]] and cursor_at_limit == later[1].id  # the rest next
    assert [e.id for e in events.tail(cursor_at_limit)[0]] == [later[2].id]


def test_ids_follow_the_order_events_were_recorded_in_whichever_way() -> None:
    """`record` writes at the next flush, `record_many` at once: an event recorded first still gets the lower id."""
    with unit_of_work():
        events.record("a.first", hotel_id=1)
        events.record_many("a.second", [{"hotel_id": 1}])
    assert [e.type for e in events.events_after(0)] == ["a.first", "a.second"]


@pytest.fixture
def lock_statements():
    """The event lock's statements sent to PostgreSQL, counted."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the event lock is PostgreSQL's")
    sent: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if "pg_advisory_xact_lock" in statement:
            sent.append(statement)

    sqlalchemy_event.listen(db.engine, "before_cursor_execute", count)
    yield sent
    sqlalchemy_event.remove(db.engine, "before_cursor_execute", count)


def _event_lock_held() -> bool:
    return db.session.execute(text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted"
    )).scalar() > 0


def test_the_event_lock_is_taken_once_per_transaction(lock_statements) -> None:
    with unit_of_work():
        events.take_event_lock()
        events.record("a.one", hotel_id=1)
        events.record_many("a.two", [{"hotel_id": 1}, {"hotel_id": 2}])
    assert len(lock_statements) == 1
    with unit_of_work():  # a new transaction takes it anew
        events.record("a.three", hotel_id=1)
        assert _event_lock_held()
    assert len(lock_statements) == 2
    assert len(events.events_after(0)) == 4


def test_a_lock_taken_in_a_savepoint_rolled_back_is_taken_again(lock_statements) -> None:
    with unit_of_work():
        savepoint = db.session.begin_nested()
        events.take_event_lock()
        savepoint.rollback()  # PostgreSQL released what the savepoint took
        assert not _event_lock_held()
        events.record("a.one", hotel_id=1)
        assert _event_lock_held()
    assert len(lock_statements) == 2
