"""The IoT benchmark (issue "MQTT bridge"): run by bench/run-iot, which starts the broker and the database.

Measures, in one run, on one machine, through one Mosquitto:
1. raw paho round trip: a requester publishes QoS 1 with response topic + correlation data, an echo client answers;
2. command round trip through the system: POST /stays/{id}/room/commands (in-process Flask client) -> outbox ->
   bridge process -> simulated device -> acknowledgement -> `acknowledged` committed (the command's completed_at);
3. raw ingestion: one paho client subscribed to the state topics of 2,000 devices, messages/s received;
4. bridge ingestion: the same burst of state messages, messages/s stored by one bridge process.
Sequential round trips (one command at a time); latency from the wall clock of this process to completed_at
written by the bridge (same machine, same clock). The simulated device runs in a process of its own, as a room
controller would (until 2026-11-23 it was a thread of this process, sharing its GIL with the API, whose web
worker now also publishes the command, and with the poller).

    python bench/iot.py --database-url URL --mqtt-url mqtt://127.0.0.1:PORT --out DIR
    python bench/iot.py device --mqtt-url mqtt://127.0.0.1:PORT --topic hotel/h/room/101/light --kind light
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app
from app.core.db import unit_of_work
from app.extensions import db
from app.iot import mqtt, topics
from app.iot.models import DeviceReading
from app.iot.simulator import DeviceSpec, SimulatedDevice
from tests.factories import (
    headers_for,
    make_guest,
    make_hotel,
    make_room,
    make_room_device,
    make_room_type,
    make_stay,
)

DEVICES = 2000
ROOMS = 200
# Once the device has answered, the round-trip loop reads the command row this often until the bridge has
# recorded the answer. The latency is taken from the row's completed_at, so this only decides how soon the next
# command goes out; each read costs this process and PostgreSQL about 0.3 ms of CPU on a 2-core machine.
POLL_SECONDS = 0.001
# The first of those reads waits this long after the answer crossed the broker. The bridge is stamping the answer
# at that moment, and on a 2-core machine a read (this process and a PostgreSQL backend) competed with it for the
# CPU: the observer slowed down what it measured. Until 2026-11-24 the first read came at once.
FIRST_READ_SECONDS = float(os.environ.get("BENCH_FIRST_READ_SECONDS", "0.004"))


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"n": len(ordered), "p50": round(pick(0.50), 2), "p90": round(pick(0.90), 2), "p99": round(pick(0.99), 2),
            "mean": round(statistics.fmean(ordered), 2)}


def raw_client(host: str, port: int, name: str) -> paho.Client:
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"{name}-{uuid.uuid4().hex[:6]}",
                         protocol=paho.MQTTv5)
    client.max_inflight_messages_set(20)  # Mosquitto's Receive Maximum: paho does not read it
    client.connect(host, port)
    # The same socket setting as the app's adapter (paho leaves Nagle's algorithm on): a fair baseline.
    client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.loop_start()
    return client


def raw_round_trip(host: str, port: int, count: int) -> list[float]:
    """Requester -> echo responder -> requester, QoS 1 with MQTT 5 request/response properties."""
    prefix = f"bench/{uuid.uuid4().hex[:6]}"
    echo, requester = raw_client(host, port, "echo"), raw_client(host, port, "req")
    ready = threading.Event()

    def on_request(client, _userdata, message):
        props = Properties(PacketTypes.PUBLISH)
        props.CorrelationData = message.properties.CorrelationData
        client.publish(message.properties.ResponseTopic, b'{"status":"ok"}', qos=1, properties=props)

    echo.on_message = on_request
    echo.subscribe(f"{prefix}/set", qos=1)
    requester.on_message = lambda *_: ready.set()
    requester.subscribe(f"{prefix}/response", qos=1)
    time.sleep(0.5)
    samples = []
    for i in range(count):
        ready.clear()
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic, props.CorrelationData = f"{prefix}/response", str(i).encode()
        props.MessageExpiryInterval = 60
        start = time.perf_counter()
        requester.publish(f"{prefix}/set", b'{"values":{"on":true}}', qos=1, properties=props)
        if not ready.wait(5):
            raise RuntimeError("raw round trip timed out")
        samples.append((time.perf_counter() - start) * 1000)
    for client in (echo, requester):
        client.loop_stop()
        client.disconnect()
    return samples


def publish_burst(host: str, port: int, topics: list[str], rounds: int, tag: int) -> None:
    """Every device publishes `rounds` changed states (retained, QoS 1), from 4 publisher connections."""
    clients = [raw_client(host, port, "pub") for _ in range(4)]
    infos = []
    for r in range(rounds):
        for i, topic in enumerate(topics):
            payload = json.dumps({"temperature_c": 20 + r, "occupancy": bool(i % 2), "tag": tag}).encode()
            infos.append(clients[i % 4].publish(topic, payload, qos=1, retain=True))
            if len(infos) % 500 == 0:
                infos[-1].wait_for_publish(timeout=30)
    for info in infos[-50:]:
        info.wait_for_publish(timeout=30)
    for client in clients:
        client.loop_stop()
        client.disconnect()


def raw_ingestion(host: str, port: int, hotel: str, topics: list[str], rounds: int) -> float:
    expected = len(topics) * rounds
    received = [0]
    done = threading.Event()
    first: list[float] = []

    def on_message(*_):
        if not first:
            first.append(time.perf_counter())
        received[0] += 1
        if received[0] >= expected:
            done.set()

    subscriber = raw_client(host, port, "raw-sub")
    subscriber.on_message = on_message
    subscriber.subscribe(f"$share/raw{uuid.uuid4().hex[:6]}/hotel/{hotel}/room/+/+/state", qos=1)
    time.sleep(0.5)
    start = time.perf_counter()
    threading.Thread(target=publish_burst, args=(host, port, topics, rounds, 1), daemon=True).start()
    if not done.wait(300):
        raise RuntimeError(f"raw subscriber got {received[0]} of {expected}")
    elapsed = time.perf_counter() - start
    subscriber.loop_stop()
    subscriber.disconnect()
    return expected / elapsed


def readings_count() -> int:
    with unit_of_work():
        return db.session.query(DeviceReading).filter(DeviceReading.state.is_not(None)).count()


def missing_from_burst(after_id: int, devices: list[Any], rounds: int) -> list[str]:
    """Which (device, round) of the burst (tag 2) has no history row: to tell lost messages from counting errors."""
    with unit_of_work():
        rows = db.session.execute(text("SELECT device_id, state FROM iot_device_readings WHERE id > :id"),
                                  {"id": after_id}).all()
    seen = {(device_id, state.get("temperature_c")) for device_id, state in rows
            if isinstance(state, dict) and state.get("tag") == 2}
    return [f"{d.topic} round {r}" for d in devices for r in range(rounds) if (d.id, 20 + r) not in seen]


def last_reading_id() -> int:
    with unit_of_work():
        return db.session.execute(text("SELECT coalesce(max(id), 0) FROM iot_device_readings")).scalar()


def bridge_ingestion(host: str, port: int, topics: list[str], rounds: int) -> tuple[float, int]:
    """Messages/s stored by the bridge for the burst, and how many of the burst were not stored (waits until the
    count has not moved for 5 s)."""
    before = readings_count()
    expected = len(topics) * rounds
    start = time.perf_counter()
    threading.Thread(target=publish_burst, args=(host, port, topics, rounds, 2), daemon=True).start()
    stored, last_change = 0, start
    while stored < expected and time.perf_counter() - last_change < 5:
        time.sleep(0.05)
        now_stored = readings_count() - before
        if now_stored != stored:
            stored, last_change = now_stored, time.perf_counter()
    return stored / (last_change - start), expected - stored


class AnswerWatch:
    """Wakes the round-trip loop when the device's answer crosses the broker (a plain subscription beside the
    bridge's shared one), so that the loop reads the database only from then on. Until 2026-11-24 it read the
    command row every 0.5 ms from the start: an ORM query on PostgreSQL 2,000 times a second, which kept about a
    core of this 2-core machine busy (the loop and the database backend) while the bridge and the device needed it.
    Latency is still taken from `completed_at`, written by the bridge: when the loop notices does not change it."""

    def __init__(self, broker: mqtt.BrokerSettings, device_topic: str) -> None:
        self.answered = threading.Event()
        self.client = raw_client(broker.host, broker.port, "watch")
        self.client.on_message = lambda *_: self.answered.set()
        self.client.subscribe(f"{device_topic}/{topics.RESPONSE}", qos=0)
        time.sleep(0.3)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def command_round_trip(app: Any, stay: Any, guest: Any, device: Any, watch: AnswerWatch, count: int,
                       phases: dict[str, list[float]] | None = None) -> list[float]:
    """Sequential round trips; `phases` collects where the time went (API until the command row's created_at,
    then until the bridge marked it sent, then until the acknowledgement was recorded).

    Each API call runs in an application context of its own, as a web worker's request does. Until 2026-11-23
    (thirteenth session) they ran in the benchmark's one long context: its ORM Session and `g` lived from one
    request to the next, so the stay, the device and the guest's profile were read once for the whole run, not once
    per command."""
    client = app.test_client()
    headers = headers_for(guest)
    samples = []
    for i in range(count):
        watch.answered.clear()
        started = datetime.now(UTC)
        with app.app_context():
            response = client.post(f"/api/v1/stays/{stay.id}/room/commands", headers=headers,
                                   json={"device_id": device.id, "values": {"brightness": i % 100}})
        assert response.status_code == 201, response.json
        command_id = response.json["id"]
        deadline = time.monotonic() + 10
        watch.answered.wait(10)  # the device has answered (or 10 s passed): the bridge is storing it now
        time.sleep(FIRST_READ_SECONDS)
        while True:
            with unit_of_work():
                status, completed, created, sent = db.session.execute(text(
                    "SELECT status, completed_at, created_at, sent_at FROM iot_commands WHERE id = :id"),
                    {"id": command_id}).one()
            if status == "acknowledged":
                break
            if status in ("failed", "expired") or time.monotonic() > deadline:
                with unit_of_work():
                    row = db.session.execute(text("SELECT status, claimed_by, publish_count FROM iot_commands "
                                                  "WHERE id = :id"), {"id": command_id}).one()
                raise RuntimeError(f"command {command_id} ended {status} (row: {tuple(row)})")
            time.sleep(POLL_SECONDS)
        samples.append((as_utc(completed) - started).total_seconds() * 1000)
        if phases is not None:
            ms = lambda a, b: (as_utc(b) - as_utc(a)).total_seconds() * 1000 if a and b else 0.0  # noqa: E731
            phases.setdefault("api", []).append(ms(started, created))
            phases.setdefault("to_sent", []).append(ms(created, sent))  # 0 when the ack came before the PUBACK
            phases.setdefault("to_ack", []).append(ms(sent or created, completed))
    return samples


def wait_for_discovery(broker: mqtt.BrokerSettings, expected: int, timeout: float = 120) -> float:
    """Seconds until the bridge has announced every device to Home Assistant (IOT_DISCOVERY): it does that
    after each connect, a few configs per pass of its loop, and the round trips are measured after it, in the
    steady state a hotel runs in (during the announcement they are slower; see iot-RESULTS.md)."""
    seen: set[str] = set()
    done = threading.Event()

    def on_message(_client, _userdata, message):
        seen.add(message.topic)
        if len(seen) >= expected:
            done.set()

    start = time.perf_counter()
    client = raw_client(broker.host, broker.port, "discovery")
    client.on_message = on_message
    client.subscribe(f"{topics.DISCOVERY_PREFIX}/+/+/config", qos=0)
    if not done.wait(timeout):
        raise RuntimeError(f"the bridge announced {len(seen)} of {expected} devices in {timeout} s")
    client.loop_stop()
    client.disconnect()
    return time.perf_counter() - start


def wait_for_room_aggregates(broker: mqtt.BrokerSettings, hotel_code: str, rooms: int, quiet: float = 1.0,
                             timeout: float = 120) -> tuple[float, int]:
    """Seconds until the bridge has republished the rooms' aggregate states its start left to do, and how many.

    At its start the broker hands the bridge the devices' retained states (the raw ingestion above left 2,000), so
    every room is to republish, a few per pass of the loop (MQTT_MAX_INFLIGHT / 2 each 0.5 s): about 10 s for
    200 rooms, during which the loop reads and publishes rooms every 0.5 s. Round trips are measured after it, in
    the steady state, as after discovery. Done when every room was seen or none came for `quiet` seconds."""
    seen: set[str] = set()
    last = [time.perf_counter()]

    def on_message(_client, _userdata, message):
        seen.add(message.topic)
        last[0] = time.perf_counter()

    start = time.perf_counter()
    client = raw_client(broker.host, broker.port, "aggregates")
    client.on_message = on_message
    client.subscribe(f"hotel/{hotel_code}/room/+/{topics.STATE}", qos=0)
    while len(seen) < rooms and time.perf_counter() - last[0] < quiet:
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"the bridge republished {len(seen)} of {rooms} rooms in {timeout} s")
        time.sleep(0.05)
    client.loop_stop()
    client.disconnect()
    return time.perf_counter() - start, len(seen)


def as_utc(moment: datetime) -> datetime:
    """A timestamp read with plain SQL: naive (UTC) on SQLite, aware on PostgreSQL."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def run_device(argv: list[str]) -> None:
    """The simulated room controller in a process of its own, until SIGTERM."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--mqtt-url", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--kind", required=True)
    args = parser.parse_args(argv)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    device = SimulatedDevice(DeviceSpec(args.topic, args.kind), mqtt.settings_from_url(args.mqtt_url))
    device.start()
    stopped.wait()
    device.stop()


def main() -> None:
    if sys.argv[1:2] == ["device"]:
        run_device(sys.argv[2:])
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: never orphan the bridge
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--mqtt-url", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--round-trips", type=int, default=int(os.environ.get("BENCH_ROUND_TRIPS", 300)))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_INGEST_ROUNDS", 5)))
    args = parser.parse_args()
    broker = mqtt.settings_from_url(args.mqtt_url)
    app = create_app("development", {"SQLALCHEMY_DATABASE_URI": args.database_url, "RATELIMIT_ENABLED": False,
                                     "MQTT_URL": args.mqtt_url, "LOG_LEVEL": "WARNING"})
    logging.getLogger("app").setLevel(logging.WARNING)
    with app.app_context():
        db.create_all()
        hotel = make_hotel(code=f"bench{uuid.uuid4().hex[:8]}")
        room_type = make_room_type(hotel)
        rooms = [make_room(room_type, number=f"{100 + n}") for n in range(ROOMS)]
        devices = [make_room_device(room, "sensor", key=f"sensor{k}")
                   for room in rooms for k in range(DEVICES // ROOMS)]
        light = make_room_device(rooms[0], "light")
        guest = make_guest(password=None)
        stay = make_stay(guest, rooms[0])
        topics = [f"{d.topic}/state" for d in devices]
        gc.collect()
        gc.freeze()  # as wsgi.py does for the API's workers: no full-collection pause over the app's own objects

        results: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}, "devices": len(devices)}
        say = lambda text: print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)  # noqa: E731
        say("raw round trip")
        results["raw_round_trip_ms"] = percentiles(raw_round_trip(broker.host, broker.port, args.round_trips))
        say(f"raw round trip {results['raw_round_trip_ms']}; raw ingestion")
        results["raw_ingestion_per_s"] = round(raw_ingestion(broker.host, broker.port, hotel.code, topics,
                                                             args.rounds), 1)

        env = {**os.environ, "APP_ENV": "development", "DATABASE_URL": args.database_url, "MQTT_URL": args.mqtt_url,
               "IOT_BRIDGE_ID": f"bench-{uuid.uuid4().hex[:6]}", "IOT_SHARED_GROUP": f"b{uuid.uuid4().hex[:6]}",
               "IOT_BRIDGE_POLL_SECONDS": os.environ.get("IOT_BRIDGE_POLL_SECONDS", "0.005"),
               "LOG_LEVEL": os.environ.get("BENCH_BRIDGE_LOG_LEVEL", "WARNING"), "LOG_JSON": "0"}
        log = (args.out / "bridge.log").open("w")
        bridge = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "iot", "bridge"], env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
        device = subprocess.Popen([sys.executable, __file__, "device", "--mqtt-url", args.mqtt_url,
                                   "--topic", light.topic, "--kind", "light"])
        try:
            time.sleep(2)
            if app.config["IOT_DISCOVERY"]:
                say("waiting for the bridge's Home Assistant discovery")
                results["discovery_seconds"] = round(wait_for_discovery(broker, len(devices) + 1), 2)
            say("waiting for the bridge's start-up room aggregates")
            seconds, republished = wait_for_room_aggregates(broker, hotel.code, len(rooms))
            results["start_up_aggregates"] = {"seconds": round(seconds, 2), "rooms": republished}
            say(f"raw ingestion {results['raw_ingestion_per_s']}/s; command round trip")
            watch = AnswerWatch(broker, light.topic)
            command_round_trip(app, stay, guest, light, watch, 20)  # warm-up, discarded
            phases: dict[str, list[float]] = {}
            samples = command_round_trip(app, stay, guest, light, watch, args.round_trips, phases)
            results["command_round_trip_ms"] = percentiles(samples)
            # Every sample in order, with its phases: to see whether the slow ones come at a period.
            (args.out / "round-trips.json").write_text(json.dumps({"total": samples, **phases}))
            watch.close()
            results["command_phases_ms"] = {name: percentiles(values) for name, values in phases.items()}
            say(f"command round trip {results['command_round_trip_ms']}; bridge ingestion")
            first_id = last_reading_id()
            rate, missing = bridge_ingestion(broker.host, broker.port, topics, args.rounds)
            results["bridge_ingestion_per_s"], results["bridge_ingestion_missing"] = round(rate, 1), missing
            if missing:
                time.sleep(5)  # stored late, or never?
                late = missing_from_burst(first_id, devices, args.rounds)
                results["bridge_ingestion_missing_after_5s_more"] = late[:20]
        finally:
            device.terminate()
            device.wait(timeout=20)
            bridge.terminate()
            bridge.wait(timeout=20)
        results["ingestion_ratio"] = round(results["bridge_ingestion_per_s"] / results["raw_ingestion_per_s"], 3)
        results["verdicts"] = {
            "command round trip p99 < 15 ms": results["command_round_trip_ms"]["p99"] < 15,
            "bridge ingestion >= 0.5 x raw": results["ingestion_ratio"] >= 0.5,
        }
    (args.out / "iot-results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
