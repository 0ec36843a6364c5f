"""Password hashes wait for a slot, first come first served: app/core/fair_slots.py and its use in app/core/auth.py."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from app.core.fair_slots import FairSlots, slots_per_process
from tests.factories import PASSWORD, make_guest


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.001)


def test_waiters_get_the_slot_in_the_order_they_asked():
    slots = FairSlots(1)
    slots.acquire()  # the holder
    order: list[int] = []

    def waiter(n: int) -> None:
        with slots.held():
            order.append(n)

    threads = []
    for n in range(5):
        thread = threading.Thread(target=waiter, args=(n,))
        thread.start()
        threads.append(thread)
        wait_until(lambda n=n: slots.waiting == n + 1)  # queued before the next one starts
    slots.release()
    for thread in threads:
        thread.join(5)
    assert order == [0, 1, 2, 3, 4]


def test_a_releasing_thread_cannot_jump_the_queue():
    """The starvation `threading.Semaphore` allows: release, then acquire again at once, ahead of a waiter."""
    slots = FairSlots(1)
    slots.acquire()
    got_it = threading.Event()
    waiter = threading.Thread(target=lambda: (slots.acquire(), got_it.set()))
    waiter.start()
    wait_until(lambda: slots.waiting == 1)
    slots.release()
    grabbed_again = threading.Event()
    greedy = threading.Thread(target=lambda: (slots.acquire(), grabbed_again.set()))
    greedy.start()
    assert got_it.wait(5)
    assert not grabbed_again.wait(0.05)  # the slot went to the waiter; the greedy thread queues behind it
    slots.release()
    assert grabbed_again.wait(5)
    slots.release()
    waiter.join(5)
    greedy.join(5)


def test_never_more_holders_than_slots():
    slots = FairSlots(2)
    inside = 0
    most = 0
    lock = threading.Lock()

    def work(_: int) -> None:
        nonlocal inside, most
        with slots.held():
            with lock:
                inside += 1
                most = max(most, inside)
            time.sleep(0.002)
            with lock:
                inside -= 1

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(work, range(40)))
    assert most == 2


def test_a_slot_is_returned_when_the_work_fails():
    slots = FairSlots(1)
    with pytest.raises(RuntimeError, match="hash failed"), slots.held():
        raise RuntimeError("hash failed")
    assert slots.acquire() is None  # would block forever if the slot had leaked
    slots.release()
    with pytest.raises(RuntimeError, match="more often"):
        slots.release()


@pytest.mark.parametrize(
    ("configured", "cores", "web_concurrency", "expected"),
    [
        (3, 8, "2", 3),  # an explicit setting wins
        (0, 2, "2", 1),  # the Procfile on two cores: one hash per worker, two per machine
        (0, 8, "2", 4),
        (0, 2, "5", 1),  # more workers than cores: still one each
        (0, 4, "many", 4),  # unreadable: counted as one worker
    ],
)
def test_slots_per_process(configured, cores, web_concurrency, expected):
    assert slots_per_process(configured, cpu_count=cores, web_concurrency=web_concurrency) == expected


class CountingHasher:
    """The real argon2 hasher, counting how many of its calls run at once."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.inside = 0
        self.most = 0
        self.calls = 0
        self.lock = threading.Lock()

    def _counted(self, method: str, *args: Any) -> Any:
        with self.lock:
            self.inside += 1
            self.calls += 1
            self.most = max(self.most, self.inside)
        try:
            time.sleep(0.01)  # long enough for the other requests to arrive while this hash runs
            return getattr(self.real, method)(*args)
        finally:
            with self.lock:
                self.inside -= 1

    def hash(self, password: str) -> str:
        return self._counted("hash", password)

    def verify(self, password_hash: str, password: str) -> bool:
        return self._counted("verify", password_hash, password)

    def check_needs_rehash(self, password_hash: str) -> bool:
        return self.real.check_needs_rehash(password_hash)


def test_concurrent_logins_through_the_api_take_turns_at_hashing(app, monkeypatch):
    guests = [make_guest(email=f"turns{n}@example.com") for n in range(6)]
    counting = CountingHasher(app.extensions["password_hasher"])
    monkeypatch.setitem(app.extensions, "password_hasher", counting)
    monkeypatch.setitem(app.extensions, "password_hash_slots", FairSlots(1))

    def log_in(n: int) -> int:
        password = PASSWORD if n < 6 else "wrong password"
        body = {"login": guests[n % 6].email, "password": password}
        return app.test_client().post("/api/v1/auth/login", json=body).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(log_in, range(8)))
    assert statuses == [200] * 6 + [401] * 2
    assert counting.calls == 8
    assert counting.most == 1
