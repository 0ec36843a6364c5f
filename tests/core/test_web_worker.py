"""The web process's gunicorn worker (app/core/web_worker.py): balanced connections, bounded running requests.

The board is tested in process; the worker under a real gunicorn master, each request answered with the id of the
process that served it (tests/core/pid_app.py).
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from app.core import web_worker
from app.core.web_worker import ConnectionBoard
from tests.core.pid_app import HOLD_SECONDS

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"


# -- the board ------------------------------------------------------------------------------------------------------

def test_a_worker_is_held_back_only_by_a_live_sibling_with_fewer_connections() -> None:
    board = ConnectionBoard(slots=4)
    mine, sibling = board.claim(os.getpid()), board.claim(os.getppid())
    assert mine != sibling
    board.publish(mine, 5)
    board.publish(sibling, 5)
    assert not board.fewer_elsewhere(mine, 5)  # equal: both take new connections
    board.publish(sibling, 4)
    assert board.fewer_elsewhere(mine, 5)
    assert not board.fewer_elsewhere(sibling, 4)  # the least loaded is never held back
    board.release(sibling, os.getppid())
    assert not board.fewer_elsewhere(mine, 5)  # a worker that has gone holds no one back


def test_a_sibling_that_stopped_publishing_holds_no_one_back(monkeypatch: pytest.MonkeyPatch) -> None:
    board = ConnectionBoard(slots=4)
    mine, stuck = board.claim(os.getpid()), board.claim(os.getppid())
    board.publish(stuck, 0)
    board.publish(mine, 3)
    assert board.fewer_elsewhere(mine, 3)
    later = time.monotonic() + web_worker.STALE_AFTER_SECONDS + 1
    monkeypatch.setattr(web_worker.time, "monotonic", lambda: later)
    assert not board.fewer_elsewhere(mine, 3)


def test_the_slot_of_a_dead_worker_is_taken_again() -> None:
    board = ConnectionBoard(slots=1)
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
    board.claim(int(finished.stdout))  # a pid whose process has exited
    assert board.claim(os.getpid()) == 0
    with pytest.raises(RuntimeError):
        board.claim(os.getppid())


# -- under gunicorn -------------------------------------------------------------------------------------------------

@contextmanager
def serving(log: Path, *, workers: int, threads: int, running: int) -> Iterator[int]:
    """A gunicorn master with `workers` web workers on one shared socket, serving tests/core/pid_app.py; yields its
    port."""
    with log.open("w") as sink:
        server = subprocess.Popen(
            [str(GUNICORN), "--bind", "127.0.0.1:0", "--workers", str(workers), "--threads", str(threads),
             "--no-control-socket", "--worker-class", "app.core.web_worker.WebWorker", "--log-level", "info",
             "tests.core.pid_app:app"], cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
            env={**os.environ, "WEB_REQUESTS_RUNNING": str(running)})
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            text = log.read_text()
            found = re.search(r"Listening at: http://127.0.0.1:(\d+)", text)
            if found and text.count("Booting worker") >= workers:
                break
            assert server.poll() is None, text
            time.sleep(0.05)
        else:
            pytest.fail(f"gunicorn did not start: {log.read_text()}")
        time.sleep(0.5)  # every worker publishes on the board before the first connection
        yield int(found.group(1))
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture()
def gunicorn_port(tmp_path: Path) -> Iterator[int]:
    """Two workers of two threads, both running at once: the connection balancing alone."""
    with serving(tmp_path / "gunicorn.log", workers=2, threads=2, running=2) as port:
        yield port


def _served_by(connection: http.client.HTTPConnection) -> tuple[int, bool]:
    """Send one request on the connection: which worker answered, and whether it closed the connection."""
    connection.request("GET", "/")
    response = connection.getresponse()
    pid = int(response.read())
    return pid, (response.getheader("Connection") or "").lower() == "close"


def test_keep_alive_connections_are_spread_evenly_over_the_workers(gunicorn_port: int) -> None:
    connections = [http.client.HTTPConnection("127.0.0.1", gunicorn_port, timeout=5) for _ in range(16)]
    try:
        for connection in connections:  # all opened before any request, as a proxy's pool or wrk does
            connection.connect()
        split = Counter(_served_by(connection)[0] for connection in connections)
        assert len(split) == 2 and max(split.values()) - min(split.values()) <= 1, split
    finally:
        for connection in connections:
            connection.close()


def test_a_worker_holding_more_than_its_share_gives_a_connection_up_after_answering(gunicorn_port: int) -> None:
    connections = [http.client.HTTPConnection("127.0.0.1", gunicorn_port, timeout=5) for _ in range(6)]
    try:
        for connection in connections:
            connection.connect()
        by_worker: dict[int, list[http.client.HTTPConnection]] = {}
        for connection in connections:
            by_worker.setdefault(_served_by(connection)[0], []).append(connection)
        assert sorted(len(held) for held in by_worker.values()) == [3, 3]
        (busy, kept), (quiet, left) = by_worker.items()
        for connection in left:  # one worker's clients leave: 3/0
            connection.close()
        time.sleep(0.3)

        assert _served_by(kept[0]) == (busy, True)  # the whole answer, then Connection: close
        kept[0].close()
        reopened = http.client.HTTPConnection("127.0.0.1", gunicorn_port, timeout=5)
        connections.append(reopened)
        assert _served_by(reopened) == (quiet, False)  # the client's new connection goes to the quiet worker
    finally:
        for connection in connections:
            connection.close()


# -- running requests -----------------------------------------------------------------------------------------------

def _finish_order(port: int, first_path: str) -> list[str]:
    """Send `first_path`, then `/` while it is in the app: the order in which the two answers came back."""
    finished: list[str] = []

    def fetch(path: str) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", path)
            connection.getresponse().read()
            finished.append(path)
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(fetch, first_path)
        time.sleep(HOLD_SECONDS / 4)
        second = pool.submit(fetch, "/")
        first.result(10)
        second.result(10)
    return finished


@pytest.mark.parametrize(("first_path", "order"), [
    ("/hold", ["/hold", "/"]),  # the one running slot is taken: the second request waits, though a thread is free
    ("/stream", ["/", "/stream"]),  # a long-lived body is sent outside the running slots
    ("/step", ["/", "/step"]),  # a request waiting without the GIL stepped out of its slot
])
def test_a_worker_runs_at_most_its_running_requests_at_once(tmp_path: Path, first_path: str,
                                                            order: list[str]) -> None:
    with serving(tmp_path / "gunicorn.log", workers=1, threads=2, running=1) as port:
        assert _finish_order(port, first_path) == order


def test_a_connection_that_sends_nothing_holds_no_running_slot(tmp_path: Path) -> None:
    with serving(tmp_path / "gunicorn.log", workers=1, threads=2, running=1) as port:
        silent = socket.create_connection(("127.0.0.1", port))  # connects, never sends a byte
        try:
            time.sleep(0.2)  # accepted, and its thread waits for the first bytes
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)  # gthread's wait is 5 s
            try:
                connection.request("GET", "/")
                assert connection.getresponse().status == 200
            finally:
                connection.close()
        finally:
            silent.close()
