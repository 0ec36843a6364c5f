"""The iot CLI: demo devices, broker access rules, the device simulator."""

from __future__ import annotations

import threading

from app.iot import cli as iot_cli
from tests.factories import headers_for, make_guest, make_stay
from tests.iot.conftest import eventually, make_iot_room


def test_acl_limits_each_room_controller_to_its_own_room(app):
    room = make_iot_room(kinds=["light", "lock"])
    result = app.test_cli_runner().invoke(args=["iot", "acl", "--hotel", room.hotel.code])
    assert result.exit_code == 0, result.output
    base = room.devices["light"].room_topic
    assert f"user {room.hotel.code}-{room.room.number}" in result.output
    assert f"topic read {base}/+/set" in result.output and f"topic write {base}/+/state" in result.output
    unknown = app.test_cli_runner().invoke(args=["iot", "acl", "--hotel", "nowhere"])
    assert unknown.exit_code != 0 and "nowhere" in unknown.output


def test_demo_devices_equip_rooms_once(app):
    make_iot_room(kinds=[])
    first = app.test_cli_runner().invoke(args=["iot", "demo-devices", "--rooms", "2"])
    second = app.test_cli_runner().invoke(args=["iot", "demo-devices", "--rooms", "2"])
    assert "registered 6 demo devices" in first.output and "registered 0 demo devices" in second.output


def test_simulate_runs_virtual_devices_that_report_and_answer_commands(app, client, mqtt_broker, start_bridge,
                                                                       monkeypatch):
    room = make_iot_room(kinds=["light", "sensor"])
    guest = make_guest()
    stay = make_stay(guest, room.room)
    headers = headers_for(guest)
    stops = []
    monkeypatch.setattr(iot_cli, "_on_stop_signals", stops.append)  # signals belong to the main thread
    monkeypatch.setitem(app.config, "MQTT_URL", mqtt_broker.url)
    start_bridge()
    results = []
    runner = threading.Thread(target=lambda: results.append(
        app.test_cli_runner().invoke(args=["iot", "simulate", "--hotel", room.hotel.code])))
    runner.start()
    try:
        eventually(lambda: stops, what="the simulator to start")

        def light():
            devices = client.get(f"/api/v1/stays/{stay.id}/room/devices", headers=headers).json
            return next(device for device in devices if device["kind"] == "light")

        eventually(lambda: light()["available"] is True, what="the simulated light online")
        command = client.post(f"/api/v1/stays/{stay.id}/room/commands", headers=headers,
                              json={"device_id": room.devices["light"].id, "values": {"brightness": 42}}).json
        eventually(lambda: client.get(f"/api/v1/stays/{stay.id}/room/commands/{command['id']}",
                                      headers=headers).json["status"] == "acknowledged", what="the answer")
        eventually(lambda: (light()["state"] or {}).get("brightness") == 42, what="the new state")
    finally:
        for stop in stops:
            stop()
        runner.join(timeout=15)
    assert results and results[0].exit_code == 0, results and results[0].output
    assert "simulating 2 devices" in results[0].output
