"""IoT rules without a broker: the outbox's expiry and claims, acknowledgements, subscribers, upkeep jobs,
and the bridge's message handling driven with a fake connection."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from app.bookings import services as bookings
from app.core import clock
from app.core.db import unit_of_work
from app.core.events import DomainEvent, events_after, record
from app.extensions import db
from app.iot import bridge as bridge_module
from app.iot import jobs, mqtt, services
from app.iot.bridge import Bridge, BridgeSettings
from app.iot.models import CommandStatus, Device, DeviceCommand, DeviceReading
from app.iot.services import ingest
from app.requests.models import ServiceRequest
from tests.factories import make_guest, make_stay
from tests.iot.conftest import make_iot_room


def issue(device, values, **kwargs):
    with unit_of_work():
        return services.issue(device=db.session.merge(device), values=values, issued_by="system", source="test",
                              **kwargs)


def status_of(command_id):
    with unit_of_work():
        return db.session.get(DeviceCommand, command_id).status


def test_claim_publishes_with_the_expiry_left_rounded_down_and_expires_what_is_too_late(iot_room):
    start = clock.now()
    with clock.frozen(start) as advance:
        lock = issue(iot_room.devices["lock"], {"locked": False})  # 10 s
        light = issue(iot_room.devices["light"], {"on": True})  # 120 s
        advance(timedelta(seconds=3.5))
        with unit_of_work():
            due = services.claim_due_commands(bridge_id="b1")
        assert [(c.command_id, c.expiry_seconds) for c in due] == [(lock.id, 6), (light.id, 116)]
        body = json.loads(due[0].payload)
        assert body["values"] == {"locked": False} and due[0].topic.endswith("/lock/set")
        assert due[0].response_topic.endswith("/lock/response") and due[0].correlation_data
        advance(timedelta(seconds=6))  # 0.5 s left on the unlock: never published again
        with unit_of_work():
            again = services.claim_due_commands(bridge_id="b1")
    assert [c.command_id for c in again] == [light.id]
    assert status_of(lock.id) == CommandStatus.EXPIRED


def test_a_command_claimed_by_one_bridge_is_left_alone_by_another_until_the_claim_lapses(iot_room):
    command = issue(iot_room.devices["light"], {"on": True})
    with clock.frozen(clock.now()) as advance:
        with unit_of_work():
            assert [c.command_id for c in services.claim_due_commands(bridge_id="b1")] == [command.id]
        with unit_of_work():
            assert services.claim_due_commands(bridge_id="b2") == []
        advance(timedelta(seconds=31))
        with unit_of_work():
            assert [c.command_id for c in services.claim_due_commands(bridge_id="b2")] == [command.id]


def test_a_sent_command_left_unanswered_is_published_again_until_answered_or_nearly_expired(app, iot_room):
    retry = app.config["IOT_ANSWER_RETRY_SECONDS"]
    lock = issue(iot_room.devices["lock"], {"locked": True})  # 10 s
    light = issue(iot_room.devices["light"], {"on": True})  # 120 s
    start = clock.now()
    with clock.frozen(start) as advance:
        with unit_of_work():
            assert len(services.claim_due_commands(bridge_id="b1")) == 2
            services.mark_sent_many(command_ids=[lock.id, light.id])
        advance(timedelta(seconds=retry - 0.5))
        with unit_of_work():
            assert services.claim_due_commands(bridge_id="b1") == []  # the answer may still come
        advance(timedelta(seconds=1))
        with unit_of_work():  # no answer: both again, with what is left of their expiry
            assert [(c.command_id, c.expiry_seconds) for c in services.claim_due_commands(bridge_id="b2")] == [
                (lock.id, 10 - retry - 1), (light.id, 120 - retry - 1)]
        with unit_of_work():
            assert services.claim_due_commands(bridge_id="b1") == []  # not again at once
            services.record_response(correlation_id=light.correlation_id, response={"status": "ok"})
        advance(timedelta(seconds=retry + 0.5))  # the lock has under a second left: its expiry job's, not ours
        with unit_of_work():
            assert services.claim_due_commands(bridge_id="b1") == []
    with unit_of_work():
        assert db.session.get(DeviceCommand, lock.id, populate_existing=True).status == CommandStatus.SENT
        assert db.session.get(DeviceCommand, light.id, populate_existing=True).publish_count == 2


def test_acknowledgement_moves_the_command_once_and_records_events(iot_room):
    command = issue(iot_room.devices["light"], {"on": True})
    with unit_of_work():
        services.mark_sent(command_id=command.id)
    with unit_of_work():
        services.record_response(correlation_id=command.correlation_id, response={"status": "ok"})
    with unit_of_work():
        services.record_response(correlation_id=command.correlation_id, response={"status": "error"})
        services.mark_sent(command_id=command.id)  # a late PUBACK changes nothing either
    assert status_of(command.id) == CommandStatus.ACKNOWLEDGED
    with unit_of_work():
        types = [e.type for e in events_after(0) if e.type.startswith("command.")]
    assert types == ["command.sent", "command.acknowledged"]


def test_answers_recorded_in_one_statement_match_the_one_by_one_path(iot_room):
    """PostgreSQL's one-statement path (the bridge's, for answers) writes what record_response writes: the same
    status, result and times, and events with the same type, guest, subject and payload, in the answers' order."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the one-statement path is PostgreSQL's")
    guest = make_guest()
    commands = []
    for values in ({"on": True}, {"on": False}):
        with unit_of_work():
            commands.append(services.issue(device=db.session.merge(iot_room.devices["light"]), values=values,
                                           issued_by=f"guest:{guest.id}", source="app"))
    by_statement, by_objects = commands
    report = lambda command, status: ingest.Report("response", "t", {"status": status},  # noqa: E731
                                                   correlation_id=command.correlation_id)
    moved = services.record_answers_at_once(reports=[
        report(by_statement, "ok"), report(by_statement, "error"),  # repeated in the batch: the first counts
        ingest.Report("response", "t", {"status": "ok"}, correlation_id="unknown")])
    assert moved == [by_statement.id]
    assert services.record_answers_at_once(reports=[report(by_statement, "error")]) == []  # answered already
    with unit_of_work(), pytest.raises(RuntimeError, match="outside a unit of work"):  # it would commit on its own
        services.record_answers_at_once(reports=[report(by_objects, "ok")])
    with unit_of_work():
        services.record_response(correlation_id=by_objects.correlation_id, response={"status": "ok"})
    with unit_of_work():
        rows = {c.id: c for c in db.session.scalars(select(DeviceCommand).execution_options(populate_existing=True))}
        recorded = [e for e in events_after(0) if e.type.startswith("command.")]
    for command in commands:
        row = rows[command.id]
        assert (row.status, row.result, row.claimed_by) == (CommandStatus.ACKNOWLEDGED, {"status": "ok"}, None)
        assert row.completed_at is not None and row.sent_at == row.completed_at  # answered before any PUBACK
    assert [(e.type, e.hotel_id, e.guest_id, e.subject_id) for e in recorded] == [
        ("command.acknowledged", iot_room.hotel.id, guest.id, by_statement.id),
        ("command.acknowledged", iot_room.hotel.id, guest.id, by_objects.id)]
    assert recorded[0].payload == recorded[1].payload == {
        "device_id": iot_room.devices["light"].id, "room_id": iot_room.room.id, "source": "app"}


def test_states_recorded_in_one_statement_match_the_unit_of_work_path(iot_room):
    """PostgreSQL's one-statement path (the bridge's, for a batch of states) writes what record_states writes:
    the latest state, a history row and a `device.state_changed` event per change, in order, and the same rooms;
    a batch with a report that needs the rules is left, unwritten, to the unit of work."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the one-statement path is PostgreSQL's")
    light, sensor = iot_room.devices["light"], iot_room.devices["sensor"]
    state = lambda device, **values: ingest.Report("state", device.topic, values)  # noqa: E731
    batch = [state(light, on=True), state(sensor, occupancy=True), state(light, on=True),  # a repeat: no change
             state(light, on=False), ingest.Report("state", "hotel/nowhere/room/1/x", {"on": True})]

    def written() -> tuple[dict, list, list]:
        with unit_of_work():
            latest = {d.id: d.state for d in db.session.scalars(
                select(Device).execution_options(populate_existing=True))}
            history = [(r.device_id, r.state) for r in db.session.query(DeviceReading).order_by(DeviceReading.id)]
            changed = [(e.hotel_id, e.subject_id, e.payload) for e in events_after(0, types=["device.state_changed"])]
        return latest, history, changed

    with unit_of_work(), pytest.raises(RuntimeError, match="outside a unit of work"):  # it would commit on its own
        services.record_states_at_once(reports=batch)
    assert services.record_states_at_once(reports=batch) == {iot_room.room.id}  # the sensor's room
    by_statement = written()
    with unit_of_work():
        db.session.execute(delete(DeviceReading))
        db.session.execute(delete(DomainEvent))
        for device in (light, sensor):
            db.session.execute(update(Device).where(Device.id == device.id).values(state=None))
    with unit_of_work():
        assert ingest.record_states(states=[(r.device_topic, r.value) for r in batch]) == {iot_room.room.id}
    assert written() == by_statement
    assert by_statement[1] == [(light.id, {"on": True}), (sensor.id, {"occupancy": True}), (light.id, {"on": False})]
    assert services.record_states_at_once(reports=[state(light, on=True), state(sensor, fault="wiring")]) is None
    assert written() == by_statement  # nothing written: the fault rule is the unit of work's


def test_a_puback_marked_while_the_answer_is_being_recorded_never_undoes_the_answer(app, iot_room):
    """The device's answer (a bridge) and the PUBACK (the API process, or another bridge) are recorded by two
    transactions at once: the answer must stand, whichever commits first (PostgreSQL; SQLite serialises writers)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL")
    command = issue(iot_room.devices["light"], {"on": True})
    answer_holds_its_locks, marking_started = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def record_answer() -> None:
        try:
            with app.app_context(), unit_of_work():
                services.record_response(correlation_id=command.correlation_id, response={"status": "ok"})
                answer_holds_its_locks.set()
                marking_started.wait(5)
                time.sleep(0.3)  # the PUBACK's transaction is now waiting for this one
        except BaseException as error:
            failures.append(error)

    answering = threading.Thread(target=record_answer)
    answering.start()
    assert answer_holds_its_locks.wait(5)
    with app.app_context(), unit_of_work():
        marking_started.set()
        services.mark_sent_many(command_ids=[command.id])
    answering.join(10)
    assert not failures
    with unit_of_work():
        assert db.session.get(DeviceCommand, command.id, populate_existing=True).status == CommandStatus.ACKNOWLEDGED


def test_expire_job_expires_pending_and_unacknowledged_commands(app, iot_room):
    pending = issue(iot_room.devices["light"], {"on": True})
    sent = issue(iot_room.devices["curtains"], {"position": 10})
    with unit_of_work():
        services.mark_sent(command_id=sent.id)
    with clock.frozen(clock.now() + timedelta(seconds=121)):
        assert jobs.expire_overdue_commands() == 1  # the sent one still has its grace
        assert status_of(pending.id) == CommandStatus.EXPIRED
    with clock.frozen(clock.now() + timedelta(seconds=121 + app.config["IOT_ACK_GRACE_SECONDS"])):
        assert jobs.expire_overdue_commands() == 1
    assert status_of(sent.id) == CommandStatus.EXPIRED


def test_dnd_from_the_app_lights_the_indicator_but_the_button_does_not_echo(iot_room):
    guest = make_guest()
    stay = make_stay(guest, iot_room.room)
    with unit_of_work():
        bookings.set_room_state(booking=db.session.merge(stay), state="dnd", source="app")
    with unit_of_work():
        commands = db.session.query(DeviceCommand).all()
        assert [(c.device_id, c.values, c.source) for c in commands] == [
            (iot_room.devices["indicator"].id, {"mode": "dnd"}, "dnd")]
    with unit_of_work():
        services.record_state(device_topic=iot_room.devices["indicator"].topic,
                              state={"mode": "make_up_room", "changed_by": "button"})
    with unit_of_work():
        assert db.session.query(DeviceCommand).count() == 1
        assert bookings.occupied_stay_for_room(room_id=iot_room.room.id).room_state == "make_up_room"


def test_check_in_event_queues_the_welcome_scene_from_preferences(iot_room):
    guest = make_guest()
    stay = make_stay(guest, iot_room.room)
    with unit_of_work():
        record("booking.checked_in", hotel_id=iot_room.hotel.id, guest_id=guest.id, subject_id=stay.id,
               payload={"room_id": iot_room.room.id, "room_number": iot_room.room.number, "language": "ru",
                        "preferences": {"room_temperature_c": "21.5", "light_level": None}})
    with unit_of_work():
        values = {c.device_id: c.values for c in db.session.query(DeviceCommand)}
    assert values == {
        iot_room.devices["climate"].id: {"power": True, "mode": "auto", "setpoint_c": 21.5},
        iot_room.devices["light"].id: {"on": True, "brightness": 70},
        iot_room.devices["curtains"].id: {"position": 100},
    }


def test_checkout_event_resets_the_room(iot_room):
    guest = make_guest()
    stay = make_stay(guest, iot_room.room, status="checked_out")
    with unit_of_work():
        record("booking.checked_out", hotel_id=iot_room.hotel.id, guest_id=guest.id, subject_id=stay.id)
    with unit_of_work():
        sources = {c.source for c in db.session.query(DeviceCommand)}
        assert sources == {"scene:checkout"} and db.session.query(DeviceCommand).count() == 4


def test_offline_device_in_an_occupied_room_alerts_once_per_outage(app, iot_room):
    make_stay(make_guest(), iot_room.room)
    climate = iot_room.devices["climate"]
    with unit_of_work():
        services.record_availability(device_topic=climate.topic, online=False)
    later = clock.now() + timedelta(minutes=app.config["IOT_OFFLINE_ALERT_MINUTES"] + 1)
    with clock.frozen(later):
        assert jobs.alert_offline_devices() == 1
        assert jobs.alert_offline_devices() == 0
    with unit_of_work():
        [fault] = events_after(0, types=["device.fault"])
    assert fault.subject_id == climate.id and fault.payload["reason"] == "offline"
    with unit_of_work():
        [repair] = db.session.scalars(select(ServiceRequest).where(ServiceRequest.type == "repair")).all()
    assert (repair.room_id, repair.details["device_id"], repair.details["reason"]) == (
        iot_room.room.id, climate.id, "offline")


def test_a_fault_in_an_empty_room_opens_no_request(iot_room):
    """Requests belong to a stay: the fault stays visible as an event (staff stream) and on the device."""
    with unit_of_work():
        services.record_state(device_topic=iot_room.devices["climate"].topic, state={"fault": "compressor"})
    with unit_of_work():
        assert len(events_after(0, types=["device.fault"])) == 1
        assert db.session.scalars(select(ServiceRequest)).all() == []


def test_history_older_than_the_retention_is_purged(app, iot_room):
    sensor = iot_room.devices["sensor"]
    with clock.frozen(clock.now() - timedelta(days=app.config["IOT_HISTORY_DAYS"] + 1)), unit_of_work():
        services.record_state(device_topic=sensor.topic, state={"temperature_c": 20})
    with unit_of_work():
        services.record_state(device_topic=sensor.topic, state={"temperature_c": 21})
    assert jobs.purge_device_history() == 1
    with unit_of_work():
        assert [r.state for r in db.session.query(DeviceReading)] == [{"temperature_c": 21}]


class FakeConnection:
    """Stands in for mqtt.Connection: records publishes, hands out message ids."""

    def __init__(self) -> None:
        self.connected = True
        self.link = 1
        self.published: list[mqtt.Outgoing] = []

    def publish(self, message: mqtt.Outgoing, *, link: int | None = None) -> int | None:
        if not self.connected or (link is not None and link != self.link):
            return None
        self.published.append(message)
        return len(self.published)


def fake_bridge(app) -> Bridge:
    bridge = Bridge(app, BridgeSettings(broker=mqtt.BrokerSettings(host="unused"), bridge_id="fake"))
    bridge.connection = FakeConnection()
    return bridge


def test_bridge_publishes_commands_and_redoes_the_unconfirmed_after_a_reconnect(app, iot_room):
    bridge = fake_bridge(app)
    command = issue(iot_room.devices["light"], {"on": True})
    bridge._publish_commands()
    assert [m.topic for m in bridge.connection.published] == [f"{iot_room.devices['light'].topic}/set"]
    published = bridge.connection.published[0]
    assert published.qos == 1 and published.retain is False and published.expiry_seconds <= 120
    bridge._publish_commands()
    assert len(bridge.connection.published) == 1  # in flight: not published twice
    bridge._handle(mqtt.Connected(session_present=True, dropped_mids=[1], link=1))  # the PUBACK never came
    bridge._publish_commands()
    sets = [mid for mid, m in enumerate(bridge.connection.published, start=1) if m.topic.endswith("/set")]
    assert len(sets) == 2  # published again (discovery configs went out on connect too)
    bridge._handle(mqtt.Published(mid=sets[1], ok=True))
    bridge._publish_commands()
    assert len([m for m in bridge.connection.published if m.topic.endswith("/set")]) == 2  # PUBACKed: not again
    bridge._drain(0.01)  # the loop is idle: PUBACKed commands are marked sent
    assert status_of(command.id) == CommandStatus.SENT


def test_after_a_reconnect_a_device_gets_its_commands_in_order(app, iot_room):
    """paho's thread reports the new connection before the bridge's loop has handled the reconnect (and learnt
    which publishes were dropped): a newer command published in that gap would overtake the dropped older one,
    which the device would then refuse as superseded."""
    bridge = fake_bridge(app)
    bridge._handle(mqtt.Connected(session_present=False, link=1))
    light = iot_room.devices["light"]

    def commands_published():
        return [json.loads(m.payload)["id"] for m in bridge.connection.published if m.topic.endswith("/set")]

    older = issue(light, {"brightness": 10})
    bridge._tick()
    assert commands_published() == [older.id]
    bridge.connection.link = 2  # the link dropped (no PUBACK for `older`) and came back: connected again
    newer = issue(light, {"brightness": 20})
    bridge._tick()
    assert commands_published() == [older.id]  # the loop has not seen the reconnect yet: it waits
    bridge._handle(mqtt.Disconnected(reason="gone"))
    bridge._tick()
    mid_of_older = next(mid for mid, command_id in bridge.inflight.items() if command_id == older.id)
    bridge._handle(mqtt.Connected(session_present=True, dropped_mids=[mid_of_older], link=2))
    bridge._tick()
    assert commands_published() == [older.id, older.id, newer.id]


def test_bridge_skips_bad_messages_and_keeps_handling(app, iot_room):
    bridge = fake_bridge(app)
    topic = iot_room.devices["sensor"].topic
    for payload in (b"{", b"[]", b"\xff", b'"text"', b"{}" * 10000):
        bridge._handle(mqtt.Received(topic=f"{topic}/state", payload=payload))
    bridge._handle(mqtt.Received(topic=f"{topic}/response", payload=b"{}"))
    bridge._handle(mqtt.Received(topic=f"{topic}/response", payload=b"{}", correlation_data=b"\xff"))
    bridge._handle(mqtt.Received(topic="hotel/x/room/1/state", payload=b"{}"))
    bridge._handle(mqtt.Received(topic=f"{topic}/state", payload=b'{"occupancy": true}'))
    with unit_of_work():
        assert [r.state for r in db.session.query(DeviceReading)] == [{"occupancy": True}]
    assert bridge.dirty_rooms == {iot_room.room.id}


def test_discovery_configs_are_read_only_and_point_at_the_device_topics(iot_room):
    with unit_of_work():
        configs = dict(services.discovery_configs())
    assert len(configs) == 6
    config = next(c for t, c in configs.items() if t.endswith(f"_{iot_room.room.number}_lock/config"))
    assert config["state_topic"] == f"{iot_room.devices['lock'].topic}/state"
    assert config["availability_topic"] == f"{iot_room.devices['lock'].topic}/availability"
    assert "command_topic" not in config


def test_two_hotels_rooms_get_their_own_aggregates():
    rooms = [make_iot_room(kinds=["climate"]) for _ in range(2)]
    make_stay(make_guest(), rooms[0].room)
    with unit_of_work():
        aggregates = [services.room_aggregate(room_id=room.room.id) for room in rooms]
    assert aggregates[0][0] == f"{rooms[0].devices['climate'].room_topic}/state"
    assert [a[1]["occupied"] for a in aggregates] == [True, False]


def test_a_batch_stores_every_change_once_in_order_and_applies_the_fault_rule(app, iot_room):
    bridge = fake_bridge(app)
    make_stay(make_guest(), iot_room.room)
    sensor, light, climate = (iot_room.devices[kind].topic for kind in ("sensor", "light", "climate"))

    def state(topic, **values):
        return mqtt.Received(topic=f"{topic}/state", payload=json.dumps(values).encode())

    bridge._handle_messages([
        state(sensor, temperature_c=20), state(light, on=True), state(sensor, temperature_c=20),  # a repeat
        state(sensor, temperature_c=21), mqtt.Received(topic=f"{light}/state", payload=b"{bad"),
        state(climate, fault="compressor"), state(climate, fault="compressor", temperature_c=30),
        state("hotel/nowhere/room/1/x", on=True),
    ])
    with unit_of_work():
        history = [(r.device_id, r.state) for r in db.session.query(DeviceReading).order_by(DeviceReading.id)]
        changed = events_after(0, types=["device.state_changed"])
        faults = events_after(0, types=["device.fault"])
        repairs = db.session.scalars(select(ServiceRequest)).all()
    ids = {kind: iot_room.devices[kind].id for kind in ("sensor", "light", "climate")}
    assert sorted(history, key=repr) == sorted([
        (ids["sensor"], {"temperature_c": 20}), (ids["light"], {"on": True}), (ids["sensor"], {"temperature_c": 21}),
        (ids["climate"], {"fault": "compressor"}), (ids["climate"], {"fault": "compressor", "temperature_c": 30})],
        key=repr)
    assert [e.payload["state"] for e in changed if e.subject_id == ids["sensor"]] == [
        {"temperature_c": 20}, {"temperature_c": 21}]
    assert len(faults) == 1 and len(repairs) == 1
    assert bridge.dirty_rooms == {iot_room.room.id}
    with unit_of_work():
        assert db.session.get(Device, ids["sensor"]).state == {"temperature_c": 21}


def test_only_changes_the_room_aggregate_shows_make_the_bridge_republish_the_room(app, iot_room):
    """The aggregate holds climate and sensors (and availability, occupancy, DND): a light carrying out a guest's
    command leaves it as it was, and the bridge neither reads nor republishes the room for it."""
    bridge = fake_bridge(app)
    light, curtains, sensor, climate = (iot_room.devices[kind].topic
                                        for kind in ("light", "curtains", "sensor", "climate"))

    def handled(topic, **values):
        bridge.dirty_rooms.clear()
        bridge._handle_messages([mqtt.Received(topic=f"{topic}/state", payload=json.dumps(values).encode())])
        return bridge.dirty_rooms

    assert handled(light, on=True, brightness=40) == set()
    assert handled(curtains, position=80) == set()
    assert handled(sensor, occupancy=True) == {iot_room.room.id}
    assert handled(sensor, occupancy=True) == set()  # the same state again: nothing changed
    assert handled(climate, power=True, setpoint_c=21.5) == {iot_room.room.id}
    assert handled(light, on=True, fault="driver") == {iot_room.room.id}  # the fault rule: a repair, an event


def test_a_batch_that_fails_in_the_database_is_stored_message_by_message(app, iot_room, monkeypatch):
    bridge = fake_bridge(app)
    sensor, lock = iot_room.devices["sensor"].topic, iot_room.devices["lock"].topic
    real = ingest.record_availability

    def failing(*, device_topic, online):
        if device_topic == lock:
            raise RuntimeError("a row this database refuses")
        return real(device_topic=device_topic, online=online)

    monkeypatch.setattr(ingest, "record_availability", failing)
    bridge._handle_messages([
        mqtt.Received(topic=f"{sensor}/state", payload=b'{"occupancy": true}'),
        mqtt.Received(topic=f"{lock}/availability", payload=b"online"),
        mqtt.Received(topic=f"{sensor}/availability", payload=b"online"),
    ])
    with unit_of_work():
        sensor_row = db.session.get(Device, iot_room.devices["sensor"].id)
        assert (sensor_row.state, sensor_row.available) == ({"occupancy": True}, True)
        assert db.session.get(Device, iot_room.devices["lock"].id).available is None


def test_a_burst_longer_than_one_drain_loses_no_message(app, iot_room, monkeypatch):
    """Regression: a full drain took one event more off the queue than it handled (a lost message per drain)."""
    monkeypatch.setattr(bridge_module, "DRAIN_EVENTS", 10)
    monkeypatch.setattr(bridge_module, "MESSAGE_BATCH", 4)
    bridge = fake_bridge(app)
    topic = iot_room.devices["sensor"].topic
    for level in range(35):
        bridge.events.put(mqtt.Received(topic=f"{topic}/state", payload=json.dumps({"lux": level}).encode()))
        if level % 7 == 0:
            bridge.events.put(mqtt.Published(mid=1000 + level, ok=True))  # other events interleaved
    while not bridge.events.empty():
        bridge._drain(0.01)
    with unit_of_work():
        stored = [r.state["lux"] for r in db.session.query(DeviceReading).order_by(DeviceReading.id)]
    assert stored == list(range(35)) and bridge.handled == 35
