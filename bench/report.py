"""Turn bench/run's raw wrk output into a table, target verdicts, bench/results.json and a bench/RESULTS.md entry.

    python bench/report.py --out-dir DIR --profile NAME=GUNICORN_ARGS [--profile ...] [--no-record]

DIR holds prepared.json (from bench/prepare.py) and one wrk output per profile and endpoint: NAME.hello.txt,
NAME.me.txt, NAME.login.txt, each ending with the BENCH_JSON line of bench/wrk.lua. The first profile is the
headline: its targets decide the exit status (1 when one fails). Errors (a non-2xx answer, a socket error, a run
without output) in any profile fail the run too. Results are written before the exit status is decided.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_MD = BENCH_DIR / "RESULTS.md"
RESULTS_JSON = BENCH_DIR / "results.json"

# The targets.
MIN_RATIO = 0.5  # GET /api/v1/me throughput over GET /hello throughput, same gunicorn settings
ME_P99_MS, ME_CONNECTIONS = 25.0, 32
LOGIN_P99_MS, LOGIN_CONNECTIONS = 100.0, 4

ENDPOINTS = {
    "hello": "GET /hello (hello app)",
    "me": "GET /api/v1/me",
    "login": "POST /api/v1/auth/login",
}
RESULTS_MD_HEADER = """# Benchmark results

Appended by `bench/run` (see `bench/README.md`), newest last. Compare ratios across machines, not req/s.
"""


@dataclass
class Run:
    endpoint: str
    connections: int | None = None
    threads: int | None = None
    stats: dict[str, Any] | None = None  # the BENCH_JSON line of bench/wrk.lua
    spread: str = "?"  # wrk's open connections per server process, one second in ("16/16")
    problem: str | None = None  # why there are no stats

    @property
    def errors(self) -> list[str]:
        if self.stats is None:
            return [self.problem or "no output"]
        found = []
        if self.stats["non_2xx"]:
            found.append(f"{self.stats['non_2xx']} non-2xx (first: {self.stats['first_bad_status']})")
        found += [f"{count} socket {kind}" for kind, count in self.stats["socket_errors"].items() if count]
        return found

    @property
    def ok(self) -> bool:
        return not self.errors

    def stat(self, key: str) -> float:
        return float(self.stats[key]) if self.stats else float("nan")


@dataclass
class Target:
    name: str
    measured: str
    passed: bool


@dataclass
class Profile:
    name: str
    gunicorn: str
    headline: bool
    runs: dict[str, Run] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    ratio: float | None = None


def parse_wrk_output(path: Path, endpoint: str) -> Run:
    run = Run(endpoint=endpoint)
    if not path.exists():
        run.problem = "not run"
        return run
    text = path.read_text(errors="replace")
    shape = re.search(r"(\d+) threads and (\d+) connections", text)
    if shape:
        run.threads, run.connections = int(shape.group(1)), int(shape.group(2))
    line = next((ln for ln in text.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        last = text.strip().splitlines()[-1:] or ["empty output"]
        run.problem = f"wrk gave no result ({last[0][:120]})"
    else:
        run.stats = json.loads(line.removeprefix("BENCH_JSON "))
    spread_file = path.with_suffix(".connections.txt")
    if spread_file.exists():
        # Empty for sync workers: they close each connection, so wrk's sockets wait in the accept queue.
        run.spread = spread_file.read_text().strip() or "n/a"
    return run


def evaluate(profile: Profile) -> None:
    hello, me, login = (profile.runs[key] for key in ENDPOINTS)
    if hello.stats and me.stats and hello.stat("rps") > 0:
        profile.ratio = me.stat("rps") / hello.stat("rps")
    ratio_text = f"{profile.ratio:.2f}x" if profile.ratio is not None else "n/a"
    profile.targets = [
        _target(f"{ENDPOINTS['me']} req/s >= {MIN_RATIO} x {ENDPOINTS['hello']}", ratio_text, [hello, me],
                profile.ratio is not None and profile.ratio >= MIN_RATIO),
        _target(f"{ENDPOINTS['me']} p99 < {ME_P99_MS:g} ms at {ME_CONNECTIONS} connections",
                f"{me.stat('p99_ms'):.1f} ms", [me],
                me.connections == ME_CONNECTIONS and me.stat("p99_ms") < ME_P99_MS),
        _target(f"{ENDPOINTS['login']} p99 < {LOGIN_P99_MS:g} ms at {LOGIN_CONNECTIONS} connections",
                f"{login.stat('p99_ms'):.1f} ms", [login],
                login.connections == LOGIN_CONNECTIONS and login.stat("p99_ms") < LOGIN_P99_MS),
    ]


def _target(name: str, measured: str, runs: list[Run], met: bool) -> Target:
    failed = [run.endpoint for run in runs if not run.ok]
    if failed:
        measured += f" (errors in: {', '.join(failed)})"
    return Target(name=name, measured=measured, passed=met and not failed)


def machine_facts() -> dict[str, Any]:
    cpu_model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        cpu_model = match.group(1).strip() if match else cpu_model
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model,
        "os": _os_name(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": {name: metadata.version(name) for name in (
            "gunicorn", "Flask", "SQLAlchemy", "argon2-cffi", "argon2-cffi-bindings")},
        "wrk": _command_output(["wrk", "--version"]).split(" [")[0].removeprefix("wrk ") or "unknown",
        "commit": _command_output(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"]) or "unknown",
        "uncommitted_changes": bool(_command_output(["git", "-C", str(REPO_ROOT), "status", "--porcelain",
                                                     "--untracked-files=no"])),
    }


def _os_name() -> str:
    release = Path("/etc/os-release")
    if release.exists():
        match = re.search(r'^PRETTY_NAME="?([^"\n]+)"?$', release.read_text(), re.MULTILINE)
        if match:
            return match.group(1)
    return platform.system()


def _command_output(command: list[str]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return ""
    return (result.stdout or result.stderr).strip().splitlines()[0] if (result.stdout or result.stderr) else ""


def _errors_text(run: Run) -> str:
    return ", ".join(run.errors) if run.errors else "0"


def _row(run: Run) -> list[str]:
    connections = str(run.connections) if run.connections is not None else "?"
    numbers = [f"{run.stat('rps'):.1f}"] + [f"{run.stat(key):.2f}" for key in ("p50_ms", "p90_ms", "p99_ms")]
    return [ENDPOINTS[run.endpoint], connections, run.spread, *numbers, _errors_text(run)]


TABLE_HEADER = ["endpoint", "connections", "per worker", "req/s", "p50 ms", "p90 ms", "p99 ms", "errors"]


def console_table(profile: Profile) -> str:
    rows = [TABLE_HEADER] + [_row(run) for run in profile.runs.values()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_HEADER))]
    lines = ["  ".join(cell.rjust(w) if 0 < i < 7 else cell.ljust(w) for i, (cell, w) in
                       enumerate(zip(row, widths, strict=True))).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_section(report: dict[str, Any], profiles: list[Profile]) -> str:
    m, s = report["machine"], report["settings"]
    dirty = " + uncommitted changes" if m["uncommitted_changes"] else ""
    argon2 = report["argon2"]
    lines = [
        f"## {report['date']}, commit {m['commit']}{dirty}: {'PASS' if report['passed'] else 'FAIL'}",
        "",
        f"- Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['os']}, kernel {m['kernel']}; "
        f"CPUs {m['cpu_busy_before']} busy in the second before the run; wrk {m['wrk']} on the same machine "
        "(it shares the CPUs with the server).",
        f"- Software: Python {m['python']}, " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()) + ".",
        f"- Database: {report['database']}. Password hash: {argon2['variant']} m={argon2['memory_kib']} KiB, "
        f"t={argon2['time_cost']}, p={argon2['parallelism']}"
        + (f", library build {argon2['build']}" if "build" in argon2 else "")
        + (f"; one check takes {argon2['verify_ms']} ms here, alone (the floor of login's latency; it shows how fast "
           "the machine is at the moment)." if "verify_ms" in argon2 else "."),
        f"- Each run: {s['warmup_s']} s warm-up (discarded), then {s['duration_s']} s measured, wrk with 2 threads. "
        "Servers one at a time, never both under load. Access logging off for both (no gunicorn access log, "
        "LOG_LEVEL=WARNING). The app runs at most one password hash per CPU at once, all workers together, and "
        "queues the rest in arrival order.",
    ]
    for profile in profiles:
        role = "headline: decides PASS/FAIL" if profile.headline else "for comparison"
        ratio = f"{profile.ratio:.2f}" if profile.ratio is not None else "n/a"
        lines += ["", f"**{profile.name}** ({role}): `gunicorn {profile.gunicorn}`, me/hello ratio **{ratio}**", "",
                  "| " + " | ".join(TABLE_HEADER) + " |", "|---|---:|---:|---:|---:|---:|---:|---|"]
        lines += ["| " + " | ".join(_row(run)) + " |" for run in profile.runs.values()]
        lines += ["", "| target | measured | result |", "|---|---|---|"]
        lines += [f"| {t.name} | {t.measured} | {'PASS' if t.passed else 'FAIL'} |" for t in profile.targets]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument("--profile", action="append", required=True, metavar="NAME=GUNICORN_ARGS")
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--warmup", type=float, required=True)
    parser.add_argument("--no-record", action="store_true", help="do not touch bench/RESULTS.md, bench/results.json")
    args = parser.parse_args()

    prepared = json.loads((args.out_dir / "prepared.json").read_text())
    busy_file = args.out_dir / "cpu_busy_before.txt"
    busy_before = f"{busy_file.read_text().strip()} %" if busy_file.exists() else "unknown"
    profiles = []
    for index, spec in enumerate(args.profile):
        name, _, gunicorn = spec.partition("=")
        profile = Profile(name=name, gunicorn=gunicorn, headline=index == 0)
        profile.runs = {key: parse_wrk_output(args.out_dir / f"{name}.{key}.txt", key) for key in ENDPOINTS}
        evaluate(profile)
        profiles.append(profile)

    errors = [f"{p.name} {ENDPOINTS[r.endpoint]}: {e}" for p in profiles for r in p.runs.values() for e in r.errors]
    passed = all(t.passed for t in profiles[0].targets) and not errors
    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "passed": passed,
        "machine": {**machine_facts(), "cpu_busy_before": busy_before},
        "database": prepared["database"],
        "argon2": prepared["argon2"],
        "settings": {"duration_s": args.duration, "warmup_s": args.warmup, "access_log": "off",
                     "log_level": "WARNING", "raw_output": str(args.out_dir.relative_to(REPO_ROOT))},
        "profiles": [asdict(p) for p in profiles],
    }
    (args.out_dir / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    if not args.no_record:
        RESULTS_JSON.write_text(json.dumps(report, indent=2) + "\n")
        existing = RESULTS_MD.read_text() if RESULTS_MD.exists() else RESULTS_MD_HEADER
        RESULTS_MD.write_text(existing.rstrip("\n") + "\n\n" + markdown_section(report, profiles))

    for profile in profiles:
        role = "headline" if profile.headline else "for comparison"
        ratio = f"{profile.ratio:.2f}" if profile.ratio is not None else "n/a"
        print(f"\n== {profile.name} ({role}): gunicorn {profile.gunicorn}")
        print(console_table(profile))
        print(f"me/hello ratio: {ratio}")
        for target in profile.targets:
            print(f"  {'PASS' if target.passed else 'FAIL'}  {target.name}: {target.measured}")
    if errors:
        print("\n!!! ERRORS: the runs below had failed requests; their figures do not count !!!", file=sys.stderr)
        for error in errors:
            print(f"!!!   {error}", file=sys.stderr)
    recorded = "bench/RESULTS.md and bench/results.json" if not args.no_record else "nothing (BENCH_RECORD=0)"
    print(f"\n{'PASS' if passed else 'FAIL'} (headline: {profiles[0].name}); recorded in {recorded}; "
          f"raw output in {report['settings']['raw_output']}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
