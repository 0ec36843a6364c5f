"""Domain events: one table that every domain appends to, in the transaction that made the change.

The table is the outbox and the log at once:
- `record()` writes a row in the caller's unit of work, then runs the in-process subscribers in that same
  transaction. That is how a lower domain triggers a higher one without importing it (a check-in in `bookings`
  makes a room-preparation request in `requests`; a DND change pauses the SLA clock).
- Readers tail it by id: the staff SSE stream (`Last-Event-ID` is the event id), push and webhook jobs.

Ids must become visible in id order, or a reader that has passed id 7 would never see an id 6 committed after it.
SQLite serialises writers already; on PostgreSQL `record()` takes a transaction-scoped advisory lock, so
event-writing transactions commit in the order their ids were drawn.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import JSON, Index, String, delete, func, insert, select, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.db import IdMixin, UTCDateTime
from app.core.prepared_writes import insert_now
from app.extensions import db

Handler = Callable[["DomainEvent"], None]
_EXTENSION = "domain_event_handlers"
EVENT_LOCK_KEY = 0x686F74656C  # "hotel": any constant shared by every writer of this table (and SQL taking it)
_TAKE_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_LOCK_HELD_BY = "event_lock_held_by"  # Session.info: a weak reference to the transaction that took the lock


class DomainEvent(IdMixin, db.Model):
    __tablename__ = "domain_events"
    __table_args__ = (Index("ix_domain_events_hotel_id_id", "hotel_id", "id"),)

    type: Mapped[str] = mapped_column(String(60), index=True)  # e.g. booking.checked_in (see docs/api.md)
    hotel_id: Mapped[int | None]  # whose staff may see it; None for chain-wide events
    guest_id: Mapped[int | None] = mapped_column(index=True)  # whose data it is (export, erasure, pushes)
    subject_id: Mapped[int | None]  # the id of the booking, request, command... the type names
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: clock.now())


def init_app(app: Flask) -> None:
    app.extensions[_EXTENSION] = {}


def subscribe(app: Flask, event_type: str, handler: Handler) -> None:
    """Run `handler(event)` inside the recording transaction each time an event of `event_type` is recorded."""
    app.extensions[_EXTENSION].setdefault(event_type, []).append(handler)


def take_event_lock() -> None:
    """Take the event writers' lock now (PostgreSQL; held to the end of the transaction, re-entrant).

    A use case that will lock its own rows and later record an event calls this first, so that every writer takes
    the two locks in one order and none deadlocks (see app/loyalty/services/ledger.py).

    Taken once per transaction: a use case that takes it and then records an event (or several) does not pay a
    round trip each time. The memo is the innermost transaction (a savepoint's, inside one): a savepoint rolled
    back releases what it took, so a lock first taken inside one is taken again after it.
    """
    session = db.session()
    if session.get_bind().dialect.name != "postgresql":
        return
    held, current = session.info.get(_LOCK_HELD_BY), _innermost_transaction(session)
    if held is not None and current is not None and held() is current:
        return
    session.execute(_TAKE_LOCK, {"key": EVENT_LOCK_KEY})
    session.info[_LOCK_HELD_BY] = weakref.ref(_innermost_transaction(session))


def _innermost_transaction(session: Any) -> Any:
    return session.get_nested_transaction() or session.get_transaction()


def record(event_type: str, *, hotel_id: int | None = None, guest_id: int | None = None,
           subject_id: int | None = None, payload: dict[str, Any] | None = None) -> DomainEvent:
    """Append an event in the current unit of work and run its subscribers (they get its id); returns it.

    The row is written at once with `insert_now` (a compiled INSERT, no ORM flush: app/core/prepared_writes.py).
    """
    take_event_lock()
    event = insert_now(DomainEvent(type=event_type, hotel_id=hotel_id, guest_id=guest_id, subject_id=subject_id,
                                   payload=payload or {}))
    for handler in current_app.extensions[_EXTENSION].get(event_type, ()):
        handler(event)
    return event


def record_many(event_type: str, rows: list[dict[str, Any]]) -> None:
    """Append many events of one type at once (the MQTT bridge's batches): one multi-row INSERT when nobody
    subscribes to the type in process, else `record()` for each, so subscribers still run. Each row has the
    keyword arguments of `record()` (hotel_id, guest_id, subject_id, payload)."""
    if not rows:
        return
    if current_app.extensions[_EXTENSION].get(event_type):
        for row in rows:
            record(event_type, **row)
        return
    take_event_lock()
    session = db.session()
    if any(isinstance(pending, DomainEvent) for pending in session.new):
        session.flush()  # events recorded earlier in this transaction get the lower ids, as they were first
    now = clock.now()
    if session.get_bind().dialect.name == "postgresql":
        # One constant statement whatever the number of rows (arrays, not a VALUES list that is compiled anew
        # for each size): cheap to plan and to build.
        db.session.execute(_INSERT_MANY, {
            "type": event_type, "at": now.astimezone(UTC).replace(tzinfo=None),
            "hotels": [row.get("hotel_id") for row in rows], "guests": [row.get("guest_id") for row in rows],
            "subjects": [row.get("subject_id") for row in rows],
            "payloads": [json.dumps(row.get("payload") or {}) for row in rows]})
        return
    db.session.execute(insert(DomainEvent), [
        {"type": event_type, "hotel_id": row.get("hotel_id"), "guest_id": row.get("guest_id"),
         "subject_id": row.get("subject_id"), "payload": row.get("payload") or {}, "occurred_at": now}
        for row in rows])


_INSERT_MANY = text(
    "INSERT INTO domain_events (type, hotel_id, guest_id, subject_id, payload, occurred_at) "
    "SELECT :type, e.hotel_id, e.guest_id, e.subject_id, e.payload, :at "
    "FROM unnest(CAST(:hotels AS bigint[]), CAST(:guests AS bigint[]), CAST(:subjects AS bigint[]), "
    "CAST(:payloads AS json[])) WITH ORDINALITY AS e(hotel_id, guest_id, subject_id, payload, n) ORDER BY e.n")


def events_after(last_id: int, *, hotel_ids: Iterable[int] | None = None, types: Iterable[str] | None = None,
                 limit: int = 100) -> list[DomainEvent]:
    """Events with an id above `last_id`, oldest first; `hotel_ids=None` means every hotel."""
    query = select(DomainEvent).where(DomainEvent.id > last_id).order_by(DomainEvent.id).limit(limit)
    if hotel_ids is not None:
        query = query.where(DomainEvent.hotel_id.in_(list(hotel_ids)))
    if types is not None:
        query = query.where(DomainEvent.type.in_(list(types)))
    return list(db.session.scalars(query))


def tail(last_id: int, *, hotel_ids: Iterable[int] | None = None, types: Iterable[str] | None = None,
         limit: int = 100) -> tuple[list[DomainEvent], int]:
    """`events_after` for a reader that keeps a cursor: the matching events, and where its next read starts.

    The cursor moves past every event read over, matching or not. A reader of rare types (room occupancy, the
    queue of one hotel) that kept the id of its last match instead would scan, on every read, every event recorded
    since: on a busy chain, the devices' state changes of hours. Events become visible in id order (module
    docstring), so once the newest id is read, no event at or below it can appear later: the newest id is read
    first, and the match is looked for up to it."""
    horizon = db.session.scalar(select(func.max(DomainEvent.id))) or 0
    if horizon <= last_id:
        return [], last_id
    query = (select(DomainEvent).where(DomainEvent.id > last_id, DomainEvent.id <= horizon)
             .order_by(DomainEvent.id).limit(limit))
    if hotel_ids is not None:
        query = query.where(DomainEvent.hotel_id.in_(list(hotel_ids)))
    if types is not None:
        query = query.where(DomainEvent.type.in_(list(types)))
    found = list(db.session.scalars(query))
    return found, found[-1].id if len(found) >= limit else horizon


# Payload keys that may carry what a guest wrote or what their profile says (preferences copied at check-in,
# a request's note). Erasure drops them from the guest's events; the rest (ids, statuses, amounts) stays.
PERSONAL_PAYLOAD_KEYS = ("preferences", "note", "notes", "comment", "body", "lead_name", "contact")


def scrub_guest_payloads(*, guest_id: int) -> int:
    """Remove PERSONAL_PAYLOAD_KEYS from the payloads of the guest's events; returns how many changed."""
    changed = 0
    for event in db.session.scalars(select(DomainEvent).where(DomainEvent.guest_id == guest_id)):
        payload = event.payload or {}
        if any(key in payload for key in PERSONAL_PAYLOAD_KEYS):
            event.payload = {key: value for key, value in payload.items() if key not in PERSONAL_PAYLOAD_KEYS}
            changed += 1
    return changed


def purge_before(*, occurred_before: datetime, below_id: int | None) -> int:
    """Retention: delete events older than `occurred_before` and, if given, with an id below `below_id` (the
    lowest cursor of the readers that tail the table, so nothing is deleted before it is read)."""
    stmt = delete(DomainEvent).where(DomainEvent.occurred_at < occurred_before)
    if below_id is not None:
        stmt = stmt.where(DomainEvent.id < below_id)
    return db.session.execute(stmt).rowcount
