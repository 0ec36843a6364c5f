"""Password hashes wait for a slot, first come first served: app/core/fair_slots.py and its use in app/core/auth.py."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from app.core.fair_slots import FairSlots, MachineSlots, SlotGate
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


def _child(work) -> int:
    """Fork a child that runs `work()` and exits; returns its pid."""
    pid = os.fork()
    if pid == 0:
        try:
            work()
        finally:
            os._exit(0)
    return pid


def _reap(*pids: int) -> None:
    for pid in pids:
        os.waitpid(pid, 0)


def _take_in_a_thread(slots: MachineSlots) -> tuple[threading.Event, threading.Event]:
    """A thread that takes a slot, says so (first event) and gives it back when told (second event)."""
    taken, done = threading.Event(), threading.Event()

    def take() -> None:
        with slots.held():
            taken.set()
            done.wait(10)

    threading.Thread(target=take, daemon=True).start()
    return taken, done


def test_machine_slots_are_shared_by_processes(tmp_path):
    journal = tmp_path / "journal"

    def hold() -> None:
        with MachineSlots(tmp_path, "hash", 1).held():
            with journal.open("a") as out:
                out.write(f"in {time.monotonic()}\n")
            time.sleep(0.05)
            with journal.open("a") as out:
                out.write(f"out {time.monotonic()}\n")

    _reap(*[_child(hold) for _ in range(3)])
    events = [line.split()[0] for line in journal.read_text().splitlines()]
    assert events == ["in", "out"] * 3  # one holder at a time, never two "in" in a row


def test_a_machine_slot_is_free_again_when_its_holder_is_killed(tmp_path):
    ready_r, ready_w = os.pipe()

    def hold_forever() -> None:
        with MachineSlots(tmp_path, "hash", 1).held():
            os.write(ready_w, b"1")
            time.sleep(60)

    pid = _child(hold_forever)
    assert os.read(ready_r, 1) == b"1"
    taken, done = _take_in_a_thread(MachineSlots(tmp_path, "hash", 1))
    assert not taken.wait(0.1)  # the child holds the only slot
    os.kill(pid, signal.SIGKILL)
    _reap(pid)
    assert taken.wait(5)  # the kernel dropped the dead holder's flock
    done.set()


def test_machine_slots_let_as_many_holders_in_as_there_are_slots(tmp_path):
    inside_r, inside_w = os.pipe()
    go_r, go_w = os.pipe()

    def hold_until_told() -> None:
        with MachineSlots(tmp_path, "hash", 2).held():
            os.write(inside_w, b"1")
            os.read(go_r, 1)

    pids = [_child(hold_until_told) for _ in range(2)]
    assert os.read(inside_r, 1) + os.read(inside_r, 1) == b"11"  # both inside at once
    third, done = _take_in_a_thread(MachineSlots(tmp_path, "hash", 2))
    assert not third.wait(0.1)  # a third waits
    os.write(go_w, b"11")
    _reap(*pids)
    assert third.wait(5)
    done.set()


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


def test_concurrent_logins_through_the_api_take_turns_at_hashing(app, monkeypatch, tmp_path):
    guests = [make_guest(email=f"turns{n}@example.com") for n in range(6)]
    counting = CountingHasher(app.extensions["password_hasher"])
    monkeypatch.setitem(app.extensions, "password_hasher", counting)
    monkeypatch.setitem(app.extensions, "password_hash_slots", SlotGate(FairSlots(1), MachineSlots(tmp_path, "h", 1)))

    def log_in(n: int) -> int:
        password = PASSWORD if n < 6 else "wrong password"
        body = {"login": guests[n % 6].email, "password": password}
        return app.test_client().post("/api/v1/auth/login", json=body).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(log_in, range(8)))
    assert statuses == [200] * 6 + [401] * 2
    assert counting.calls == 8
    assert counting.most == 1
