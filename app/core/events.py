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

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import JSON, Index, String, select, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.db import IdMixin, UTCDateTime
from app.extensions import db

Handler = Callable[["DomainEvent"], None]
_EXTENSION = "domain_event_handlers"
_ADVISORY_LOCK_KEY = 0x686F74656C  # "hotel": any constant shared by every writer of this table


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
    """
    session = db.session()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})


def record(event_type: str, *, hotel_id: int | None = None, guest_id: int | None = None,
           subject_id: int | None = None, payload: dict[str, Any] | None = None) -> DomainEvent:
    """Append an event in the current unit of work and run its subscribers; returns it.

    With subscribers it is flushed first (they get its id); without, it is written with the transaction's next
    flush (at the latest on commit), which saves a flush on every write that records an event nobody subscribes to.
    """
    take_event_lock()
    session = db.session()
    event = DomainEvent(type=event_type, hotel_id=hotel_id, guest_id=guest_id, subject_id=subject_id,
                        payload=payload or {})
    session.add(event)
    handlers = current_app.extensions[_EXTENSION].get(event_type, ())
    if handlers:
        session.flush()
    for handler in handlers:
        handler(event)
    return event


def events_after(last_id: int, *, hotel_ids: Iterable[int] | None = None, types: Iterable[str] | None = None,
                 limit: int = 100) -> list[DomainEvent]:
    """Events with an id above `last_id`, oldest first; `hotel_ids=None` means every hotel."""
    query = select(DomainEvent).where(DomainEvent.id > last_id).order_by(DomainEvent.id).limit(limit)
    if hotel_ids is not None:
        query = query.where(DomainEvent.hotel_id.in_(list(hotel_ids)))
    if types is not None:
        query = query.where(DomainEvent.type.in_(list(types)))
    return list(db.session.scalars(query))
