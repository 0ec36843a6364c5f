"""Turn bench/run-stays's raw output into a table, the issue's verdicts, bench/stays-results.json and a
bench/stays-RESULTS.md entry.

    python bench/report_stays.py --out-dir DIR --duration S --warmup S --gunicorn ARGS [--no-record]

DIR holds prepared_stays.json (bench/prepare_stays.py db), the wrk outputs hello.txt, search_chain.txt,
search_city.txt, book.txt and book_nokey.txt (each ending with a BENCH_JSON line), and profile.json when the
profile ran. Errors fail the run whatever the figures: a socket error or timeout, a run without output, a search
answered outside 200-299, a booking answered outside 200-299 other than 409 sold_out, or 409s on more than 1 % of
the bookings (the plan spreads them so that they rarely sell out). Results are written before the exit status.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import machine_facts

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_MD = BENCH_DIR / "stays-RESULTS.md"
RESULTS_JSON = BENCH_DIR / "stays-results.json"

# The targets (issue 3, "Done when", last bullet).
SEARCH_P99_MS = 50.0
MIN_BOOKING_RATIO = 0.25
MAX_SOLD_OUT_SHARE = 0.01

RUNS = {
    "hello": "GET /hello (hello app)",
    "search_chain": "GET /api/v1/availability, whole chain",
    "search_city": "GET /api/v1/availability, one city",
    "book": "POST /api/v1/bookings, Idempotency-Key",
    "book_nokey": "POST /api/v1/bookings, no key",
}
RESULTS_MD_HEADER = """# Stays benchmark results

Appended by `bench/run-stays` (see the end of `bench/README.md`), newest last. Compare ratios across machines,
not req/s.
"""
TABLE_HEADER = ["run", "connections", "per worker", "req/s", "p50 ms", "p90 ms", "p99 ms", "non-2xx (409)", "errors"]


@dataclass
class Run:
    name: str
    connections: int | None = None
    stats: dict[str, Any] | None = None  # the BENCH_JSON line
    spread: str = "?"
    problem: str | None = None

    @property
    def label(self) -> str:
        return RUNS[self.name]

    @property
    def errors(self) -> list[str]:
        if self.stats is None:
            return [self.problem or "no output"]
        stats, found = self.stats, []
        conflicts = stats.get("status_409", 0) if self.name.startswith("book") else 0
        if stats["non_2xx"] - conflicts:
            found.append(f"{stats['non_2xx'] - conflicts} non-2xx (first: {stats['first_bad_status'] or 409})")
        if conflicts > MAX_SOLD_OUT_SHARE * max(1, stats["requests"]):
            found.append(f"{conflicts} sold_out (409) > {MAX_SOLD_OUT_SHARE:.0%} of the bookings")
        if self.name == "search_chain" and stats.get("empty", 0):
            found.append(f"{stats['empty']} searches found no hotel")
        found += [f"{count} socket {kind}" for kind, count in stats["socket_errors"].items() if count]
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


def parse_wrk_output(path: Path, name: str) -> Run:
    run = Run(name=name)
    if not path.exists():
        run.problem = "not run"
        return run
    text = path.read_text(errors="replace")
    shape = re.search(r"(\d+) threads and (\d+) connections", text)
    if shape:
        run.connections = int(shape.group(2))
    line = next((ln for ln in text.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        last = text.strip().splitlines()[-1:] or ["empty output"]
        run.problem = f"wrk gave no result ({last[0][:120]})"
    else:
        run.stats = json.loads(line.removeprefix("BENCH_JSON "))
    spread_file = path.with_suffix(".connections.txt")
    if spread_file.exists():
        run.spread = spread_file.read_text().strip() or "n/a"
    return run


def evaluate(runs: dict[str, Run], search_connections: int) -> tuple[list[Target], dict[str, float | None]]:
    hello, chain, book, nokey = runs["hello"], runs["search_chain"], runs["book"], runs["book_nokey"]
    ratios: dict[str, float | None] = {}
    for name, run in (("book", book), ("book_nokey", nokey)):
        ratios[name] = run.stat("rps") / hello.stat("rps") if run.stats and hello.stats and hello.stat("rps") else None
    ratio = ratios["book"]
    targets = [
        _target(f"{chain.label}: p99 < {SEARCH_P99_MS:g} ms at {search_connections} connections",
                f"{chain.stat('p99_ms'):.1f} ms", [chain],
                chain.connections == search_connections and chain.stat("p99_ms") < SEARCH_P99_MS),
        _target(f"{book.label}: req/s >= {MIN_BOOKING_RATIO} x {hello.label}",
                f"{ratio:.3f}x ({book.stat('rps'):.1f} / {hello.stat('rps'):.1f})" if ratio is not None else "n/a",
                [hello, book], ratio is not None and ratio >= MIN_BOOKING_RATIO),
    ]
    return targets, ratios


def _target(name: str, measured: str, runs: list[Run], met: bool) -> Target:
    failed = [run.label for run in runs if not run.ok]
    if failed:
        measured += f" (errors in: {', '.join(failed)})"
    return Target(name=name, measured=measured, passed=met and not failed)


def _row(run: Run) -> list[str]:
    connections = str(run.connections) if run.connections is not None else "?"
    numbers = [f"{run.stat('rps'):.1f}"] + [f"{run.stat(key):.2f}" for key in ("p50_ms", "p90_ms", "p99_ms")]
    bad = f"{run.stats['non_2xx']} ({run.stats.get('status_409', 0)})" if run.stats else "?"
    return [run.label, connections, run.spread, *numbers, bad, ", ".join(run.errors) or "0"]


def console_table(runs: dict[str, Run]) -> str:
    rows = [TABLE_HEADER] + [_row(run) for run in runs.values()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_HEADER))]
    lines = ["  ".join(cell.rjust(w) if 0 < i < 8 else cell.ljust(w) for i, (cell, w) in
                       enumerate(zip(row, widths, strict=True))).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _profile_lines(profile: dict[str, Any] | None) -> list[str]:
    if not profile:
        return ["- Profile: not run (BENCH_PROFILE_REQUESTS=0)."]
    lines = []
    for name, label in (("search_chain", RUNS["search_chain"]), ("book", RUNS["book"])):
        result = profile[name]
        where = "; ".join(f"{row['what']} {row['ms_per_request']}"
                          + (f" ({row['calls_per_request']:g} calls)" if row["calls_per_request"] != 1 else "")
                          for row in result["where"])
        lines.append(f"- In-process, {label}: {result['requests']} requests one at a time (Flask test client, no "
                     f"server): mean {result['mean_ms']} ms, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms. "
                     f"Where the time goes (timers around each part, ms per request): {where}. cProfile: "
                     f"`profile.{name}.txt` in the raw output.")
    return lines


def markdown_section(report: dict[str, Any], runs: dict[str, Run], targets: list[Target]) -> str:
    m, s, d = report["machine"], report["settings"], report["database"]
    dirty = " + uncommitted changes" if m["uncommitted_changes"] else ""
    ratios = report["ratios"]
    nokey = f"{ratios['book_nokey']:.3f}x" if ratios["book_nokey"] is not None else "n/a"
    lines = [
        f"## {report['date']}, commit {m['commit']}{dirty}: {'PASS' if report['passed'] else 'FAIL'}",
        "",
        f"- Command: `{report['command']}`.",
        f"- Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['os']}, kernel {m['kernel']}; "
        f"CPUs {m['cpu_busy_before']} busy in the second before the run, load average (1/5/15 min) "
        f"{m['loadavg'].get('before', '?')} before and {m['loadavg'].get('after', '?')} after (other work on the "
        f"machine counts there); wrk {m['wrk']} on the same machine (it shares the CPUs with the server).",
        f"- Software: Python {m['python']}, " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()) + ".",
        f"- Database: {d['database']}, {'built in bulk in ' + str(d['build_s']) + ' s' if d['built'] else 'reused'}: "
        f"{d['hotels']} hotels in {d['cities']} cities, {d['room_types']} room types, {d['rooms']} rooms, "
        f"{d['room_type_nights']} room-type nights {d['first_night']}..{d['last_night']}, "
        f"{d['booked_share']:.0%} of room-nights booked, {d['full_share']:.1%} of room-type nights full; "
        f"{d['guests']} bench guests.",
        f"- Load: searches for {d['search_guests']} guests, check-in any day {d['search_check_in'][0]}.."
        f"{d['search_check_in'][1]}, 3-7 nights; the city search in {d['city']} ({d['city_hotels']} hotels). "
        f"Bookings: {d['planned_stays']} planned stays of 1-4 nights over every hotel and room type, each leaving "
        f">= {d['booking_margin']} rooms free on its nights when planned, random guest token.",
        f"- Server: `gunicorn {s['gunicorn']}` (the Procfile's web process), one server at a time; each run "
        f"{s['warmup_s']} s warm-up (discarded), then {s['duration_s']} s measured, wrk with 2 threads. Access "
        "logging off (no gunicorn access log, LOG_LEVEL=WARNING).",
        "",
        "| " + " | ".join(TABLE_HEADER) + " |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    lines += ["| " + " | ".join(_row(run)) + " |" for run in runs.values()]
    lines += ["", "| target | measured | result |", "|---|---|---|"]
    lines += [f"| {t.name} | {t.measured} | {'PASS' if t.passed else 'FAIL'} |" for t in targets]
    lines += ["", f"- Bookings without Idempotency-Key / hello: {nokey}."]
    lines += _profile_lines(report.get("profile"))
    lines += [f"- Raw output: `{s['raw_output']}` (git-ignored)."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--warmup", type=float, required=True)
    parser.add_argument("--gunicorn", required=True)
    parser.add_argument("--search-connections", type=int, default=4)
    parser.add_argument("--command", default="bench/run-stays")
    parser.add_argument("--no-record", action="store_true",
                        help="do not touch bench/stays-RESULTS.md, bench/stays-results.json")
    args = parser.parse_args()

    prepared = json.loads((args.out_dir / "prepared_stays.json").read_text())
    busy_file = args.out_dir / "cpu_busy_before.txt"
    busy_before = f"{busy_file.read_text().strip()} %" if busy_file.exists() else "unknown"
    loadavg = {when: (args.out_dir / f"loadavg_{when}.txt").read_text().strip()
               for when in ("before", "after") if (args.out_dir / f"loadavg_{when}.txt").exists()}
    profile_file = args.out_dir / "profile.json"
    runs = {name: parse_wrk_output(args.out_dir / f"{name}.txt", name) for name in RUNS}
    targets, ratios = evaluate(runs, args.search_connections)
    errors = [f"{run.label}: {error}" for run in runs.values() for error in run.errors]
    passed = all(t.passed for t in targets) and not errors
    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "passed": passed,
        "command": args.command,
        "machine": {**machine_facts(), "cpu_busy_before": busy_before, "loadavg": loadavg},
        "database": prepared,
        "settings": {"gunicorn": args.gunicorn, "duration_s": args.duration, "warmup_s": args.warmup,
                     "access_log": "off", "log_level": "WARNING",
                     "raw_output": str(args.out_dir.resolve().relative_to(REPO_ROOT))},
        "runs": {name: asdict(run) for name, run in runs.items()},
        "ratios": ratios,
        "targets": [asdict(t) for t in targets],
        "profile": json.loads(profile_file.read_text()) if profile_file.exists() else None,
    }
    (args.out_dir / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    if not args.no_record:
        RESULTS_JSON.write_text(json.dumps(report, indent=2) + "\n")
        existing = RESULTS_MD.read_text() if RESULTS_MD.exists() else RESULTS_MD_HEADER
        RESULTS_MD.write_text(existing.rstrip("\n") + "\n\n" + markdown_section(report, runs, targets))

    print(f"\n== gunicorn {args.gunicorn}")
    print(console_table(runs))
    for name, ratio in ratios.items():
        print(f"{RUNS[name]} / hello: {ratio:.3f}x" if ratio is not None else f"{RUNS[name]} / hello: n/a")
    for target in targets:
        print(f"  {'PASS' if target.passed else 'FAIL'}  {target.name}: {target.measured}")
    if errors:
        print("\n!!! ERRORS: the runs below had failed requests; their figures do not count !!!", file=sys.stderr)
        for error in errors:
            print(f"!!!   {error}", file=sys.stderr)
    recorded = "bench/stays-RESULTS.md and bench/stays-results.json" if not args.no_record else \
        "nothing (BENCH_RECORD=0)"
    print(f"\n{'PASS' if passed else 'FAIL'}; recorded in {recorded}; raw output in {report['settings']['raw_output']}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
