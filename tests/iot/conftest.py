"""IoT fixtures: a real Mosquitto (TEST_MQTT_URL from scripts/test, or one started here), a bridge thread,
simulated devices, and rooms with a full set of devices.

Every test uses its own hotel code, bridge id and shared-subscription group, so retained messages and persistent
sessions left in the broker by earlier tests (or the other database's run) never reach it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app.iot import mqtt
from app.iot.bridge import Bridge, BridgeSettings
from app.iot.models import DeviceKind
from app.iot.simulator import DeviceSpec, SimulatedDevice
from tests.factories import make_guest, make_hotel, make_room, make_room_device, make_room_type, make_stay

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
ALL_KINDS = [kind.value for kind in DeviceKind]


def eventually(check: Callable[[], Any], *, timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy (the broker and the bridge work asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last value {result!r}")
        time.sleep(0.05)


@dataclass
class Broker:
    url: str
    conf: Path

    @property
    def settings(self) -> mqtt.BrokerSettings:
        return mqtt.settings_from_url(self.url, session_expiry_seconds=600, reconnect_max_seconds=2)

    @property
    def port(self) -> int:
        return self.settings.port

    def _pid_file(self) -> Path:
        for line in self.conf.read_text().splitlines():
            if line.startswith("pid_file "):
                return Path(line.split(" ", 1)[1])
        raise RuntimeError("the broker config has no pid_file")

    def running(self) -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        """Stop the broker (SIGTERM: it saves its persistence file) and wait until the port is closed."""
        pid = int(self._pid_file().read_text().strip())
        os.kill(pid, signal.SIGTERM)
        eventually(lambda: not self.running() and not _alive(pid), what="the broker to stop")

    def start(self) -> None:
        subprocess.run([MOSQUITTO, "-c", str(self.conf), "-d"], check=True)
        eventually(self.running, what="the broker to listen")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def broker() -> Iterator[Broker]:
    """The test broker: scripts/test's (TEST_MQTT_URL, TEST_MQTT_CONF), else a throwaway one started here."""
    if os.environ.get("TEST_MQTT_URL"):
        yield Broker(os.environ["TEST_MQTT_URL"], Path(os.environ["TEST_MQTT_CONF"]))
        return
    if not os.path.exists(MOSQUITTO):
        pytest.skip("Mosquitto is not installed (scripts/test installs it and sets TEST_MQTT_URL)")
    with tempfile.TemporaryDirectory(prefix="mqtt-test-") as tmp:
        port = _free_port()
        conf = Path(tmp) / "mosquitto.conf"
        os.makedirs(f"{tmp}/data")
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                        f"persistence_location {tmp}/data/\nautosave_interval 1\n"
                        "max_queued_messages 100000\nset_tcp_nodelay true\n"
                        f"log_dest file {tmp}/mosquitto.log\n"
                        f"pid_file {tmp}/mosquitto.pid\n")
        if os.geteuid() == 0:
            shutil.chown(tmp, "mosquitto", "mosquitto")
            shutil.chown(f"{tmp}/data", "mosquitto", "mosquitto")
        instance = Broker(f"mqtt://127.0.0.1:{port}", conf)
        instance.start()
        yield instance
        if instance.running():
            instance.stop()


@pytest.fixture
def mqtt_broker(broker: Broker) -> Iterator[Broker]:
    """The broker, running at the start of the test and again at its end (a test may stop it)."""
    if not broker.running():
        broker.start()
    yield broker
    if not broker.running():
        broker.start()


@dataclass
class Room:
    hotel: Any
    room: Any
    devices: dict[str, Any]  # kind -> Device


def make_iot_room(hotel: Any = None, kinds: list[str] | None = None) -> Room:
    hotel = hotel or make_hotel(code=f"h{uuid.uuid4().hex[:10]}")
    room = make_room(make_room_type(hotel))
    devices = {kind: make_room_device(room, kind) for kind in (ALL_KINDS if kinds is None else kinds)}
    return Room(hotel, room, devices)


@pytest.fixture
def iot_room() -> Room:
    return make_iot_room()


@pytest.fixture
def in_house(iot_room: Room) -> tuple[Any, Any]:
    guest = make_guest()
    return guest, make_stay(guest, iot_room.room)


class BridgeRunner:
    def __init__(self, app: Flask, broker: Broker, **overrides: Any) -> None:
        settings = BridgeSettings(**{
            "broker": broker.settings, "bridge_id": f"test-{uuid.uuid4().hex[:8]}", "scope": "test",
            "shared_group": f"g{uuid.uuid4().hex[:8]}", "poll_seconds": 0.05, "heartbeat_seconds": 0.5,
            "aggregate_seconds": 0.2, **overrides})
        self.bridge = Bridge(app, settings)
        self.thread = threading.Thread(target=self.bridge.run, name="test-bridge", daemon=True)

    def start(self) -> BridgeRunner:
        self.thread.start()
        eventually(lambda: self.bridge.connection.connected, what="the bridge to connect")
        return self

    def stop(self) -> None:
        self.bridge.stop()
        self.thread.join(timeout=15)
        assert not self.thread.is_alive(), "the bridge did not stop"


@pytest.fixture
def start_bridge(app: Flask, mqtt_broker: Broker) -> Iterator[Callable[..., BridgeRunner]]:
    runners: list[BridgeRunner] = []

    def start(**overrides: Any) -> BridgeRunner:
        runner = BridgeRunner(app, mqtt_broker, **overrides).start()
        runners.append(runner)
        return runner

    yield start
    for runner in runners:
        runner.stop()


@pytest.fixture
def simulate(mqtt_broker: Broker) -> Iterator[Callable[[Room], dict[str, SimulatedDevice]]]:
    """simulate(room) -> {kind: SimulatedDevice}, connected; all stopped at the end of the test."""
    started: list[SimulatedDevice] = []

    def start(room: Room) -> dict[str, SimulatedDevice]:
        devices = {kind: SimulatedDevice(DeviceSpec(device.topic, kind), mqtt_broker.settings)
                   for kind, device in room.devices.items()}
        for device in devices.values():
            device.start()
            started.append(device)
        for device in devices.values():
            eventually(lambda device=device: device.connection.connected, what="a simulated device to connect")
        return devices

    yield start
    for device in started:
        device.stop()


class Listener:
    """A plain MQTT client that records what it receives (retained flags included)."""

    def __init__(self, broker: Broker, topic: str) -> None:
        self.messages: list[mqtt.Received] = []
        self.acknowledged: set[int] = set()
        self.connection = mqtt.Connection(broker.settings, client_id=f"listener-{uuid.uuid4().hex[:8]}",
                                          on_event=self._on_event, subscriptions=[(topic, 1)], clean_start=True)

    def _on_event(self, event: mqtt.Event) -> None:
        if isinstance(event, mqtt.Received):
            self.messages.append(event)
        elif isinstance(event, mqtt.Published):
            self.acknowledged.add(event.mid)

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish with QoS 1 and wait for the broker's PUBACK."""
        mid = self.connection.publish(mqtt.Outgoing(topic, payload))
        assert mid is not None
        eventually(lambda: mid in self.acknowledged, what="PUBACK")

    def __enter__(self) -> Listener:
        self.connection.start()
        eventually(lambda: self.connection.connected, what="the listener to connect")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.connection.stop()
