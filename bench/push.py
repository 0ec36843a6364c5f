"""Push benchmark (issue 6): segment over 1,000,000 guests on PostgreSQL; sending to the local FCM-compatible server.

    .venv/bin/python bench/push.py                  # both parts; PostgreSQL from scripts/lib.sh on $BENCH_PG_PORT
    .venv/bin/python bench/push.py send             # sending only (no database)
    .venv/bin/python bench/push.py segment          # segment only
    BENCH_GUESTS=200000 .venv/bin/python bench/push.py segment

Sending: the same messages to the same local server (app/push/dev_fcm_server.py, its own process), first with a
plain firebase-admin `send_each` loop (batches of 500, only the endpoint redirected), then with app.push.fcm's
FcmSender (firebase-admin's `send_each` in calls of BENCH_SEND_EACH_SIZE messages, default the config's
FCM_SEND_EACH_SIZE, over its lean keep-alive session) in BENCH_SEND_PROCESSES (2) processes. Both are timed from the
first message to the last answer (our processes start, import and warm up before a barrier). Every message must
be accepted, or the run fails. BENCH_SEND_MESSAGES (6000) messages in each.
Segment: 1,000,000 guests (a third with checked-out stays, half consenting, 40 % with a live token), then the
segment "past guests who consented, speak Russian and have a live token" is counted, and streamed by keyset in
chunks while the peak RSS is watched. Prints one JSON line per figure and a markdown table to paste.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import time
import warnings
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEND_MESSAGES = int(os.environ.get("BENCH_SEND_MESSAGES", "6000"))
SEND_PROCESSES = int(os.environ.get("BENCH_SEND_PROCESSES", "2"))
SEND_EACH_SIZE = int(os.environ.get("BENCH_SEND_EACH_SIZE", "0"))  # 0: the config's FCM_SEND_EACH_SIZE
GUESTS = int(os.environ.get("BENCH_GUESTS", "1000000"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _messages(count: int, offset: int = 0) -> list:
    from app.push.fcm import PushMessage

    return [PushMessage(token=f"bench-token-{offset + i:08d}", title="Autumn offer", body="20% off in November",
                        data={"notification_id": str(offset + i), "deep_link": "app://offers/1"})
            for i in range(count)]


def _plain_loop(url: str, count: int) -> tuple[int, float]:
    import firebase_admin
    from firebase_admin import messaging

    from app.push.fcm import LocalCredential, _to_fcm

    app = firebase_admin.initialize_app(LocalCredential(), {"projectId": "bench"}, name="plain-loop")
    messaging._get_messaging_service(app)._fcm_url = f"{url}/v1/projects/bench/messages:send"
    batch = [_to_fcm(message) for message in _messages(count)]
    started, ok = time.perf_counter(), 0
    for start in range(0, count, 500):
        ok += messaging.send_each(batch[start:start + 500], app=app).success_count
    return ok, time.perf_counter() - started


def _sender_worker(url: str, count: int, offset: int, per_call: int, ready: Any, outcomes: Any) -> None:
    """One sender process: set up and warm up, wait until every sender is ready, send, report (ok, seconds)."""
    from app.push.fcm import FcmSender

    warnings.simplefilter("ignore", DeprecationWarning)
    sender = FcmSender(project_id="bench", endpoint=url, per_call=per_call)
    sender.send(_messages(20, offset=10_000_000 + offset))  # warm the connections
    messages = _messages(count, offset)
    ready.wait()
    started = time.perf_counter()
    results = sender.send(messages)
    outcomes.put((sum(result.ok for result in results), time.perf_counter() - started))


def bench_send() -> dict:
    port = int(os.environ.get("BENCH_FCM_PORT") or _free_port())
    server = subprocess.Popen([sys.executable, "-m", "app.push.dev_fcm_server", "--port", str(port), "--keep", "0"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    workers: list = []
    per_call = SEND_EACH_SIZE or _config_send_each_size()
    try:
        _wait_for_port(port)
        warnings.simplefilter("ignore", DeprecationWarning)
        plain_ok, plain_seconds = _plain_loop(url, SEND_MESSAGES)
        share = SEND_MESSAGES // SEND_PROCESSES
        # Timed like the plain loop: from the first message to the last answer. Starting the processes and
        # importing firebase-admin in each (about 0.5 s) happen before, behind a barrier.
        context = get_context("spawn")
        ready, queue = context.Barrier(SEND_PROCESSES + 1), context.Queue()
        workers = [context.Process(target=_sender_worker, args=(url, share, i * share, per_call, ready, queue))
                   for i in range(SEND_PROCESSES)]
        for worker in workers:
            worker.start()
        ready.wait(timeout=120)
        started = time.perf_counter()
        outcomes = [queue.get(timeout=600) for _ in workers]
        ours_seconds = time.perf_counter() - started
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.terminate()
        server.terminate()
        server.wait(timeout=10)
    ours_ok = sum(ok for ok, _ in outcomes)
    result = {
        "messages": SEND_MESSAGES, "plain_ok": plain_ok, "plain_per_s": round(plain_ok / plain_seconds),
        "ours_ok": ours_ok, "ours_per_s": round(ours_ok / ours_seconds), "processes": SEND_PROCESSES,
        "send_each_size": per_call,
    }
    result["ratio"] = round(result["ours_per_s"] / result["plain_per_s"], 2)
    result["load_average"] = os.getloadavg()[0]
    result["pass"] = plain_ok == ours_ok == share * SEND_PROCESSES == SEND_MESSAGES and result["ratio"] >= 3
    return result


def _config_send_each_size() -> int:
    from config import Config

    return Config.FCM_SEND_EACH_SIZE


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("the local FCM server did not start")


# -- segment -----------------------------------------------------------------------------------------------------

FILL_SQL = """
INSERT INTO chains (id, code, name, created_at, updated_at) VALUES (1, 'bench', 'Bench', now(), now());
INSERT INTO hotels (id, chain_id, code, name, city, city_key, country, time_zone, currency, check_in_time,
                    check_out_time, is_active, created_at, updated_at)
VALUES (1, 1, 'sea', '{"en": "Sea"}', 'Sochi', 'sochi', 'RU', 'Europe/Moscow', 'RUB', '14:00', '12:00', true,
        now(), now());
INSERT INTO seasons (hotel_id, kind, start_month, start_day, end_month, end_day) VALUES (1, 'low', 10, 16, 4, 14);
INSERT INTO room_types (id, hotel_id, code, name, max_occupancy, amenities, photos, created_at, updated_at)
VALUES (1, 1, 'std', '{"en": "Standard"}', 2, '[]', '[]', now(), now());
INSERT INTO guests (id, email, first_name, language, source, is_active, search_text, failed_login_count,
                    created_at, updated_at, birth_date, country, city)
SELECT g, 'g' || g || '@bench.test', 'Guest', CASE WHEN g % 3 = 0 THEN 'ru' ELSE 'en' END, 'app', true, '', 0,
       now(), now(), date '1970-01-01' + (g % 18000), 'RU', 'Moscow'
FROM generate_series(1, :n) AS g;
INSERT INTO guest_hotel_links (guest_id, hotel_id, reason, since) SELECT g, 1, 'booking', now()
FROM generate_series(1, :n) AS g;
INSERT INTO bookings (reference, guest_id, hotel_id, room_type_id, check_in, check_out, adults, children, status,
                      channel, currency, total_amount, quote, room_state, cancellation_fee, created_at, updated_at)
SELECT 'B' || g, g, 1, 1, date '2024-01-01' + (g % 700), date '2024-01-04' + (g % 700), 1, 0, 'checked_out',
       'app', 'RUB', 0, '{}', 'none', 0, now(), now()
FROM generate_series(1, :n) AS g WHERE g % 3 <> 1;
INSERT INTO consent_records (guest_id, purpose, granted, policy_version, source, recorded_at)
SELECT g, 'marketing_push', true, '2026-11', 'app', now() FROM generate_series(1, :n) AS g WHERE g % 2 = 0;
INSERT INTO push_devices (guest_id, token, platform, language, created_at, last_seen_at)
SELECT g, 'bench-token-' || g, 'android', 'ru', now(), now() FROM generate_series(1, :n) AS g WHERE g % 5 < 2;
"""


def bench_segment(database_url: str) -> dict:
    from sqlalchemy import func, select, text

    from app import create_app
    from app.extensions import db
    from app.guests.models import Guest
    from app.push.models import Segment
    from app.push.services.segments import audience_condition, stream_audience

    app = create_app("development", {"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        db.drop_all()
        db.create_all()
        started = time.perf_counter()
        with db.engine.begin() as connection:
            for statement in filter(str.strip, FILL_SQL.split(";\n")):
                connection.execute(text(statement), {"n": GUESTS})
            connection.execute(text("ANALYZE"))
        fill_seconds = time.perf_counter() - started
        segment = Segment(hotel_id=1, name="bench", filters={
            "past_guest": True, "languages": ["ru"], "has_live_token": True, "marketing_consent": True})
        condition = audience_condition(segment)
        if os.environ.get("BENCH_EXPLAIN"):
            statement = select(func.count()).select_from(Guest).where(condition)
            compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
            for (line,) in db.session.execute(text(f"EXPLAIN ANALYZE {compiled}")):
                print(line, file=sys.stderr)
        started = time.perf_counter()
        size = db.session.scalar(select(func.count()).select_from(Guest).where(condition))
        count_seconds = time.perf_counter() - started  # the verdict's figure: the first count after the load
        warm = []
        for _ in range(2):  # for information: the same count again (hint bits set, pages cached)
            started = time.perf_counter()
            db.session.scalar(select(func.count()).select_from(Guest).where(condition))
            warm.append(time.perf_counter() - started)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started, streamed = time.perf_counter(), 0
        for chunk in stream_audience(condition, chunk=10_000):
            streamed += len(chunk)
        stream_seconds = time.perf_counter() - started
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        db.session.remove()
    return {
        "guests": GUESTS, "fill_s": round(fill_seconds, 1), "segment_size": size, "count_s": round(count_seconds, 3),
        "count_again_s": [round(value, 3) for value in warm], "load_average": os.getloadavg()[0],
        "streamed": streamed, "stream_s": round(stream_seconds, 2),
        "peak_rss_growth_mib": round((rss_after - rss_before) / 1024, 1),
        "pass": streamed == size and count_seconds < 2 and stream_seconds < 30,
    }


def _with_postgres(run: Any) -> Any:
    port = os.environ.get("BENCH_PG_PORT", "54334")
    data_dir = ROOT / "var" / "pg-bench"
    script = f'source scripts/lib.sh; start_postgres "{data_dir}" "{port}" hotel_bench'
    subprocess.run(["bash", "-c", script], cwd=ROOT, check=True)
    try:
        return run(f"postgresql+psycopg://postgres@127.0.0.1:{port}/hotel_bench")
    finally:
        subprocess.run(["bash", "-c", f'source scripts/lib.sh; stop_postgres "{data_dir}"'], cwd=ROOT, check=False)


def main() -> int:
    parts = sys.argv[1:] or ["send", "segment"]
    if "segment" in parts:
        # PostgreSQL starts first (idle while sending): the plain loop leaves thousands of client ports in
        # TIME-WAIT, and one on $BENCH_PG_PORT would keep PostgreSQL from binding it.
        return _with_postgres(lambda database_url: _run(parts, database_url))
    return _run(parts, None)


def _run(parts: list[str], database_url: str | None) -> int:
    results = {}
    if "send" in parts:
        results["send"] = bench_send()
        print("BENCH_JSON", json.dumps({"send": results["send"]}), flush=True)
    if database_url is not None:
        results["segment"] = bench_segment(database_url)
        print("BENCH_JSON", json.dumps({"segment": results["segment"]}), flush=True)
    for name, figures in results.items():
        print(f"\n| {name} | " + " | ".join(f"{k}: {v}" for k, v in figures.items()) + " |")
    return 0 if all(figures["pass"] for figures in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
