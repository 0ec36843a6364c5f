"""The bridge end to end against a real Mosquitto, with simulated room controllers, through the API."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

from sqlalchemy.exc import OperationalError

from app.core import clock
from app.core.auth import Role
from app.core.db import unit_of_work
from app.core.events import DomainEvent, events_after
from app.extensions import db
from app.iot import mqtt, services
from app.iot.models import DeviceReading
from tests.factories import headers_for, make_guest, make_staff, make_stay
from tests.iot.conftest import Listener, eventually, make_iot_room

API = "/api/v1"


def command_status(client, headers, stay_id, command_id):
    return client.get(f"{API}/stays/{stay_id}/room/commands/{command_id}", headers=headers).json["status"]


def device_view(client, headers, stay_id, kind):
    devices = client.get(f"{API}/stays/{stay_id}/room/devices", headers=headers).json
    return next(device for device in devices if device["kind"] == kind)


def test_guest_command_is_acknowledged_and_the_new_state_is_visible(client, iot_room, in_house, start_bridge,
                                                                     simulate):
    guest, stay = in_house
    headers = headers_for(guest)
    start_bridge()
    devices = simulate(iot_room)
    eventually(lambda: device_view(client, headers, stay.id, "light")["available"] is True, what="light online")

    response = client.post(f"{API}/stays/{stay.id}/room/commands", headers=headers,
                           json={"device_id": iot_room.devices["light"].id, "values": {"on": True, "brightness": 40}})
    assert response.status_code == 201 and response.json["status"] == "pending"
    command_id = response.json["id"]

    eventually(lambda: command_status(client, headers, stay.id, command_id) == "acknowledged", what="the ack")
    assert device_view(client, headers, stay.id, "light")["state"]["brightness"] == 40 or eventually(
        lambda: device_view(client, headers, stay.id, "light")["state"]["brightness"] == 40, what="light state")
    [received] = devices["light"].received
    assert received["id"] == command_id and received["values"] == {"on": True, "brightness": 40}
    assert received["_retain"] is False
    assert received["_response_topic"] == f"{iot_room.devices['light'].topic}/response"
    assert received["_correlation"] and 1 <= received["_expiry_seconds"] <= 120
    body = client.get(f"{API}/stays/{stay.id}/room/commands/{command_id}", headers=headers).json
    assert body["sent_at"] and body["completed_at"] and body["result"]["status"] == "ok"


def test_the_simulated_device_answers_before_it_publishes_its_new_state(client, mqtt_broker, iot_room, in_house,
                                                                         start_bridge, simulate):
    # docs/mqtt.md, "Acknowledgement": the answer is what the guest's app waits for, the state only keeps views fresh.
    guest, stay = in_house
    start_bridge()
    simulate(iot_room)
    light = iot_room.devices["light"]
    with Listener(mqtt_broker, f"{light.topic}/#") as listener:
        response = client.post(f"{API}/stays/{stay.id}/room/commands", headers=headers_for(guest),
                               json={"device_id": light.id, "values": {"brightness": 70}})
        assert response.status_code == 201

        def after_the_command() -> list[str]:
            leaves = [message.topic.rsplit("/", 1)[1] for message in listener.messages if not message.retain]
            return leaves[leaves.index("set"):] if "set" in leaves else []

        eventually(lambda: {"response", "state"} <= set(after_the_command()), what="the answer and the new state")
    assert after_the_command()[:3] == ["set", "response", "state"]
    assert json.loads(next(m.payload for m in listener.messages if m.topic.endswith("/state") and not m.retain)
                      )["brightness"] == 70


def test_a_device_s_answer_is_recorded_while_the_bridge_s_loop_is_busy(client, iot_room, in_house, start_bridge,
                                                                      simulate):
    """Answers have a thread of their own: the loop storing a batch of states (or the rooms' aggregates, or the
    outbox) does not hold them up. Before, the answer waited behind the device's own state report."""
    guest, stay = in_house
    headers = headers_for(guest)
    bridge = start_bridge().bridge
    simulate(iot_room)
    eventually(lambda: device_view(client, headers, stay.id, "light")["available"] is True, what="light online")
    busy, release = threading.Event(), threading.Event()
    store, light_state = bridge._handle_messages, f"{iot_room.devices['light'].topic}/state"

    def held_up(messages):
        # Only the light's new state holds the loop up: before it, the loop publishes the command (the outbox is
        # the loop's) and may still be storing other retained states the test broker kept from earlier tests.
        if any(m.topic == light_state and json.loads(m.payload).get("brightness") == 70 for m in messages):
            busy.set()
            release.wait(30)  # longer than the wait for the answer below: the answer must not need the loop
        store(messages)

    bridge._handle_messages = held_up
    try:
        response = client.post(f"{API}/stays/{stay.id}/room/commands", headers=headers,
                               json={"device_id": iot_room.devices["light"].id, "values": {"brightness": 70}})
        assert busy.wait(5), "the light's new state reached the loop"
        eventually(lambda: command_status(client, headers, stay.id, response.json["id"]) == "acknowledged",
                   what="the answer, while the loop is busy", timeout=10)
    finally:
        release.set()
    eventually(lambda: device_view(client, headers, stay.id, "light")["state"]["brightness"] == 70,
               what="the state, once the loop is free")


def test_unlock_is_short_lived_audited_and_never_retained(client, mqtt_broker, iot_room, in_house, start_bridge,
                                                          simulate):
    guest, stay = in_house
    headers = headers_for(guest)
    start_bridge()
    devices = simulate(iot_room)
    response = client.post(f"{API}/stays/{stay.id}/room/unlock", headers=headers)
    assert response.status_code == 201
    eventually(lambda: command_status(client, headers, stay.id, response.json["id"]) == "acknowledged",
               what="the unlock ack")
    assert devices["lock"].state["locked"] is False
    assert devices["lock"].received[0]["_expiry_seconds"] <= 10

    # A subscriber that connects now gets every retained message of the hotel: states yes, a command never.
    with Listener(mqtt_broker, f"hotel/{iot_room.hotel.code}/#") as listener:
        eventually(lambda: any(m.topic.endswith("/lock/state") for m in listener.messages), what="retained state")
        time.sleep(0.5)  # let every retained message arrive
    retained = [m.topic for m in listener.messages if m.retain]
    assert f"{iot_room.devices['lock'].topic}/state" in retained
    assert not [topic for topic in retained if topic.endswith("/set")]


def test_commands_accepted_while_the_broker_is_down_are_delivered_once_after_it_returns(
        client, mqtt_broker, iot_room, in_house, start_bridge, simulate):
    guest, stay = in_house
    headers = headers_for(guest)
    start_bridge()
    devices = simulate(iot_room)
    light, curtains = iot_room.devices["light"].id, iot_room.devices["curtains"].id

    def send(device_id, values):
        response = client.post(f"{API}/stays/{stay.id}/room/commands", headers=headers,
                               json={"device_id": device_id, "values": values})
        assert response.status_code == 201
        return response.json["id"]

    before = send(light, {"brightness": 10})  # in flight when the broker goes away, or already delivered
    mqtt_broker.stop()
    during = [send(light, {"brightness": 20 + i}) for i in range(3)] + [send(curtains, {"position": 50})]
    assert {command_status(client, headers, stay.id, c) for c in during} == {"pending"}
    mqtt_broker.start()

    for command_id in [before, *during]:
        eventually(lambda c=command_id: command_status(client, headers, stay.id, c) == "acknowledged",
                   what=f"command {command_id} acknowledged")
    executed = devices["light"].executed + devices["curtains"].executed
    assert sorted(executed) == sorted([before, *during])  # none lost, none repeated
    assert devices["light"].state["brightness"] == 22


def test_an_expired_unlock_is_never_delivered(client, app, iot_room, in_house, start_bridge, simulate):
    guest, stay = in_house
    headers = headers_for(guest)
    # Accepted 20 s ago (the bridge was down): its 10 s have passed before any bridge could publish it.
    with clock.frozen(clock.now() - timedelta(seconds=20)):
        late = client.post(f"{API}/stays/{stay.id}/room/unlock", headers=headers).json["id"]
    devices = simulate(iot_room)
    start_bridge()
    eventually(lambda: command_status(client, headers, stay.id, late) == "expired", what="the unlock to expire")
    fresh = client.post(f"{API}/stays/{stay.id}/room/commands", headers=headers,
                        json={"device_id": iot_room.devices["light"].id, "values": {"on": True}}).json["id"]
    eventually(lambda: command_status(client, headers, stay.id, fresh) == "acknowledged", what="a later command")
    assert devices["lock"].received == [] and devices["lock"].state["locked"] is True


def test_the_broker_drops_an_unlock_whose_expiry_passes_while_the_lock_is_offline(
        client, app, iot_room, in_house, start_bridge, simulate):
    guest, stay = in_house
    headers = headers_for(guest)
    devices = simulate(iot_room)
    devices["lock"].kill()  # the lock's persistent session stays: the broker queues commands for it
    start_bridge()
    # Only once the broker has seen the connection drop (its last will: offline) does it queue instead of starting
    # delivery; a delivery started on a half-dead connection is resent at reconnect without expiry (MQTT 5 spec,
    # 3.3.2.3.3), which is why devices also check `expires_at` themselves (asserted at the end).
    eventually(lambda: device_view(client, headers, stay.id, "lock")["available"] is False, what="the lock offline")
    ttl = 8  # long enough for the bridge to hand it to the broker on a loaded machine, short for a test
    app.config["IOT_LOCK_COMMAND_TTL_SECONDS"] = ttl
    try:
        accepted_at = time.monotonic()
        unlock = client.post(f"{API}/stays/{stay.id}/room/unlock", headers=headers).json["id"]
    finally:
        app.config["IOT_LOCK_COMMAND_TTL_SECONDS"] = 10
    status = eventually(lambda: command_status(client, headers, stay.id, unlock) != "pending" and
                        command_status(client, headers, stay.id, unlock), what="the unlock at the broker")
    assert status == "sent"  # the broker holds it for the lock's session
    time.sleep(max(0.0, accepted_at + ttl + 0.5 - time.monotonic()))  # past the message expiry
    devices["lock"].connection = mqtt.Connection(  # the lock comes back with the same client id and session
        devices["lock"].connection.settings, client_id=devices["lock"].connection.client_id,
        on_event=devices["lock"]._on_event, subscriptions=[(f"{iot_room.devices['lock'].topic}/set", 1)])
    devices["lock"].start()
    eventually(lambda: devices["lock"].connection.connected, what="the lock to reconnect")
    time.sleep(1)
    assert devices["lock"].received == []
    assert unlock not in devices["lock"].executed


def test_killing_a_device_connection_flips_its_availability(client, iot_room, in_house, start_bridge, simulate):
    guest, stay = in_house
    headers = headers_for(guest)
    start_bridge()
    devices = simulate(iot_room)
    eventually(lambda: device_view(client, headers, stay.id, "climate")["available"] is True, what="online")
    devices["climate"].kill()
    eventually(lambda: device_view(client, headers, stay.id, "climate")["available"] is False, what="offline")


def test_dnd_round_trip_between_app_and_room(client, iot_room, in_house, start_bridge, simulate):
    guest, stay = in_house
    headers = headers_for(guest)
    start_bridge()
    devices = simulate(iot_room)
    assert client.put(f"{API}/stays/{stay.id}/room-status", headers=headers, json={"state": "dnd"}).status_code == 200
    eventually(lambda: devices["indicator"].state["mode"] == "dnd", what="the indicator to show DND")

    devices["indicator"].press_button("make_up_room")
    eventually(lambda: client.get(f"{API}/stays/{stay.id}", headers=headers).json["room_state"] == "make_up_room",
               what="the button to reach the API")
    with unit_of_work():
        changes = events_after(0, types=["room.dnd_changed"])
        assert [(e.payload["state"], e.payload["source"]) for e in changes] == [
            ("dnd", "app"), ("make_up_room", "device")]


def test_welcome_scene_at_check_in_in_two_hotels_from_the_same_preferences(client, start_bridge, simulate):
    rooms = [make_iot_room(kinds=["climate", "light", "curtains"]) for _ in range(2)]
    guest = make_guest()
    headers = headers_for(guest)
    preferences = {"room_temperature_c": 22.5, "light_level": 35, "curtains_position": 30}
    assert client.put(f"{API}/me/preferences", headers=headers, json=preferences).status_code == 200
    bookings = [make_stay(guest, room.room, status="confirmed", room_id=None, checked_in_at=None) for room in rooms]
    start_bridge()
    simulated = [simulate(room) for room in rooms]
    for booking in bookings:  # the guest checks in from the app, in one hotel of the chain and then in another
        checked_in = client.post(f"{API}/bookings/{booking.id}/actions/check-in", headers=headers)
        assert checked_in.status_code == 200, checked_in.json
    for devices in simulated:
        eventually(lambda d=devices: d["climate"].state["setpoint_c"] == 22.5 and d["climate"].state["power"],
                   what="the welcome setpoint")
        eventually(lambda d=devices: d["light"].state == {"on": True, "brightness": 35}, what="the welcome light")
        eventually(lambda d=devices: d["curtains"].state["position"] == 30, what="the curtains as preferred")


def test_a_fault_records_one_fault_event_however_often_it_is_reported(client, iot_room, in_house, start_bridge,
                                                                      simulate):
    start_bridge()
    devices = simulate(iot_room)
    climate = devices["climate"]
    for temperature in (25.0, 26.0, 27.0):
        climate.report(fault="compressor", temperature_c=temperature)

    def readings():
        with unit_of_work():
            return db.session.query(DeviceReading).filter_by(device_id=iot_room.devices["climate"].id,
                                                             available=None).count()

    eventually(lambda: readings() >= 4, what="every report stored")  # the first state + three reports
    with unit_of_work():
        faults = events_after(0, types=["device.fault"])
    assert len(faults) == 1 and faults[0].payload["fault"] == "compressor"
    # ... and exactly one maintenance request, in the staff queue of the room's hotel.
    desk = headers_for(make_staff(Role.FRONT_DESK, [iot_room.hotel]))
    repairs = client.get(f"{API}/staff/queue?type=repair", headers=desk).json["items"]
    assert [(r["department"], r["created_by_kind"], r["details"]["device_id"], r["details"]["fault"])
            for r in repairs] == [("maintenance", "system", iot_room.devices["climate"].id, "compressor")]
    climate.report(fault=None)  # fixed, then it breaks again while the request is still open: no second request
    climate.report(fault="compressor")
    eventually(lambda: readings() >= 6, what="the later reports stored")
    assert len(client.get(f"{API}/staff/queue?type=repair", headers=desk).json["items"]) == 1


def test_a_bad_payload_is_skipped_and_the_bridge_carries_on(client, mqtt_broker, iot_room, in_house, start_bridge):
    guest, stay = in_house
    headers = headers_for(guest)
    start_bridge()
    topic = iot_room.devices["sensor"].topic
    with Listener(mqtt_broker, "nothing/here") as sender:
        for payload in (b"{not json", b"[1, 2]", b"\xff\xfe", b"maybe"):
            sender.publish(f"{topic}/state", payload)
            sender.publish(f"{topic}/availability", payload)
        sender.publish(f"{topic}/response", b'{"status": "ok"}')  # no correlation data
        sender.publish(f"{topic}/state", b'{"occupancy": true, "temperature_c": 21.5}')
    eventually(lambda: (device_view(client, headers, stay.id, "sensor")["state"] or {}).get("occupancy") is True,
               what="the good message after the bad ones")


def test_two_bridges_in_one_group_split_the_messages(client, iot_room, in_house, start_bridge, simulate):
    first = start_bridge()
    second = start_bridge(shared_group=first.bridge.settings.shared_group)
    devices = simulate(iot_room)
    for level in range(1, 21):
        devices["light"].report(brightness=level)

    def light_readings():
        with unit_of_work():
            return db.session.query(DeviceReading).filter_by(device_id=iot_room.devices["light"].id,
                                                             available=None).count()

    eventually(lambda: light_readings() == 21, what="each state stored once")  # initial state + 20
    time.sleep(0.5)
    assert light_readings() == 21
    assert first.bridge.handled and second.bridge.handled  # both took a share
    with unit_of_work():
        changed = db.session.query(DomainEvent).filter_by(type="device.state_changed").count()
    assert changed >= 21


def test_messages_wait_out_a_database_outage_instead_of_being_skipped(client, iot_room, in_house, start_bridge,
                                                                        simulate, monkeypatch):
    guest, stay = in_house
    headers = headers_for(guest)
    start_bridge()
    devices = simulate(iot_room)
    eventually(lambda: device_view(client, headers, stay.id, "climate")["available"] is True, what="online")
    real_record, failures = services.record_reports, []

    def database_down(**kwargs):  # the bridge's next unit-of-work attempts meet a lost connection
        if len(failures) < 4:
            failures.append(kwargs["reports"])
            raise OperationalError("INSERT INTO device_readings ...", {}, Exception("server closed the connection"))
        return real_record(**kwargs)

    monkeypatch.setattr(services, "record_reports", database_down)
    devices["climate"].kill()  # its last will: "offline", which must not be lost to the outage
    eventually(lambda: device_view(client, headers, stay.id, "climate")["available"] is False, what="offline")
    assert len(failures) == 4 and all(batch == failures[0] for batch in failures)  # the same batch, again
