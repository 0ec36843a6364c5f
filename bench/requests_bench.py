"""Benchmarks of the request queue (issue "In-stay service requests"); bench/run-requests runs them all.

    python bench/requests_bench.py queue --database-url PG_URL --out FILE [--small 1000] [--large 1000000]
        (a) The first page of a hotel's open queue (GET /api/v1/staff/queue?hotel_id=, in process, the whole
        Flask stack) with `small` and then `large` historical (closed) requests in the table, bulk-inserted with
        SQL. Drops and recreates every table of the database it is given: point it at a throwaway one.
    python bench/requests_bench.py prepare-create --database-url URL --out-dir DIR
        (b) A hotel, a checked-in guest and a dish; writes DIR/create_body.json and DIR/create_token.txt for wrk.
    python bench/requests_bench.py writers --database-url SQLITE_URL --out FILE [--threads 16] [--per-thread 40]
        (c) `threads` concurrent writers, each with its own connection, create requests and acknowledge them
        through the app; counts every answer that is not 2xx and every "database is locked".
    python bench/requests_bench.py report --out-dir DIR [--no-record]
        Prints the figures and verdicts and appends them to bench/requests-RESULTS.md.

Run from the repository root with the repository on PYTHONPATH (bench/run-requests does).
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import statistics
import subprocess
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, text, true

from app import create_app
from app.bookings.models import Booking, Folio
from app.core.auth import PrincipalKind, Role
from app.core.db import unit_of_work
from app.extensions import db
from app.guests.models import Guest, GuestHotelLink, GuestSource
from app.hotels.models import Chain, Hotel, Room, RoomType
from app.identity import services as identity
from app.identity.services import ClientInfo
from app.requests.models import CatalogItem, ServiceRequest
from app.staff.models import StaffMember

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "requests-RESULTS.md"
QUEUE_RATIO_TARGET = 1.5
CREATE_RATIO_TARGET = 0.35
CREATE_P99_TARGET_MS = 50.0


# -- setup shared by every benchmark -------------------------------------------------------------------------------

def make_app(database_url: str) -> Any:
    return create_app("development", {"SQLALCHEMY_DATABASE_URI": database_url})


def build_world(tag: str = "b") -> dict[str, Any]:
    """A hotel with a room, a checked-in guest, a front-desk clerk and a dish; returns ids and tokens."""
    with unit_of_work():
        chain = Chain(code=f"chain-{tag}", name="Bench chain")
        db.session.add(chain)
        db.session.flush()
        hotel = Hotel(chain_id=chain.id, code=f"hotel-{tag}", name={"en": "Bench hotel"}, city="Sochi", country="RU",
                      time_zone="Europe/Moscow", currency="RUB")
        db.session.add(hotel)
        db.session.flush()
        room_type = RoomType(hotel_id=hotel.id, code="std", name={"en": "Standard"}, max_occupancy=2)
        db.session.add(room_type)
        db.session.flush()
        room = Room(hotel_id=hotel.id, room_type_id=room_type.id, number="305", floor=3)
        guest = Guest(email=f"guest-{tag}@example.com", first_name="Bench", language="en",
                      source=GuestSource.APP.value)
        clerk = StaffMember(email=f"desk-{tag}@example.com", full_name="Desk", role=Role.FRONT_DESK.value,
                            hotels=[hotel])
        dish = CatalogItem(hotel_id=hotel.id, type="room_service", code="borscht", name={"en": "Borscht"},
                           price=45000)
        db.session.add_all([room, guest, clerk, dish])
        db.session.flush()
        today = datetime.now(UTC).date()
        stay = Booking(reference=f"B{tag[:10]}", guest_id=guest.id, hotel_id=hotel.id, room_type_id=room_type.id,
                       room_id=room.id, check_in=today, check_out=today + timedelta(days=30), status="in_house",
                       currency="RUB", total_amount=0, checked_in_at=datetime.now(UTC))
        db.session.add(stay)
        db.session.flush()
        db.session.add_all([Folio(booking_id=stay.id, currency="RUB"),
                            GuestHotelLink(guest_id=guest.id, hotel_id=hotel.id, reason="booking")])
    with unit_of_work():
        guest_token = identity.open_session(kind=PrincipalKind.GUEST, principal_id=guest.id, method="password",
                                            client=ClientInfo()).access_token
        staff_token = identity.open_session(kind=PrincipalKind.STAFF, principal_id=clerk.id, method="password",
                                            client=ClientInfo()).access_token
    return {"hotel_id": hotel.id, "stay_id": stay.id, "guest_id": guest.id, "room_id": room.id, "dish_id": dish.id,
            "guest_token": guest_token, "staff_token": staff_token}


def create_body(world: dict[str, Any]) -> dict[str, Any]:
    return {"stay_id": world["stay_id"], "type": "room_service", "items": [{"item_id": world["dish_id"],
                                                                            "quantity": 1}]}


# -- (a) the open queue with a large history ----------------------------------------------------------------------

HISTORY_SQL = """
INSERT INTO service_requests (hotel_id, booking_id, guest_id, room_id, room_number, type, department, status,
    details, total_amount, currency, created_by_kind, acknowledge_due_at, complete_due_at, due_at, is_open,
    is_paused, paused_seconds, waiting_dnd, sla_breached, escalation_level, acknowledged_at, completed_at,
    closed_at, created_at, updated_at)
SELECT :hotel_id, :stay_id, :guest_id, :room_id, '305',
    (ARRAY['room_service','laundry','repair','housekeeping'])[1 + g % 4],
    (ARRAY['kitchen','laundry','maintenance','housekeeping'])[1 + g % 4],
    CASE WHEN g % 10 = 0 THEN 'cancelled' ELSE 'done' END, '{}', 0, 'RUB', 'guest',
    ts + interval '5 minutes', ts + interval '45 minutes', ts + interval '45 minutes', :is_open, false, 0, false,
    g % 7 = 0, 0, ts + interval '2 minutes', ts + interval '30 minutes', ts + interval '30 minutes', ts, ts
FROM (SELECT g, timestamp '2024-01-01' + g * interval '20 seconds' AS ts
      FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) g) s
"""


def insert_history(world: dict[str, Any], first: int, last: int, *, is_open: bool = False) -> None:
    with unit_of_work():
        db.session.execute(text(HISTORY_SQL), {**{k: world[k] for k in ("hotel_id", "stay_id", "guest_id",
                                                                          "room_id")},
                                              "first": first, "last": last, "is_open": is_open})
    if is_open:  # open requests: new, due in the future (the queue's first page)
        with unit_of_work():
            db.session.execute(text(
                "UPDATE service_requests SET status = 'new', completed_at = NULL, closed_at = NULL, "
                "acknowledged_at = NULL, due_at = now() AT TIME ZONE 'UTC' + (id % 500) * interval '1 minute' "
                "WHERE is_open AND status <> 'new'"))


def time_queue(client: Any, url: str, headers: dict[str, str], samples: int) -> dict[str, float]:
    for _ in range(50):  # warm-up: caches, pool, plans
        assert client.get(url, headers=headers).status_code == 200
    durations = []
    for _ in range(samples):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        durations.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and len(response.json["items"]) == 20, response.json
    durations.sort()
    return {"median_ms": round(statistics.median(durations), 3),
            "p95_ms": round(durations[int(0.95 * len(durations)) - 1], 3), "samples": samples}


def explain_queue(hotel_id: int) -> str:
    stmt = (select(ServiceRequest).where(ServiceRequest.hotel_id == hotel_id, ServiceRequest.is_open == true())
            .order_by(ServiceRequest.is_paused, ServiceRequest.due_at, ServiceRequest.id).limit(21))
    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
    rows = db.session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")).scalars()
    plan = "\n".join(rows)
    db.session.rollback()
    return plan


def bench_queue(database_url: str, out: Path, small: int, large: int, samples: int) -> None:
    app = make_app(database_url)
    results: dict[str, Any] = {"small": small, "large": large, "open": 200, "other_hotel_open": 1000}
    with app.app_context():
        db.drop_all()
        db.create_all()
        world = build_world("queue")
        other = build_world("other")
        client = app.test_client()
        headers = {"Authorization": f"Bearer {world['staff_token']}"}
        url = f"/api/v1/staff/queue?hotel_id={world['hotel_id']}&limit=20"
        insert_history(other, 1, 1000, is_open=True)  # another hotel's open queue: the index must tell them apart
        insert_history(world, 1001, 1200, is_open=True)
        insert_history(world, 1201, 1200 + small)
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        results["with_small"] = time_queue(client, url, headers, samples)
        results["plan_small"] = explain_queue(world["hotel_id"])
        started = time.perf_counter()
        step = 250_000
        for first in range(1201 + small, 1201 + large, step):
            insert_history(world, first, min(first + step - 1, 1200 + large))
        with unit_of_work():
            db.session.execute(text("ANALYZE"))
        results["insert_seconds"] = round(time.perf_counter() - started, 1)
        results["rows"] = db.session.scalar(text("SELECT count(*) FROM service_requests"))
        db.session.commit()
        results["with_large"] = time_queue(client, url, headers, samples)
        results["plan_large"] = explain_queue(world["hotel_id"])
        results["ratio"] = round(results["with_large"]["median_ms"] / results["with_small"]["median_ms"], 3)
        results["index_used"] = "ix_service_requests_queue" in results["plan_large"] \
            and "Seq Scan" not in results["plan_large"]
        db.session.remove()
        db.engine.dispose()
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if not k.startswith("plan")}))


# -- (b) creation under gunicorn: the body and token for wrk --------------------------------------------------------

def prepare_create(database_url: str, out_dir: Path) -> None:
    app = make_app(database_url)
    with app.app_context():
        db.create_all()
        world = build_world(f"c{int(time.time())}")
        db.session.remove()
        db.engine.dispose()
    (out_dir / "create_body.json").write_text(json.dumps(create_body(world)))
    (out_dir / "create_token.txt").write_text(world["guest_token"])


# -- (c) concurrent writers on SQLite ------------------------------------------------------------------------------

class LockedCounter(logging.Handler):
    """Counts log records that mention a locked database (the error handler logs the OperationalError)."""

    def __init__(self) -> None:
        super().__init__()
        self.locked = 0

    def emit(self, record: logging.LogRecord) -> None:
        text_ = record.getMessage() + (str(record.exc_info[1]) if record.exc_info else "")
        if "database is locked" in text_:
            self.locked += 1


def bench_writers(database_url: str, out: Path, threads: int, per_thread: int) -> None:
    app = make_app(database_url)
    counter = LockedCounter()
    logging.getLogger().addHandler(counter)
    with app.app_context():
        db.drop_all()
        db.create_all()
        world = build_world("writers")
        db.session.remove()
    statuses: Counter[int] = Counter()
    exceptions: list[str] = []
    lock = threading.Lock()
    guest = {"Authorization": f"Bearer {world['guest_token']}"}
    staff = {"Authorization": f"Bearer {world['staff_token']}"}
    barrier = threading.Barrier(threads)

    def writer() -> None:
        client = app.test_client()
        barrier.wait()
        for _ in range(per_thread):
            try:
                created = client.post("/api/v1/requests", json=create_body(world), headers=guest)
                codes = [created.status_code]
                if created.status_code == 201:
                    codes.append(client.post(f"/api/v1/staff/requests/{created.json['id']}/actions/acknowledge",
                                             headers=staff).status_code)
            except Exception as error:  # counted and reported
                with lock:
                    exceptions.append(repr(error)[:300])
                continue
            with lock:
                statuses.update(codes)

    started = time.perf_counter()
    workers = [threading.Thread(target=writer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    with app.app_context():
        created = db.session.scalar(select(db.func.count()).select_from(ServiceRequest))
        db.session.remove()
        db.engine.dispose()
    results = {"threads": threads, "per_thread": per_thread, "writes": sum(statuses.values()),
               "statuses": dict(statuses), "exceptions": exceptions[:5], "exception_count": len(exceptions),
               "database_is_locked": counter.locked + sum("database is locked" in e for e in exceptions),
               "requests_in_table": created, "seconds": round(elapsed, 2),
               "writes_per_second": round(sum(statuses.values()) / elapsed, 1)}
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results))


# -- report --------------------------------------------------------------------------------------------------------

def _load(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.exists() else None


def _wrk(out_dir: Path, name: str) -> dict[str, Any] | None:
    path = out_dir / f"{name}.txt"
    if not path.exists():
        return None
    for line in path.read_text().splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line.removeprefix("BENCH_JSON "))
    return None


def _execution(plan: str) -> str:
    for line in plan.splitlines():
        if line.startswith("Execution Time:"):
            return line.removeprefix("Execution Time:").strip()
    return "?"


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=REPO).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(out_dir: Path, record: bool) -> int:
    lines, verdicts = [], []
    queue, writers = _load(out_dir / "queue.json"), _load(out_dir / "writers.json")
    hello, settings = _wrk(out_dir, "hello"), (out_dir / "settings.txt")
    if queue:
        ok = queue["ratio"] <= QUEUE_RATIO_TARGET and queue["index_used"]
        verdicts.append(ok)
        lines += [
            f"**(a) Open queue, first page (20), PostgreSQL** ({queue['rows']:,} rows in the end; history bulk-"
            f"inserted in {queue['insert_seconds']} s; {queue['with_small']['samples']} timed calls each, in "
            "process through the Flask test client)", "",
            "| history | median ms | p95 ms |", "|---:|---:|---:|",
            f"| {queue['small']:,} | {queue['with_small']['median_ms']} | {queue['with_small']['p95_ms']} |",
            f"| {queue['large']:,} | {queue['with_large']['median_ms']} | {queue['with_large']['p95_ms']} |", "",
            f"Ratio {queue['ratio']} (target <= {QUEUE_RATIO_TARGET}); plan uses ix_service_requests_queue: "
            f"{queue['index_used']}: **{_verdict(ok)}**. The SQL alone (EXPLAIN ANALYZE): "
            f"{_execution(queue['plan_small'])} with the small history, {_execution(queue['plan_large'])} with the "
            "large one; the rest of each call is the Flask stack (auth, serialisation).", "", "```",
            *[line for line in queue["plan_large"].splitlines()[:8]], "```", ""]
    for database, run in (("sqlite", "8"), ("sqlite", "32"), ("sqlite", "8-key"), ("postgresql", "8"),
                          ("postgresql", "32"), ("postgresql", "8-key")):
        create = _wrk(out_dir, f"create-{database}-{run}")
        connections, keyed = run.removesuffix("-key"), run.endswith("-key")
        if hello and create:
            ratio = create["rps"] / hello["rps"]
            ok = ratio >= CREATE_RATIO_TARGET and create["p99_ms"] < CREATE_P99_TARGET_MS and create["non_2xx"] == 0
            verdicts.append(ok)
            lines += [
                f"**(b) POST /api/v1/requests at {connections} connections"
                f"{', each with its own Idempotency-Key (as the app sends it)' if keyed else ''} vs GET /hello at 32** "
                f"(gunicorn `{settings.read_text().strip() if settings.exists() else '?'}`, {database}, wrk)", "",
                "| endpoint | req/s | p50 ms | p90 ms | p99 ms | non-2xx |", "|---|---:|---:|---:|---:|---:|",
                f"| GET /hello | {hello['rps']} | {hello['p50_ms']:.2f} | {hello['p90_ms']:.2f} | "
                f"{hello['p99_ms']:.2f} | {hello['non_2xx']} |",
                f"| POST /api/v1/requests | {create['rps']} | {create['p50_ms']:.2f} | {create['p90_ms']:.2f} | "
                f"{create['p99_ms']:.2f} | {create['non_2xx']} |", "",
                f"Ratio {ratio:.2f} (target >= {CREATE_RATIO_TARGET}), p99 {create['p99_ms']:.1f} ms (target < "
                f"{CREATE_P99_TARGET_MS:.0f}): **{_verdict(ok)}**", ""]
    bare = [(connections, _wrk(out_dir, f"bare-{connections}")) for connections in (8, 32)]
    if hello and any(run for _, run in bare):
        rows = []
        for connections, run in bare:
            app_run = _wrk(out_dir, f"create-sqlite-{connections}")
            if run and app_run:
                rows.append(f"| {connections} | {run['rps']} | {run['rps'] / hello['rps']:.2f} | {run['p99_ms']:.2f} | "
                            f"{run['non_2xx']} | {app_run['rps'] / run['rps']:.2f} |")
        lines += [
            "**For scale: the same write by hand, without the app** (bench/bare_write_app.py: token and session "
            "checked, body validated, same reads and five INSERTs in one SQLite transaction; same gunicorn settings, "
            "same file; not a target)", "",
            "| connections | req/s | x hello | p99 ms | non-2xx | the app's share of it |",
            "|---:|---:|---:|---:|---:|---:|", *rows, ""]
    if writers:
        ok = writers["database_is_locked"] == 0 and writers["exception_count"] == 0 and \
            set(writers["statuses"]) <= {"200", "201", 200, 201}
        verdicts.append(ok)
        lines += [
            f"**(c) {writers['threads']} concurrent writers on SQLite** (each: create a request, then acknowledge "
            f"it; {writers['per_thread']} rounds): {writers['writes']} writes in {writers['seconds']} s "
            f"({writers['writes_per_second']}/s), statuses {writers['statuses']}, \"database is locked\": "
            f"{writers['database_is_locked']}, exceptions: {writers['exception_count']}: **{_verdict(ok)}**", ""]
    status = "PASS" if verdicts and all(verdicts) else "FAIL"
    header = [f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {_commit()}: {status}", "",
              f"- Machine: {_cpus()} CPUs, {platform.platform()}, Python {platform.python_version()}; "
              f"CPUs {(out_dir / 'cpu_busy_before.txt').read_text().strip() if (out_dir / 'cpu_busy_before.txt').exists() else '?'} % "  # noqa: E501
              "busy in the second before the run (a shared machine: other work skews every figure).",
              f"- Command: `bench/run-requests` (raw output in bench/out/{out_dir.name}/).", ""]
    text_ = "\n".join(header + lines)
    print(text_)
    if record:
        if not RESULTS.exists():
            RESULTS.write_text("# Request queue benchmark results\n\nAppended by `bench/run-requests` (see "
                               "`bench/README.md`), newest last.\n\n")
        with RESULTS.open("a") as results:
            results.write(text_ + "\n")
    return 0 if status == "PASS" else 1


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    queue = commands.add_parser("queue")
    queue.add_argument("--database-url", required=True)
    queue.add_argument("--out", type=Path, required=True)
    queue.add_argument("--small", type=int, default=1_000)
    queue.add_argument("--large", type=int, default=1_000_000)
    queue.add_argument("--samples", type=int, default=300)
    prepare = commands.add_parser("prepare-create")
    prepare.add_argument("--database-url", required=True)
    prepare.add_argument("--out-dir", type=Path, required=True)
    writers = commands.add_parser("writers")
    writers.add_argument("--database-url", required=True)
    writers.add_argument("--out", type=Path, required=True)
    writers.add_argument("--threads", type=int, default=16)
    writers.add_argument("--per-thread", type=int, default=40)
    report_ = commands.add_parser("report")
    report_.add_argument("--out-dir", type=Path, required=True)
    report_.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    if args.command == "queue":
        bench_queue(args.database_url, args.out, args.small, args.large, args.samples)
    elif args.command == "prepare-create":
        prepare_create(args.database_url, args.out_dir)
    elif args.command == "writers":
        bench_writers(args.database_url, args.out, args.threads, args.per_thread)
    else:
        raise SystemExit(report(args.out_dir, record=not args.no_record))


if __name__ == "__main__":
    main()
