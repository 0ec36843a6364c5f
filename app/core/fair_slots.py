"""A first-come, first-served limit on how many threads of a process run one piece of work at once.

Password hashing is the use: argon2id is CPU- and memory-bound and releases the GIL, so a gthread worker can run as
many hashes at once as it has threads. When more hashes run than there are cores, the kernel time-slices them and
every one of them finishes late: four logins on two cores all take about two hashes' time, and the caches thrash
under 4 x 19 MiB. Letting at most one hash per core run, in arrival order, gives the same throughput with a lower and
steadier latency (measured in docs/decisions.md, "Performance"). `threading.Semaphore` is not enough: a thread that
releases it can take it straight back, and a waiter can starve for a second; here a released slot is handed to the
longest waiter.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class FairSlots:
    """At most `size` holders at once; waiters get a slot in the order they asked for one."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("FairSlots needs at least one slot")
        self.size = size
        self._free = size
        self._lock = threading.Lock()
        self._waiters: deque[threading.Event] = deque()

    @property
    def waiting(self) -> int:
        """How many threads are queued for a slot now (for tests and diagnostics)."""
        with self._lock:
            return len(self._waiters)

    def acquire(self) -> None:
        with self._lock:
            if self._free and not self._waiters:
                self._free -= 1
                return
            turn = threading.Event()
            self._waiters.append(turn)
        turn.wait()  # release() hands its slot over by setting our event: nothing to take afterwards

    def release(self) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().set()
            elif self._free < self.size:
                self._free += 1
            else:
                raise RuntimeError("FairSlots released more often than acquired")

    @contextmanager
    def held(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()


def slots_per_process(configured: int, cpu_count: int | None = None, web_concurrency: str | None = None) -> int:
    """The number of slots for one process: `configured` when positive, else one per core of this host divided
    among the web workers that share it (gunicorn reads its worker count from WEB_CONCURRENCY, the Procfile sets it).
    """
    if configured > 0:
        return configured
    cores = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
    raw_workers = web_concurrency if web_concurrency is not None else os.environ.get("WEB_CONCURRENCY", "1")
    try:
        workers = max(1, int(raw_workers))
    except ValueError:
        workers = 1
    return max(1, cores // workers)
