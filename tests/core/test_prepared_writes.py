"""insert_now (app/core/prepared_writes.py) writes what a flush writes, in the unit of work, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import String, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.core import clock
from app.core.db import unit_of_work
from app.core.events import DomainEvent
from app.core.prepared_writes import PreparedWrite, insert_now
from app.extensions import db
from app.requests.models import StaffAlert

EVENTS = DomainEvent.__table__.c


def _stored(event_id: int) -> tuple:
    row = db.session.execute(select(EVENTS.type, EVENTS.hotel_id, EVENTS.guest_id, EVENTS.subject_id, EVENTS.payload,
                                    EVENTS.occurred_at).where(EVENTS.id == event_id)).one()
    db.session.rollback()
    return tuple(row)


def test_the_row_is_the_one_a_flush_writes_defaults_and_types_included(monkeypatch):
    at = datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    monkeypatch.setattr(clock, "now", lambda: at)  # the occurred_at default
    payload = {"text": "Zimmer 12 — ☕", "n": [1, 2.5, None], "nested": {"ok": True}}
    with unit_of_work():
        flushed = DomainEvent(type="thing.happened", hotel_id=3, subject_id=9, payload=payload)
        db.session.add(flushed)
        db.session.flush()
        inserted = insert_now(DomainEvent(type="thing.happened", hotel_id=3, subject_id=9, payload=payload))
        empty = insert_now(DomainEvent(type="thing.happened"))  # payload's default (dict) and nulls

    assert inserted.id > flushed.id
    assert _stored(inserted.id) == _stored(flushed.id) == ("thing.happened", 3, None, 9, payload, at)
    assert _stored(empty.id) == ("thing.happened", None, None, None, {}, at)
    assert empty.payload == {} and empty.occurred_at == at  # the defaults are on the entity too


def test_the_entity_is_a_persistent_object_of_the_session():
    with unit_of_work():
        event = insert_now(DomainEvent(type="thing.happened", payload={"n": 1}))
        assert db.session.get(DomainEvent, event.id) is event  # the identity map has it
        assert not db.session.new and not db.session.dirty  # nothing pending: it will not be inserted again
        event.payload = {"n": 2}  # a later change is an UPDATE of the row
    assert _stored(event.id)[4] == {"n": 2}
    assert db.session.scalar(select(db.func.count()).select_from(DomainEvent)) == 1


def test_pending_objects_are_flushed_first_so_rows_keep_the_order_they_were_made_in():
    with unit_of_work():
        first = DomainEvent(type="first")
        db.session.add(first)
        second = insert_now(DomainEvent(type="second"))
        assert first.id is not None and first.id < second.id


def test_it_commits_and_rolls_back_with_the_unit_of_work():
    with pytest.raises(RuntimeError), unit_of_work():
        kept_out = insert_now(DomainEvent(type="rolled.back")).id
        raise RuntimeError("the use case failed after writing")
    assert db.session.get(DomainEvent, kept_out) is None
    with unit_of_work():
        kept = insert_now(DomainEvent(type="committed"))
    assert _stored(kept.id)[0] == "committed"


def test_a_broken_constraint_is_sqlalchemys_integrity_error_and_nothing_is_left_behind():
    checked_out = db.engine.pool.checkedout()
    with pytest.raises(IntegrityError), unit_of_work():
        insert_now(DomainEvent(type="kept"))
        insert_now(StaffAlert(hotel_id=1, request_id=1, kind="new_request", audience="kitchen", level=0,
                              created_at=clock.now(), next_at=clock.now(), deliveries=1))  # no such request
    assert db.session.scalar(select(db.func.count()).select_from(DomainEvent)) == 0
    db.session.rollback()
    assert db.engine.pool.checkedout() == checked_out


class _OtherBase(DeclarativeBase):
    pass


class _WithServerDefault(_OtherBase):
    __tablename__ = "with_server_default"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(10), server_default="x")


def test_server_defaults_are_refused_they_could_not_be_read_back():
    with pytest.raises(ValueError, match="Python-side defaults"), unit_of_work():
        insert_now(_WithServerDefault())


# -- PreparedWrite ----------------------------------------------------------------------------------------------------

_SET_PAYLOAD = PreparedWrite(update(DomainEvent).where(DomainEvent.type == bindparam("event_type"))
                             .values(payload=bindparam("new_payload"), hotel_id=bindparam("new_hotel")))


def test_a_prepared_write_changes_the_rows_with_the_columns_types_and_counts_them():
    with unit_of_work():
        kept = insert_now(DomainEvent(type="kept", payload={"n": 0}))
        first, second = insert_now(DomainEvent(type="moved")), insert_now(DomainEvent(type="moved"))
    payload = {"text": "Zimmer 12 — ☕", "nested": [1, None]}
    with unit_of_work():
        changed = _SET_PAYLOAD.run(event_type="moved", new_payload=payload, new_hotel=7)
    assert changed == 2
    assert _stored(first.id)[:2] == _stored(second.id)[:2] == ("moved", 7)
    assert _stored(first.id)[4] == payload  # stored as JSON, read back as the same document
    assert _stored(kept.id)[1:5:3] == (None, {"n": 0})


def test_a_prepared_write_is_part_of_the_unit_of_work_pending_rows_first():
    with pytest.raises(RuntimeError), unit_of_work():
        db.session.add(DomainEvent(type="moved", payload={"n": 1}))  # pending: flushed before the UPDATE runs
        assert _SET_PAYLOAD.run(event_type="moved", new_payload={"n": 2}, new_hotel=None) == 1
        raise RuntimeError("the use case fails")
    assert db.session.scalar(select(db.func.count()).select_from(DomainEvent)) == 0  # rolled back together
    with unit_of_work():
        db.session.add(DomainEvent(type="moved", payload={"n": 1}))
        _SET_PAYLOAD.run(event_type="moved", new_payload={"n": 2}, new_hotel=None)
    [event_id] = db.session.scalars(select(DomainEvent.id)).all()
    assert _stored(event_id)[4] == {"n": 2}
