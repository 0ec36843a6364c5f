"""The load test (bench/run-load): many guests and staff at once, each doing what the apps do, against gunicorn.

    python bench/load.py prepare --database-url URL --out-dir DIR --hotels N --guests-per-hotel N
        Creates the tables and the bench chain of bench/prepare_stays.py (50 hotels, 365 nights of counters; reused
        when present), then in N of its hotels: a room-service menu item, a hotel manager, and guests checked in
        (a stay with a room and an open folio each). Opens a session per guest and manager and writes DIR/load.json
        (tokens, stays, bookable stays for new bookings).
    python bench/load.py run --base-url URL --out-dir DIR --duration S --guests N --staff N
        N guest threads and N staff threads, each on its own keep-alive connection, for S seconds:
          guest: GET /me, availability search in the hotel's city, POST /bookings (Idempotency-Key),
                 POST /requests (room service, Idempotency-Key), GET /stays/{id}/folio, GET /requests
          staff: GET /staff/queue (a page of new requests of the hotel), then acknowledge, start and complete one
        Writes DIR/load-results.json: per endpoint the count, req/s, p50/p99 and the answers that are errors.
        A 409 is an expected conflict, not an error, in two places only: a booking of a room type that others
        filled meanwhile (sold_out) and a request another staff member took first (invalid_transition).
    python bench/load.py report --out-dir DIR --command CMD [--no-record]
        Prints the table and appends it to bench/load-RESULTS.md; exits 1 on any error or 5xx.

Run from the repository root with the repository on PYTHONPATH (bench/run-load does).
"""

from __future__ import annotations

import argparse
import http.client
import json
import platform
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy import select

from app.bookings.models import Booking, Folio
from app.core import clock
from app.core.auth import PrincipalKind, Role
from app.core.db import unit_of_work
from app.extensions import db
from app.guests.models import Guest, GuestHotelLink, GuestSource
from app.hotels.models import Chain, Hotel, Room
from app.identity.services import ClientInfo, open_session, set_password
from app.requests.models import CatalogItem
from app.staff.models import StaffMember
from bench import prepare_stays

RESULTS = Path(__file__).resolve().parent / "load-RESULTS.md"
GUEST_MIX = [("me", 25), ("search", 15), ("book", 10), ("request", 20), ("folio", 20), ("my_requests", 10)]
CONFLICTS = {"book": {"sold_out", "price_changed"}, "staff_action": {"invalid_transition"}}


# ------------------------------------------------------------------------------------------ prepare


def prepare(database_url: str, out_dir: Path, hotels: int, guests_per_hotel: int) -> None:
    app = prepare_stays._app(database_url)
    rng = random.Random(9)
    with app.app_context(), app.test_request_context():
        db.create_all()
        if db.session.scalars(select(Chain).where(Chain.code == prepare_stays.CHAIN_CODE)).one_or_none() is None:
            with unit_of_work():
                prepare_stays.build_chain(rng, first_night=clock.now().date())
        chain_id = db.session.scalar(select(Chain.id).where(Chain.code == prepare_stays.CHAIN_CODE))
        plan_path = out_dir / "stays_plan.txt"
        prepare_stays.write_plan(rng, chain_id, out_dir, "Moscow")
        bookable = [json.loads(line[5:]) for line in plan_path.read_text().splitlines() if line.startswith("stay ")]
        hotel_rows = db.session.scalars(select(Hotel).where(Hotel.chain_id == chain_id).order_by(Hotel.id)
                                        .limit(hotels)).all()
        plan = {"hotels": [], "bookable": bookable}
        run_tag = uuid.uuid4().hex[:8]  # a reused PostgreSQL database gets new guests and staff each run
        for hotel in hotel_rows:
            plan["hotels"].append(_prepare_hotel(hotel, guests_per_hotel, run_tag))
        db.session.remove()
        db.engine.dispose()
    (out_dir / "load.json").write_text(json.dumps(plan))
    print(f"   {len(plan['hotels'])} hotels x {guests_per_hotel} guests in house, {len(bookable)} bookable stays",
          file=sys.stderr)


def _prepare_hotel(hotel: Hotel, guests: int, tag: str) -> dict[str, Any]:
    today = clock.now().date()
    with unit_of_work():
        item = CatalogItem(hotel_id=hotel.id, type="room_service", code=f"tea-{tag}",
                           name={"en": "Tea", "ru": "Чай"}, price=30000)
        manager = StaffMember(email=f"manager-{tag}-{hotel.id}@bench.example.com", full_name="Bench Manager",
                              role=Role.HOTEL_MANAGER.value)
        manager.hotels = [hotel]
        set_password(manager, "bench-password-correct-horse")
        db.session.add_all([item, manager])
        occupied = select(Booking.room_id).where(Booking.status == "in_house", Booking.room_id.is_not(None))
        rooms = db.session.scalars(select(Room).where(Room.hotel_id == hotel.id, Room.id.not_in(occupied))
                                   .order_by(Room.id.desc()).limit(guests)).all()
        stays = []
        for n, room in enumerate(rooms):
            guest = Guest(email=f"guest-{tag}-{hotel.id}-{n}@bench.example.com", first_name="Bench",
                          last_name=f"Guest{n}", language="en", source=GuestSource.APP.value)
            db.session.add(guest)
            db.session.flush()
            booking = Booking(reference=f"L{tag[:4]}{hotel.id:03d}{n:03d}", guest_id=guest.id, hotel_id=hotel.id,
                              room_type_id=room.room_type_id, room_id=room.id, check_in=today,
                              check_out=today + timedelta(days=3), status="in_house", currency="RUB",
                              total_amount=0, checked_in_at=clock.now())
            db.session.add(booking)
            db.session.flush()
            db.session.add(Folio(booking_id=booking.id, currency="RUB"))
            db.session.add(GuestHotelLink(guest_id=guest.id, hotel_id=hotel.id, reason="booking"))
            stays.append((guest.id, booking.id))
    with unit_of_work():
        manager_token = _token(PrincipalKind.STAFF, manager.id)
        guest_entries = [{"token": _token(PrincipalKind.GUEST, guest_id), "stay_id": stay_id}
                         for guest_id, stay_id in stays]
    return {"hotel_id": hotel.id, "city": hotel.city, "item_id": item.id, "manager_token": manager_token,
            "guests": guest_entries}


def _token(kind: PrincipalKind, principal_id: int) -> str:
    return open_session(kind=kind, principal_id=principal_id, method="password", client=ClientInfo()).access_token


# ------------------------------------------------------------------------------------------ run


class Recorder:
    """Latencies and answers per endpoint, shared by the threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.conflicts: dict[str, int] = defaultdict(int)

    def record(self, endpoint: str, seconds: float, status: int, body: Any) -> None:
        code = body.get("code") if isinstance(body, dict) else None
        with self.lock:
            self.latencies[endpoint].append(seconds)
            if 200 <= status < 300:
                return
            if status == 409 and code in CONFLICTS.get(endpoint, ()):
                self.conflicts[endpoint] += 1
            else:
                self.errors[endpoint][f"{status} {code or ''}".strip()] += 1


class Client:
    """One keep-alive HTTP/1.1 connection, reopened when the server closes it."""

    def __init__(self, base_url: str, token: str, recorder: Recorder) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.token, self.recorder = token, recorder
        self.connection: http.client.HTTPConnection | None = None

    def call(self, endpoint: str, method: str, path: str, body: Any = None, key: bool = False) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", "Accept-Language": "en"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if key:
            headers["Idempotency-Key"] = uuid.uuid4().hex
        started = time.perf_counter()
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
            self.connection.request(method, path, body=data, headers=headers)
            response = self.connection.getresponse()
            raw = response.read()
            status = response.status
            if response.getheader("Connection", "").lower() == "close":
                self.connection.close()
                self.connection = None
        except (OSError, http.client.HTTPException) as error:
            self.recorder.record(endpoint, time.perf_counter() - started, 0, {"code": type(error).__name__})
            self.connection = None
            return None
        parsed = json.loads(raw) if raw else None
        self.recorder.record(endpoint, time.perf_counter() - started, status, parsed)
        return parsed if 200 <= status < 300 else None


def guest_loop(client: Client, guest: dict, hotel: dict, bookable: list[dict], stop: threading.Event,
               rng: random.Random) -> None:
    names, weights = zip(*GUEST_MIX, strict=True)
    stay, today = guest["stay_id"], clock.now().date()
    city = quote(hotel["city"])
    while not stop.is_set():
        action = rng.choices(names, weights)[0]
        if action == "me":
            client.call("me", "GET", "/api/v1/me")
        elif action == "search":
            check_in = today + timedelta(days=rng.randrange(2, 300))
            client.call("search", "GET", f"/api/v1/availability?city={city}&check_in={check_in}"
                        f"&check_out={check_in + timedelta(days=rng.choice((2, 3, 4)))}&guests=2")
        elif action == "book":
            client.call("book", "POST", "/api/v1/bookings", rng.choice(bookable), key=True)
        elif action == "request":
            client.call("request", "POST", "/api/v1/requests", {
                "stay_id": stay, "type": "room_service", "items": [{"item_id": hotel["item_id"], "quantity": 1}]},
                key=True)
        elif action == "folio":
            client.call("folio", "GET", f"/api/v1/stays/{stay}/folio")
        else:
            client.call("my_requests", "GET", "/api/v1/requests?limit=20")


def staff_loop(client: Client, hotel: dict, stop: threading.Event, rng: random.Random) -> None:
    while not stop.is_set():
        page = client.call("staff_queue", "GET", f"/api/v1/staff/queue?hotel_id={hotel['hotel_id']}&status=new"
                           "&limit=20")
        items = (page or {}).get("items") or []
        if not items:
            stop.wait(0.05)  # nothing new: look again shortly, as the console's stream would tell it
            continue
        request_id = rng.choice(items)["id"]
        for action in ("acknowledge", "start", "complete"):
            if client.call("staff_action", "POST", f"/api/v1/staff/requests/{request_id}/actions/{action}", {}) is None:
                break


def run(base_url: str, out_dir: Path, duration: float, guests: int, staff: int) -> None:
    plan = json.loads((out_dir / "load.json").read_text())
    recorder, stop = Recorder(), threading.Event()
    everyone = [(hotel, guest) for hotel in plan["hotels"] for guest in hotel["guests"]]
    threads = []
    for n in range(guests):
        hotel, guest = everyone[n % len(everyone)]
        client = Client(base_url, guest["token"], recorder)
        threads.append(threading.Thread(target=guest_loop, daemon=True, args=(
            client, guest, hotel, plan["bookable"], stop, random.Random(n))))
    for n in range(staff):
        hotel = plan["hotels"][n % len(plan["hotels"])]
        client = Client(base_url, hotel["manager_token"], recorder)
        threads.append(threading.Thread(target=staff_loop, daemon=True, args=(client, hotel, stop,
                                                                              random.Random(1000 + n))))
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(duration)
    stop.set()
    for thread in threads:
        thread.join(timeout=35)
    elapsed = time.perf_counter() - started
    endpoints = {}
    for name, values in sorted(recorder.latencies.items()):
        values.sort()
        endpoints[name] = {"count": len(values), "rps": round(len(values) / elapsed, 1),
                           "p50_ms": round(_percentile(values, 0.50) * 1000, 1),
                           "p99_ms": round(_percentile(values, 0.99) * 1000, 1),
                           "errors": dict(recorder.errors.get(name, {})), "conflicts": recorder.conflicts.get(name, 0)}
    results = {"elapsed_s": round(elapsed, 1), "guests": guests, "staff": staff, "endpoints": endpoints}
    (out_dir / "load-results.json").write_text(json.dumps(results, indent=2) + "\n")


def _percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0


# ------------------------------------------------------------------------------------------ report


def report(out_dir: Path, command: str, record: bool) -> int:
    results = json.loads((out_dir / "load-results.json").read_text())
    meta = json.loads((out_dir / "meta.json").read_text())
    rows = results["endpoints"]
    errors = sum(sum(row["errors"].values()) for row in rows.values())
    server_errors = sum(n for row in rows.values() for answer, n in row["errors"].items()
                        if answer[:1] in {"5", "0"})
    total = sum(row["count"] for row in rows.values())
    lines = [f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {'PASS' if errors == 0 else 'FAIL'}", "",
             f"- command: `{command}`",
             f"- machine: {meta['cpus']} CPUs ({meta['cpu_model']}), Python {platform.python_version()}; "
             f"CPU busy {meta['cpu_busy_before']}% in the second before the run, load average "
             f"{meta['loadavg_before']} before and {meta['loadavg_after']} after (other work on the machine skews "
             "every figure; the load driver itself runs on the same CPUs)",
             f"- server: gunicorn {meta['gunicorn']}; database: {meta['database']}; commit {meta['commit']}",
             f"- load: {results['guests']} guests and {results['staff']} staff, each on its own keep-alive "
             f"connection, for {results['elapsed_s']} s: {total} requests, {total / results['elapsed_s']:.0f} req/s",
             "", "| endpoint | requests | req/s | p50 ms | p99 ms | expected 409 | errors |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for name, row in rows.items():
        shown = ", ".join(f"{answer}: {n}" for answer, n in row["errors"].items()) or "0"
        lines.append(f"| {name} | {row['count']} | {row['rps']} | {row['p50_ms']} | {row['p99_ms']} | "
                     f"{row['conflicts']} | {shown} |")
    lines += ["", f"errors: {errors} (of which 5xx or no answer: {server_errors}); target: zero", ""]
    text = "\n".join(lines)
    print(text)
    if record:
        if not RESULTS.exists():
            RESULTS.write_text("# Load test results (bench/run-load)\n\nNewest last. See bench/README.md.\n\n")
        with RESULTS.open("a") as results_file:
            results_file.write(text + "\n")
    return 0 if errors == 0 else 1


def describe_machine(out_dir: Path, extra: dict[str, Any]) -> None:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            check=False).stdout.strip()
    meta = {"cpu_model": model, "commit": commit or "unknown", **extra}
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    prepare_cmd = commands.add_parser("prepare")
    prepare_cmd.add_argument("--database-url", required=True)
    prepare_cmd.add_argument("--hotels", type=int, default=4)
    prepare_cmd.add_argument("--guests-per-hotel", type=int, default=25)
    run_cmd = commands.add_parser("run")
    run_cmd.add_argument("--base-url", required=True)
    run_cmd.add_argument("--duration", type=float, default=30)
    run_cmd.add_argument("--guests", type=int, default=40)
    run_cmd.add_argument("--staff", type=int, default=8)
    meta_cmd = commands.add_parser("meta")
    meta_cmd.add_argument("--json", required=True, help="what the shell knows: cpus, load, gunicorn, database")
    report_cmd = commands.add_parser("report")
    report_cmd.add_argument("--command", dest="shell_command", required=True)
    report_cmd.add_argument("--no-record", action="store_true")
    for command in (prepare_cmd, run_cmd, meta_cmd, report_cmd):
        command.add_argument("--out-dir", type=Path, required=True)
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.database_url, args.out_dir, args.hotels, args.guests_per_hotel)
    elif args.command == "run":
        run(args.base_url, args.out_dir, args.duration, args.guests, args.staff)
    elif args.command == "meta":
        describe_machine(args.out_dir, json.loads(args.json))
    else:
        sys.exit(report(args.out_dir, args.shell_command, not args.no_record))


if __name__ == "__main__":
    main()
