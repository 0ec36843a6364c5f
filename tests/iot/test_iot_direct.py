"""The API process publishes its own commands after the commit (app/iot/direct.py), against a real Mosquitto;
the bridges deliver whatever it did not: no publisher, a lost publish, a dead worker, a broker outage."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from app.core.db import unit_of_work
from app.extensions import db
from app.iot import direct, mqtt
from app.iot.models import DeviceCommand
from tests.factories import headers_for
from tests.iot.conftest import Broker, Listener, eventually

API = "/api/v1"


@pytest.fixture
def direct_publishing(app: Flask, mqtt_broker: Broker) -> Iterator[Callable[..., direct.DirectPublisher]]:
    """start(url=..., claim_seconds=...) -> this process's publisher, switched on for the test and off after it."""
    saved = {key: app.config[key] for key in ("IOT_DIRECT_PUBLISH", "MQTT_URL", "IOT_DIRECT_CLAIM_SECONDS")}

    def start(url: str | None = None, claim_seconds: float = 10, wait: bool = True) -> direct.DirectPublisher:
        app.config.update(IOT_DIRECT_PUBLISH=True, MQTT_URL=url or mqtt_broker.url,
                          IOT_DIRECT_CLAIM_SECONDS=claim_seconds)
        publisher = direct.publisher_for(app)
        assert publisher is not None
        if wait:
            eventually(publisher.ready, what="the API's publisher to connect")
        return publisher

    yield start
    direct.stop_publisher(app)
    app.config.update(saved)


def send(client: Any, stay: Any, headers: dict[str, str], device_id: int, values: dict[str, Any]) -> int:
    response = client.post(f"{API}/stays/{stay.id}/room/commands", headers=headers,
                           json={"device_id": device_id, "values": values})
    assert response.status_code == 201, response.json
    assert response.json["status"] == "pending"
    return response.json["id"]


def row(command_id: int) -> DeviceCommand:
    with unit_of_work():
        return db.session.get(DeviceCommand, command_id, populate_existing=True)


def test_the_api_process_publishes_the_command_itself_and_records_the_puback(
        client, iot_room, in_house, simulate, direct_publishing):
    guest, stay = in_house
    publisher = direct_publishing()
    devices = simulate(iot_room)  # and no bridge at all: only the API process can deliver it

    command_id = send(client, stay, headers_for(guest), iot_room.devices["light"].id, {"on": True, "brightness": 30})

    eventually(lambda: devices["light"].executed == [command_id], what="the device to carry it out")
    [received] = devices["light"].received
    assert received["_retain"] is False and received["_correlation"]
    assert 1 <= received["_expiry_seconds"] <= 120
    assert received["_response_topic"] == f"{iot_room.devices['light'].topic}/response"
    eventually(lambda: row(command_id).status == "sent", what="the PUBACK recorded")
    command = row(command_id)
    assert command.sent_at is not None and command.publish_count == 1
    assert command.claimed_by is None and command.claimed_until is None
    assert publisher.client_id.startswith("api-")


def test_the_request_s_thread_puts_its_command_on_the_wire_while_paho_s_network_thread_is_busy(
        client, iot_room, in_house, direct_publishing, mqtt_broker):
    """paho itself would leave the command queued until its network thread runs again (mqtt._CallerWritesClient)."""
    guest, stay = in_house
    light = iot_room.devices["light"]
    paho_client = direct_publishing().connection._client
    held, release = threading.Event(), threading.Event()
    read = paho_client.loop_read

    def read_once_released(*args: Any, **kwargs: Any) -> Any:
        held.set()
        release.wait(30)
        return read(*args, **kwargs)

    with Listener(mqtt_broker, f"{light.topic}/set") as listener:
        paho_client.loop_read = read_once_released  # the first command's PUBACK holds the network thread
        try:
            first = send(client, stay, headers_for(guest), light.id, {"brightness": 10})
            eventually(held.is_set, timeout=10, what="the network thread to be held")
            second = send(client, stay, headers_for(guest), light.id, {"brightness": 20})
            eventually(lambda: len(listener.messages) == 2, timeout=10, what="both commands to reach the broker")
        finally:
            release.set()
    assert [json.loads(message.payload)["id"] for message in listener.messages] == [first, second]
    eventually(lambda: row(second).status == "sent", what="its PUBACK recorded once the network thread runs")


def test_with_a_bridge_a_direct_command_is_acknowledged_and_published_once(
        client, iot_room, in_house, start_bridge, simulate, direct_publishing):
    guest, stay = in_house
    headers = headers_for(guest)
    direct_publishing()
    start_bridge()
    devices = simulate(iot_room)

    ids = [send(client, stay, headers, iot_room.devices["light"].id, {"brightness": level}) for level in (10, 20, 30)]

    for command_id in ids:
        eventually(lambda c=command_id: row(c).status == "acknowledged", what=f"command {command_id} acknowledged")
    assert devices["light"].executed == ids and devices["light"].state["brightness"] == 30
    assert [row(c).publish_count for c in ids] == [1, 1, 1]  # no bridge claimed them


def test_a_publish_that_never_left_is_handed_to_the_bridges_at_once(
        client, iot_room, in_house, start_bridge, simulate, direct_publishing, monkeypatch):
    guest, stay = in_house
    publisher = direct_publishing(claim_seconds=60)  # the bridge must not wait for the claim to lapse
    start_bridge()
    devices = simulate(iot_room)
    monkeypatch.setattr(publisher.connection, "publish", lambda message: None)  # the link dropped meanwhile

    command_id = send(client, stay, headers_for(guest), iot_room.devices["curtains"].id, {"position": 70})

    eventually(lambda: row(command_id).status == "acknowledged", timeout=10, what="the bridge to deliver it")
    assert devices["curtains"].executed == [command_id]
    assert row(command_id).publish_count == 2  # claimed by the API process, then by the bridge


def test_a_claim_whose_worker_died_before_publishing_lapses_and_a_bridge_delivers_it(
        client, iot_room, in_house, start_bridge, simulate, direct_publishing, monkeypatch):
    guest, stay = in_house
    publisher = direct_publishing(claim_seconds=1)
    start_bridge()
    devices = simulate(iot_room)
    monkeypatch.setattr(publisher, "publish", lambda message: None)  # committed, then the worker was killed

    command_id = send(client, stay, headers_for(guest), iot_room.devices["light"].id, {"on": True})
    assert row(command_id).claimed_by == publisher.client_id

    eventually(lambda: row(command_id).status == "acknowledged", what="the bridge to deliver it")
    assert devices["light"].executed == [command_id]


def test_without_a_connection_the_api_leaves_its_commands_to_the_bridges(
        client, iot_room, in_house, start_bridge, simulate, direct_publishing):
    guest, stay = in_house
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead_url = f"mqtt://127.0.0.1:{probe.getsockname()[1]}"
    publisher = direct_publishing(url=dead_url, wait=False)
    start_bridge()
    devices = simulate(iot_room)
    assert not publisher.ready()

    command_id = send(client, stay, headers_for(guest), iot_room.devices["light"].id, {"brightness": 55})

    eventually(lambda: row(command_id).status == "acknowledged", what="the bridge to deliver it")
    assert devices["light"].executed == [command_id]
    assert row(command_id).publish_count == 1  # the bridge's claim only: the API process never claimed it


def test_commands_accepted_while_the_broker_is_down_are_delivered_once_after_it_returns(
        client, mqtt_broker, iot_room, in_house, start_bridge, simulate, direct_publishing):
    guest, stay = in_house
    headers = headers_for(guest)
    direct_publishing()
    start_bridge()
    devices = simulate(iot_room)
    light, curtains = iot_room.devices["light"].id, iot_room.devices["curtains"].id

    before = send(client, stay, headers, light, {"brightness": 10})  # published directly, maybe not yet acked
    mqtt_broker.stop()
    during = [send(client, stay, headers, light, {"brightness": 20 + i}) for i in range(3)]
    during.append(send(client, stay, headers, curtains, {"position": 50}))
    mqtt_broker.start()

    for command_id in [before, *during]:
        eventually(lambda c=command_id: row(c).status == "acknowledged", what=f"command {command_id} acknowledged")
    assert sorted(devices["light"].executed + devices["curtains"].executed) == sorted([before, *during])
    assert devices["light"].state["brightness"] == 22


def test_a_device_refuses_a_command_older_than_the_last_it_carried_out(iot_room, simulate, mqtt_broker):
    """Commands may travel by different connections (API workers, bridges): the id decides, so a late "unlock"
    never undoes a later "lock"."""
    devices = simulate(iot_room)
    lock = iot_room.devices["lock"]
    with Listener(mqtt_broker, f"{lock.topic}/response") as answers:
        for command_id, locked in ((7, True), (5, False)):  # 5 was sent first, but arrives last
            answers.connection.publish(mqtt.Outgoing(
                f"{lock.topic}/set", f'{{"id": {command_id}, "values": {{"locked": {str(locked).lower()}}}}}'.encode(),
                expiry_seconds=10, response_topic=f"{lock.topic}/response",
                correlation_data=f"c{command_id}".encode()))
            eventually(lambda n=command_id: any(m.correlation_data == f"c{n}".encode() for m in answers.messages),
                       what=f"the answer to {command_id}")
    by_correlation = {m.correlation_data: m.payload for m in answers.messages}
    assert b'"ok"' in by_correlation[b"c7"] and b"superseded" in by_correlation[b"c5"]
    assert devices["lock"].state["locked"] is True and devices["lock"].executed == [7]


def test_when_the_link_drops_the_commands_without_puback_go_to_the_bridges_at_once(app, client, iot_room, in_house,
                                                                                   direct_publishing, monkeypatch):
    """Not at this connection's reconnect, which may come after the bridges': they would publish newer commands
    for the same device first, and the device would refuse the older one as superseded."""
    guest, stay = in_house
    publisher = direct_publishing(claim_seconds=60)
    monkeypatch.setattr(publisher.connection, "publish", lambda message: 4242)  # on the wire, no PUBACK yet
    command_id = send(client, stay, headers_for(guest), iot_room.devices["light"].id, {"on": True})
    assert row(command_id).claimed_by == publisher.client_id

    publisher._on_event(mqtt.Disconnected(reason="keepalive timeout"))  # as paho's thread reports it

    eventually(lambda: row(command_id).claimed_by is None, what="the claim released")
    assert row(command_id).status == "pending"
