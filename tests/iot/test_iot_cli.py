"""The iot CLI: demo devices, broker access rules."""

from __future__ import annotations

from tests.iot.conftest import make_iot_room


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
