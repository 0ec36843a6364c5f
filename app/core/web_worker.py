"""The web process's gunicorn worker: gthread, with connections balanced over the workers and two requests running.

`gunicorn --worker-class app.core.web_worker.WebWorker --workers 2 --threads 4` (the Procfile's web process, one
shared listening socket: no `--reuse-port`). Two changes to gunicorn's gthread worker, both measured with
`bench/run` (docs/decisions.md, "Performance"):

**Connections go to the least loaded worker.** A gthread worker keeps every keep-alive connection it accepts, and
the kernel gives no worker a fair share of them: with one shared socket the first worker to wake often takes a whole
burst (a proxy's upstream pool, wrk's 32 connections: all on one worker, a core idle); with `--reuse-port` the
kernel hashes addresses, and 20/12 or 23/9 splits are common. The clients of the fuller worker wait longer. Here the
workers share a small board in memory (made by the gunicorn master when it loads this class, before it forks) where
each publishes, at every turn of its event loop, how many connections it holds. A worker listens for new ones only
while no live sibling holds fewer. The counts are a few milliseconds old (a sibling may not have seen its clients
leave yet when new ones arrive), so a worker holding two or more connections more than a sibling also answers its
next request with `Connection: close`, at most once per `SHED_INTERVAL_SECONDS`: the client gets its whole answer,
opens a new connection, and the least loaded worker takes it; nothing is cut in the middle of a request.

**At most `WEB_REQUESTS_RUNNING` requests run at once in a worker (2), whatever its threads.** Threads share one
GIL: past about one core's worth of Python, more requests at once only wait for each other, and the slowest waits
longest. Four threads running gave `GET /me` a p99 of 26-32 ms at 32 connections; two, 19-22 ms. The worker keeps
four threads because an event stream (the staff queue) holds its thread for minutes while it mostly sleeps: a
request the app marks as long-lived (`environ[LONG_LIVED]`, app/core/web_slots.py) gives its running slot back
before its body is sent, and a request that waits without the GIL for a while (a password hash) steps out of its
slot meanwhile (`environ[STEP_ASIDE]`). Requests waiting for a slot are served first come, first served.

Safety: a sibling that has not published for `STALE_AFTER_SECONDS` (dead, or its loop stuck) holds no one back,
and the least loaded worker always listens, so some worker always takes new connections.
"""

from __future__ import annotations

import mmap
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from gunicorn.workers.gthread import _DEFER, DEFAULT_WORKER_DATA_TIMEOUT, ThreadWorker

from app.core.fair_slots import FairSlots
from app.core.web_slots import LONG_LIVED, STEP_ASIDE  # the environ keys between the app and this worker

SLOTS = 64  # at most this many live workers per master
STALE_AFTER_SECONDS = 3.0  # an idle worker's loop turns at least once a second (gthread's poll timeout)
RECHECK_SECONDS = 0.01  # how soon a held-back worker looks at the board again
SHED_INTERVAL_SECONDS = 0.05
RUNNING_DEFAULT = 2

_FIELDS = 3  # per board slot: owner pid, open connections, last publication (monotonic clock, milliseconds)


class ConnectionBoard:
    """Open connections per worker, in memory shared by the processes forked after it was made."""

    def __init__(self, slots: int = SLOTS) -> None:
        self._memory = mmap.mmap(-1, slots * _FIELDS * 8)  # anonymous and MAP_SHARED: forks see the same pages
        self._cells = memoryview(self._memory).cast("q")
        self._slots = slots
        self._lock = multiprocessing.Lock()  # claims and releases only; publications are single aligned writes

    def claim(self, pid: int) -> int:
        """Take a free slot (or one whose owner has died) for the worker `pid`; returns its index."""
        with self._lock:
            for slot in range(self._slots):
                owner = self._cells[slot * _FIELDS]
                if owner == 0 or not _alive(owner):
                    self._write(slot, pid, 0)
                    return slot
        raise RuntimeError(f"More than {self._slots} gunicorn workers share one connection board")

    def release(self, slot: int, pid: int) -> None:
        with self._lock:
            if self._cells[slot * _FIELDS] == pid:
                self._write(slot, 0, 0)

    def publish(self, slot: int, connections: int) -> None:
        base = slot * _FIELDS
        self._cells[base + 1] = connections
        self._cells[base + 2] = _now_ms()

    def fewer_elsewhere(self, slot: int, connections: int) -> bool:
        """Whether a live sibling (one that published lately) holds fewer than `connections` connections."""
        fresh_since = _now_ms() - int(STALE_AFTER_SECONDS * 1000)
        cells = self._cells
        for other in range(self._slots):
            base = other * _FIELDS
            if other != slot and cells[base] != 0 and cells[base + 1] < connections and cells[base + 2] >= fresh_since:
                return True
        return False

    def _write(self, slot: int, pid: int, connections: int) -> None:
        base = slot * _FIELDS
        self._cells[base] = pid
        self._cells[base + 1] = connections
        self._cells[base + 2] = _now_ms()


def _now_ms() -> int:
    return int(time.monotonic() * 1000)  # CLOCK_MONOTONIC: one clock for every process of the machine


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# Made when the master imports this module to load the worker class, so every worker it forks shares it.
BOARD = ConnectionBoard()


class WebWorker(ThreadWorker):
    """gunicorn's gthread worker with balanced connections and bounded running requests (see the module's text)."""

    board = BOARD

    @classmethod
    def check_config(cls, cfg: Any, log: Any) -> None:
        super().check_config(cfg, log)
        if cfg.reuse_port:
            log.warning("WebWorker does not balance connections with --reuse-port (each worker has its own socket).")

    def init_process(self) -> None:
        self._balancing = not self.cfg.reuse_port
        self._held_back = False
        self._slot = self.board.claim(os.getpid())
        self._shed_lock = threading.Lock()
        self._last_shed = 0.0
        running = int(os.environ.get("WEB_REQUESTS_RUNNING") or RUNNING_DEFAULT)
        self._running = FairSlots(min(running, self.cfg.threads) if running > 0 else self.cfg.threads)
        self._holds = threading.local()  # whether this thread's request holds a running slot now
        super().init_process()  # loads the app, then runs the event loop until the worker stops

    def run(self) -> None:
        try:
            super().run()
        finally:
            self.board.release(self._slot, os.getpid())

    # -- running requests ------------------------------------------------------------------------------------------

    def load_wsgi(self) -> None:
        super().load_wsgi()
        app = self.wsgi

        def app_within_slots(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            environ[STEP_ASIDE] = self._stepped_aside
            body = app(environ, start_response)
            if environ.get(LONG_LIVED):
                self._leave_slot()  # the stream's frames are sent without a running slot
            return body

        self.wsgi = app_within_slots

    def handle(self, conn: Any) -> Any:
        # A new connection's first bytes are awaited before taking a running slot: a client that connects and says
        # nothing (a browser's preconnect, a slow or hostile client) must not hold one for gthread's 5 s wait.
        if not conn.initialized and not conn.wait_for_data(DEFAULT_WORKER_DATA_TIMEOUT):
            return _DEFER  # gthread's own answer: back to the poller until the client sends something
        self._running.acquire()
        self._holds.value = True
        try:
            return super().handle(conn)
        finally:
            self._leave_slot()

    def _leave_slot(self) -> None:
        if getattr(self._holds, "value", False):
            self._holds.value = False
            self._running.release()

    @contextmanager
    def _stepped_aside(self) -> Iterator[None]:
        if not getattr(self._holds, "value", False):
            yield
            return
        self._leave_slot()
        try:
            yield
        finally:
            self._running.acquire()  # in turn, behind the requests that came meanwhile
            self._holds.value = True

    # -- balanced connections --------------------------------------------------------------------------------------

    def set_accept_enabled(self, enabled: bool) -> None:
        self._held_back = enabled and self._balancing and self.board.fewer_elsewhere(self._slot, self.nr_conns)
        super().set_accept_enabled(enabled and not self._held_back)

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        # Every turn of the loop: say how many connections this worker holds, then listen or not accordingly.
        self.board.publish(self._slot, self.nr_conns)
        self.set_accept_enabled(self.nr_conns < self.worker_connections)
        super().wait_for_and_dispatch_events(min(timeout, RECHECK_SECONDS) if self._held_back else timeout)

    def handle_request(self, req: Any, conn: Any) -> bool:
        if self._balancing and self._sheds_one_now():
            req.must_close = True  # gunicorn answers with "Connection: close" and closes after the response
        return super().handle_request(req, conn)

    def _sheds_one_now(self) -> bool:
        """Whether this request's connection is the one to give up: this worker holds two or more connections
        more than a live sibling, and gave none up in the last `SHED_INTERVAL_SECONDS` (its count drops only when
        the connection it gave up is closed)."""
        if not self.board.fewer_elsewhere(self._slot, self.nr_conns - 1):
            return False
        with self._shed_lock:  # request threads: one of them gives a connection up
            now = time.monotonic()
            if now - self._last_shed < SHED_INTERVAL_SECONDS:
                return False
            self._last_shed = now
            return True
