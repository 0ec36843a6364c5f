"""Server-Sent Events for the staff queue: tails the domain events table; the event id is the SSE id.

A client that reconnects with `Last-Event-ID` gets exactly the events after that one (ids become visible in id
order, see app/core/events.py). The stream polls the table, sends a heartbeat comment while idle, and ends after
`SSE_MAX_SECONDS` (or the caller's `max_events` / `timeout`), so a worker thread is never held forever; browsers'
EventSource reconnects by itself with the last id it saw.

The stream also tells the client where to resume when that is past the last event it showed (other hotels'
events, the devices' state changes): a frame with only an `id:` line, with a heartbeat and at the end. A browser's
EventSource takes the id as its Last-Event-ID without dispatching anything (the HTML standard sets the last event ID
before it drops an event without data). Without it a client whose last shown event is old reads again, at every
reconnect, all that was recorded since; and a client that had been shown nothing reconnected without Last-Event-ID
and started "now", missing what was recorded between the two streams.

The caller's `still_allowed` is asked again every SSE_AUTH_CHECK_SECONDS: a staff member logged out, deactivated or
whose session was revoked stops receiving guests' requests within that time (an `event: session_ended` frame, then
the end), not only at the next reconnect.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress

from flask import Response, current_app, stream_with_context

from app.core.errors import ServiceUnavailable
from app.core.events import DomainEvent
from app.core.web_slots import mark_long_lived
from app.extensions import db
from app.requests import services

log = logging.getLogger(__name__)
# A refused client comes back after this long: EventSource gives up on an HTTP error, the console's script does not.
STREAMS_BUSY_RETRY_SECONDS = 5


def format_event(event: DomainEvent) -> str:
    data = {"id": event.id, "type": event.type, "hotel_id": event.hotel_id, "subject_id": event.subject_id,
            "occurred_at": event.occurred_at.isoformat(), "payload": event.payload}
    return f"id: {event.id}\nevent: {event.type}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


SESSION_ENDED = "event: session_ended\ndata: {}\n\n"


class StreamSlots:
    """The event streams this process has open, at most SSE_MAX_STREAMS at once.

    A stream holds one of gunicorn's gthread worker threads for its whole life (up to SSE_MAX_SECONDS). Without a
    bound, as many consoles with the live queue open as the process has threads would leave none for the API's
    requests, for minutes, while every stream sits asleep between its polls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.open = 0

    def take(self, limit: int) -> bool:
        with self._lock:
            if self.open >= limit:
                return False
            self.open += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.open -= 1


def stream_slots() -> StreamSlots:
    slots = current_app.extensions.get("event_stream_slots")
    return slots if slots is not None else current_app.extensions.setdefault("event_stream_slots", StreamSlots())


def event_stream_response(frames: Callable[[], Iterator[str]]) -> Response:
    """The streaming response of an SSE endpoint, holding one of this process's stream slots until the server
    closes it (the stream ended or its client left); `503 streams_busy` with Retry-After when none is free."""
    slots, limit = stream_slots(), current_app.config["SSE_MAX_STREAMS"]
    if not slots.take(limit):
        log.warning("event stream refused: %d open, SSE_MAX_STREAMS=%d", slots.open, limit)
        raise ServiceUnavailable("This server has as many live streams open as it serves; retry shortly.",
                                 code="streams_busy", headers={"Retry-After": str(STREAMS_BUSY_RETRY_SECONDS)})
    held = [slots]  # close() may come from the server and again from a wrapper: the first one gives it back

    def release() -> None:
        with suppress(IndexError):
            held.pop().release()  # list.pop is atomic: never twice

    try:
        response = Response(stream_with_context(frames()), mimetype="text/event-stream",
                            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    except BaseException:
        release()
        raise
    # The WSGI server closes every response it was given (PEP 3333), whether the body was read to its end or not.
    response.call_on_close(release)
    mark_long_lived()  # the web worker sends the frames without one of its running slots (app/core/web_worker.py)
    return response


def resume_frame(after: int, *, comment: str | None = None) -> str:
    """A frame that dispatches no event but moves the client's Last-Event-ID to `after` (module docstring)."""
    return f"id: {after}\n" + (f": {comment}\n" if comment else "") + "\n"


def queue_stream(*, hotel_ids: list[int] | None, after: int, still_allowed: Callable[[], bool],
                 max_events: int | None = None, timeout: float | None = None) -> Iterator[str]:
    """Yield the queue's events after `after` as SSE frames until a limit is reached or the reader's session
    ends (`still_allowed` turns false)."""
    config = current_app.config
    limit_seconds = min(timeout if timeout is not None else config["SSE_MAX_SECONDS"], config["SSE_MAX_SECONDS"])
    deadline = time.monotonic() + limit_seconds
    poll, heartbeat = config["SSE_POLL_SECONDS"], config["SSE_HEARTBEAT_SECONDS"]
    auth_every = config["SSE_AUTH_CHECK_SECONDS"]
    sent, last_write = 0, time.monotonic()
    next_auth_check = last_write + auth_every
    told = None  # the last id the client has been given (an event's, or a resume frame's)
    yield "retry: 3000\n\n"
    try:
        while True:
            if time.monotonic() >= next_auth_check:
                allowed = still_allowed()
                db.session.rollback()
                if not allowed:
                    yield SESSION_ENDED
                    return
                next_auth_check = time.monotonic() + auth_every
            batch, scanned_to = services.queue_events(after=after, hotel_ids=hotel_ids)
            db.session.rollback()  # end the read, so that the next poll sees what committed since
            for event in batch:
                yield format_event(event)
                sent, last_write, told = sent + 1, time.monotonic(), event.id
                if max_events and sent >= max_events:
                    return
            after = scanned_to  # past the events of other hotels and kinds too: the next poll does not read them
            now = time.monotonic()
            if now >= deadline:
                if told != after:
                    yield resume_frame(after)
                return
            if len(batch) < 100:
                if now - last_write >= heartbeat:
                    yield resume_frame(after, comment="heartbeat") if told != after else ": heartbeat\n\n"
                    last_write, told = now, after
                time.sleep(max(0.0, min(poll, deadline - now)))
    finally:
        db.session.remove()
