"""What a request tells the web worker (app/core/web_worker.py) about its use of a running slot.

The worker lets two requests at a time run in a process (threads beyond that only wait for the GIL). A request
that will hold its thread for long without running Python tells it so, and another request runs meanwhile. Outside
that worker (tests, `flask run`, the CLI) both helpers do nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import has_request_context, request

LONG_LIVED = "hotel.long_lived"  # environ key the app sets: the body is a long stream, send it outside the slots
STEP_ASIDE = "hotel.step_aside"  # environ key the worker sets: a context manager that waits outside the slots


def mark_long_lived() -> None:
    """This request's body is a stream that lasts (Server-Sent Events): the worker sends it without a slot."""
    if has_request_context():
        request.environ[LONG_LIVED] = True


@contextmanager
def stepping_out() -> Iterator[None]:
    """Give this request's running slot to another request while it waits without the GIL (a password hash); take
    one again, in turn, afterwards."""
    step_aside = request.environ.get(STEP_ASIDE) if has_request_context() else None
    if step_aside is None:
        yield
        return
    with step_aside():
        yield
