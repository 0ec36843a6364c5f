"""Domain events: recorded in the caller's transaction, subscribers run inside it, readers tail by id."""

from __future__ import annotations

import pytest
from flask import Flask

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
