"""The one source of "now" (timezone-aware UTC), so that tests can move time instead of sleeping."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_source: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    return _source()


@contextmanager
def frozen(at: datetime) -> Iterator[Callable[[timedelta], None]]:
    """Freeze time at `at` for the block; the yielded function moves it forward."""
    global _source
    current = [at]
    previous = _source
    _source = lambda: current[0]  # noqa: E731

    def advance(delta: timedelta) -> None:
        current[0] = current[0] + delta

    try:
        yield advance
    finally:
        _source = previous
