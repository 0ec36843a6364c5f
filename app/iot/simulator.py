"""Virtual room controllers that follow the topic convention (`flask iot simulate`), for demos and tests.

Each device keeps its own MQTT 5 connection, like a real controller: a persistent session (so commands queued
while it is away reach it later), a retained "online" on connect and a retained "offline" last will, its state
published retained after every change, and every command acknowledged on the response topic the command names,
with the command's correlation data. A command seen before (same correlation data) is acknowledged again but not
executed twice; one that arrives after its `expires_at` is refused, and so is one older (a lower id) than the last
command it carried out: commands to one device can travel by different connections (docs/mqtt.md, "Order").
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.core import clock
from app.iot import mqtt, topics

log = logging.getLogger(__name__)
REMEMBERED_COMMANDS = 1000

INITIAL_STATES: dict[str, dict[str, Any]] = {
    "light": {"on": False, "brightness": 0},
    "climate": {"power": False, "mode": "auto", "setpoint_c": 22.0, "fan": "auto", "temperature_c": 24.0},
    "curtains": {"position": 0},
    "lock": {"locked": True},
    "indicator": {"mode": "none", "changed_by": "command"},
    "sensor": {"occupancy": False, "door_open": False, "window_open": False, "temperature_c": 24.0},
}


@dataclass(frozen=True)
class DeviceSpec:
    topic: str  # hotel/<hotel>/room/<room>/<key>
    kind: str


class SimulatedDevice:
    def __init__(self, spec: DeviceSpec, broker: mqtt.BrokerSettings) -> None:
        self.spec = spec
        self.state: dict[str, Any] = dict(INITIAL_STATES[spec.kind])
        self.received: list[dict[str, Any]] = []  # every command that reached the device, executed or not
        self.executed: list[int] = []  # ids of the commands it carried out
        self._last_executed_id = 0
        self._seen: OrderedDict[bytes, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        availability = f"{spec.topic}/{topics.AVAILABILITY}"
        self.connection = mqtt.Connection(
            broker, client_id="sim-" + spec.topic.replace("/", "-"), on_event=self._on_event,
            subscriptions=[(f"{spec.topic}/{topics.SET}", 1)],
            will=mqtt.Outgoing(availability, topics.OFFLINE, retain=True),
            birth=mqtt.Outgoing(availability, topics.ONLINE, retain=True))

    # -- driving the device (tests, the CLI) --------------------------------------------------------------------

    def start(self) -> None:
        self.connection.start()

    def stop(self) -> None:
        self.connection.stop(final=mqtt.Outgoing(f"{self.spec.topic}/{topics.AVAILABILITY}", topics.OFFLINE,
                                                 retain=True))

    def kill(self) -> None:
        """Cut the connection without a goodbye: the broker publishes the last will."""
        self.connection.kill()

    def press_button(self, mode: str) -> None:
        """The DND / make-up-room button on the wall (indicator devices)."""
        self._set_state({"mode": mode, "changed_by": "button"})

    def report(self, **changes: Any) -> None:
        """Change the state as the room would (a sensor reading, a fault: `report(fault="compressor")`)."""
        self._set_state(changes)

    # -- protocol ---------------------------------------------------------------------------------------------

    def _set_state(self, changes: dict[str, Any]) -> None:
        self._publish_state(self._change_state(changes))

    def _change_state(self, changes: dict[str, Any]) -> bytes:
        with self._lock:
            self.state.update(changes)
            return json.dumps(self.state).encode()

    def _publish_state(self, payload: bytes) -> None:
        self.connection.publish(mqtt.Outgoing(f"{self.spec.topic}/{topics.STATE}", payload, qos=1, retain=True))

    def _on_event(self, event: mqtt.Event) -> None:
        if isinstance(event, mqtt.Connected):
            self._set_state({})
        elif isinstance(event, mqtt.Received):
            self._on_command(event)

    def _on_command(self, message: mqtt.Received) -> None:
        try:
            command = json.loads(message.payload)
            values = command["values"]
            if not isinstance(values, dict):
                raise TypeError("values")
        except (ValueError, KeyError, TypeError):
            log.warning("%s: malformed command ignored", self.spec.topic)
            return
        with self._lock:
            self.received.append({**command, "_expiry_seconds": message.expiry_seconds,
                                  "_correlation": message.correlation_data, "_response_topic": message.response_topic,
                                  "_retain": message.retain})
        correlation = message.correlation_data or b""
        answer = self._seen.get(correlation) if correlation else None
        new_state = None
        if answer is None:
            answer, new_state = self._execute(command, values)
            if correlation:
                self._seen[correlation] = answer
                while len(self._seen) > REMEMBERED_COMMANDS:
                    self._seen.popitem(last=False)
        # The answer first, then the new state (docs/mqtt.md, "Acknowledgement"): someone waits for the answer.
        if message.response_topic:
            self.connection.publish(mqtt.Outgoing(message.response_topic, json.dumps(answer).encode(), qos=1,
                                                  correlation_data=correlation or None))
        if new_state is not None:
            self._publish_state(new_state)

    def _execute(self, command: dict[str, Any], values: dict[str, Any]) -> tuple[dict[str, Any], bytes | None]:
        """Carry the command out: the answer, and the state to publish (None when refused)."""
        expires_at = command.get("expires_at")
        if isinstance(expires_at, str) and datetime.fromisoformat(expires_at) < clock.now():
            return {"status": "error", "error": "expired"}, None
        command_id = command.get("id")
        if isinstance(command_id, int):
            if command_id <= self._last_executed_id:
                return {"status": "error", "error": "superseded"}, None
            self._last_executed_id = command_id
        changes = dict(values)
        if self.spec.kind == "indicator":
            changes["changed_by"] = "command"
        new_state = self._change_state(changes)
        with self._lock:
            self.executed.append(command.get("id"))
            return {"status": "ok", "state": dict(self.state)}, new_state


class Simulator:
    """A set of simulated devices (a hotel's, for `flask iot simulate`)."""

    def __init__(self, specs: list[DeviceSpec], broker: mqtt.BrokerSettings) -> None:
        self.devices = {spec.topic: SimulatedDevice(spec, broker) for spec in specs}

    def start(self) -> None:
        for device in self.devices.values():
            device.start()

    def stop(self) -> None:
        for device in self.devices.values():
            device.stop()

    def device(self, topic: str) -> SimulatedDevice:
        return self.devices[topic]
