"""First-come, first-served limits on how many threads run one piece of work at once: in a process, on a machine.

Password hashing is the use: argon2id is CPU- and memory-bound and releases the GIL, so a gthread worker can run as
many hashes at once as it has threads. When more hashes run than there are cores, the kernel time-slices them and
every one of them finishes late: four logins on two cores all take about two hashes' time, and the caches thrash
under 4 x 19 MiB. Letting at most one hash per core of the machine run, in arrival order, gives the same
throughput with a lower and steadier latency (measured in docs/decisions.md, "Performance").

The limit is the machine's, across the web workers: per worker, a worker that the kernel happened to give most of
the connections would queue its logins while another core had nothing to hash. `threading.Semaphore` is not
enough inside a process: a thread that releases it can take it straight back, and a waiter can starve for a
second; FairSlots hands a released slot to the longest waiter.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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


class MachineSlots:
    """At most `size` holders at once across every process of this machine that shares `directory`.

    One lock file per slot, taken with `flock`, and a turnstile file that waiters pass one at a time: only the
    waiter holding the turnstile looks for a free slot (every `poll_seconds` while all are taken), the others wait
    in the kernel, so a thread that just released a slot cannot take it straight back ahead of them. An `flock`
    goes with its process: a worker killed in the middle of a hash frees its slot and the turnstile.
    """

    def __init__(self, directory: Path, name: str, size: int, poll_seconds: float = 0.0005) -> None:
        if size < 1:
            raise ValueError("MachineSlots needs at least one slot")
        directory.mkdir(parents=True, exist_ok=True)
        self.size = size
        self.poll_seconds = poll_seconds
        self._turnstile = directory / f"{name}.turnstile.lock"
        self._slots = [directory / f"{name}.slot-{index}.lock" for index in range(size)]

    @staticmethod
    def _open(path: Path) -> int:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def _take(self) -> int:
        turnstile = self._open(self._turnstile)
        try:
            fcntl.flock(turnstile, fcntl.LOCK_EX)
            while True:
                for path in self._slots:
                    slot = self._open(path)
                    try:
                        fcntl.flock(slot, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        os.close(slot)
                        continue
                    return slot
                time.sleep(self.poll_seconds)
        finally:
            os.close(turnstile)  # closing the file drops its flock: the next waiter's turn

    @contextmanager
    def held(self) -> Iterator[None]:
        slot = self._take()
        try:
            yield
        finally:
            os.close(slot)  # drops the slot's flock


class SlotGate:
    """Both limits in one: threads of this process queue in order (FairSlots), then take a slot of the machine."""

    def __init__(self, in_process: FairSlots, machine: MachineSlots) -> None:
        self.in_process = in_process
        self.machine = machine

    @contextmanager
    def held(self) -> Iterator[None]:
        with self.in_process.held(), self.machine.held():
            yield


def machine_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
