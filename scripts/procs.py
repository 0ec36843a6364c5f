#!/usr/bin/env python3
"""Run every process of the Procfile together, foreman/honcho style, with the Python standard library only.

    .venv/bin/python scripts/procs.py                  # every process in ./Procfile
    .venv/bin/python scripts/procs.py --only web       # a subset, comma-separated

Each process runs as `bash -c COMMAND` in its own process group, so a signal reaches the whole tree a command
starts. Output lines are prefixed with the process name. When any process exits, or on Ctrl-C / SIGTERM, the
others get SIGTERM and, 10 s later, SIGKILL. The exit code is the first non-zero code of a process that exited
by itself (0 when every such process exited cleanly, or the stop was asked for).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

if TYPE_CHECKING:
    from types import FrameType

STOP_TIMEOUT_SECONDS = 10.0
SUPERVISOR_NAME = "procs"
PROCFILE_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")
BASH = shutil.which("bash") or "/bin/bash"
COLOURS = ("36", "33", "32", "35", "34", "31")  # cyan, yellow, green, magenta, blue, red


@dataclass
class Process:
    name: str
    command: str
    colour: str
    popen: subprocess.Popen[bytes]
    stopping: bool = False  # set once we have signalled it; its exit is then ours, not a failure
    threads: list[threading.Thread] = field(default_factory=list)


def read_procfile(path: Path) -> list[tuple[str, str]]:
    """Return (name, command) pairs in file order; blank lines and # comments are skipped."""
    entries: list[tuple[str, str]] = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = PROCFILE_LINE.match(line)
        if not match:
            sys.exit(f"{path}:{number}: expected 'name: command', got {raw!r}")
        entries.append((match.group(1), match.group(2)))
    return entries


class Output:
    """Writes prefixed lines to stdout; one lock so lines from different processes never interleave."""

    def __init__(self, width: int, colour: bool) -> None:
        self.width = width
        self.colour = colour
        self.lock = threading.Lock()
        self.closed = False

    def line(self, name: str, colour: str, text: str) -> None:
        prefix = f"{name:<{self.width}} |"
        if self.colour:
            prefix = f"\033[{colour}m{prefix}\033[0m"
        with self.lock:
            if self.closed:
                return
            try:
                sys.stdout.write(f"{prefix} {text}\n")
                sys.stdout.flush()
            except OSError:
                # The reader went away (a closed pipe after Ctrl-C): keep supervising, stop printing.
                self.closed = True


class Supervisor:
    """Starts the processes, relays their output, and stops them all when one exits or a signal arrives."""

    def __init__(self, entries: list[tuple[str, str]], output: Output) -> None:
        self.entries = entries
        self.processes: list[Process] = []
        self.output = output
        self.exits: queue.Queue[Process] = queue.Queue()
        self.exit_order: list[Process] = []  # appended by the waiter threads (list.append is atomic)
        self.signal_received: int | None = None

    def say(self, text: str) -> None:
        self.output.line(SUPERVISOR_NAME, "1", text)

    def run(self) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        try:
            for index, (name, command) in enumerate(self.entries):
                self._start(name, command, COLOURS[index % len(COLOURS)])
            first_exit = self._wait_for_first_exit()
            if first_exit is not None:
                self.say(f"{first_exit.name} exited with code {exit_code(first_exit)}; stopping the others")
            else:
                self.say(f"received {signal.Signals(self.signal_received or signal.SIGTERM).name}; stopping all")
        finally:
            self._stop_all()  # also when starting or printing failed: never leave processes behind
        return self._result()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.signal_received is not None:
            # A second Ctrl-C while stopping: do not wait for the grace period.
            self._signal_groups(signal.SIGKILL)
        self.signal_received = signum

    def _start(self, name: str, command: str, colour: str) -> None:
        popen = subprocess.Popen(
            [BASH, "-c", command],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own session and process group: signals reach its whole tree, not ours
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        process = Process(name, command, colour, popen)
        self.processes.append(process)
        self.say(f"{name} started (pid {popen.pid}): {command}")
        reader = threading.Thread(target=self._relay, args=(process, cast("IO[bytes]", popen.stdout)), daemon=True)
        waiter = threading.Thread(target=self._wait, args=(process,), daemon=True)
        process.threads = [reader, waiter]
        reader.start()
        waiter.start()

    def _relay(self, process: Process, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.output.line(process.name, process.colour, raw.decode("utf-8", "replace").rstrip("\r\n"))
        stream.close()

    def _wait(self, process: Process) -> None:
        process.popen.wait()
        self.exit_order.append(process)
        self.exits.put(process)

    def _wait_for_first_exit(self) -> Process | None:
        """Block until a process exits (returned) or a signal arrives (None)."""
        while self.signal_received is None:
            try:
                return self.exits.get(timeout=0.2)
            except queue.Empty:
                continue
        return None

    def _stop_all(self) -> None:
        for process in self.processes:
            if process.popen.poll() is None:
                process.stopping = True
        self._signal_groups(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while self._live_groups() and time.monotonic() < deadline:
            time.sleep(0.1)
        for process in self._live_groups():
            self.say(f"{process.name} still running after {STOP_TIMEOUT_SECONDS:.0f} s; sending SIGKILL")
            self._signal_group(process, signal.SIGKILL)
        for process in self.processes:
            process.popen.wait()
            for thread in process.threads:
                thread.join(timeout=1.0)  # a daemonised grandchild may hold the pipe open; do not hang on it
            self.say(f"{process.name} stopped (code {exit_code(process)})")

    def _signal_groups(self, sig: signal.Signals) -> None:
        for process in self.processes:
            self._signal_group(process, sig)

    @staticmethod
    def _signal_group(process: Process, sig: signal.Signals) -> None:
        # The leader's pid is the group id (start_new_session); an error means the whole group is gone.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.popen.pid, sig)

    def _live_groups(self) -> list[Process]:
        live = []
        for process in self.processes:
            try:
                os.killpg(process.popen.pid, 0)
            except (ProcessLookupError, PermissionError):
                continue
            live.append(process)
        return live

    def _result(self) -> int:
        """First non-zero code among processes that exited by themselves, in the order they exited."""
        for process in self.exit_order:
            code = exit_code(process)
            if not process.stopping and code != 0:
                return code
        return 0


def exit_code(process: Process) -> int:
    """The shell's view of a return code: a process killed by signal N counts as 128 + N."""
    code = process.popen.wait()  # already reaped when called; wait() just returns the code
    return 128 - code if code < 0 else code


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the processes of a Procfile together.")
    parser.add_argument("--procfile", type=Path, default=Path("Procfile"), help="default: ./Procfile")
    parser.add_argument("--only", help="comma-separated process names to run (default: all)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    entries = read_procfile(args.procfile)
    if args.only:
        wanted = [name.strip() for name in args.only.split(",") if name.strip()]
        unknown = sorted(set(wanted) - {name for name, _ in entries})
        if unknown:
            sys.exit(f"not in {args.procfile}: {', '.join(unknown)}")
        entries = [(name, command) for name, command in entries if name in wanted]
    if not entries:
        sys.exit(f"{args.procfile}: no processes to run")
    width = max(9, len(SUPERVISOR_NAME), *(len(name) for name, _ in entries))
    colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    return Supervisor(entries, Output(width, colour)).run()


if __name__ == "__main__":
    sys.exit(main())
