"""What the bridge does inside its units of work: store what devices report, and run the command outbox."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, insert, or_, select, text, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.util import identity_key

from app.bookings import services as bookings
from app.bookings.models import Booking, BookingStatus, RoomState
from app.core import clock, events
from app.core.db import in_unit_of_work
from app.core.events import DomainEvent
from app.extensions import db
from app.iot import topics
from app.iot.models import BridgeHeartbeat, CommandStatus, Device, DeviceCommand, DeviceKind, DeviceReading
from app.iot.services.commands import (
    CommandToPublish,
    announce_transition,
    announce_transitions,
    record_transition,
    to_publish,
    wake_bridges,
)

log = logging.getLogger(__name__)
CLAIM_SECONDS = 30  # another bridge leaves a claimed command alone this long (then it may publish it itself)
ROOM_EVENTS = ("room.dnd_changed", "booking.checked_in", "booking.checked_out")


@dataclass(frozen=True)
class Report:
    """One decoded message from a device: its state (dict), availability (bool) or a command response (dict)."""

    leaf: str  # topics.STATE | topics.AVAILABILITY | topics.RESPONSE
    device_topic: str
    value: Any
    correlation_id: str | None = None


def _device(device_topic: str) -> Device | None:
    return db.session.scalar(select(Device).where(Device.topic == device_topic))


# -- what devices report -------------------------------------------------------------------------------------------

def record_state(*, device_topic: str, state: dict[str, Any]) -> Device | None:
    """Store a device's state (and history) when it changed; a fault opens `device.fault` once per fault."""
    device = _device(device_topic)
    if device is None:
        log.warning("state from an unregistered device %s skipped", device_topic)
        return None
    if state == device.state:
        return device
    now = clock.now()
    device.state, device.state_at = state, now
    db.session.add(DeviceReading(device_id=device.id, state=state, recorded_at=now))
    events.record("device.state_changed", hotel_id=device.hotel_id, subject_id=device.id,
                  payload={"room_id": device.room_id, "kind": device.kind, "state": state})
    _track_fault(device, state.get("fault"))
    if device.kind == DeviceKind.INDICATOR and state.get("changed_by") == "button":
        _pressed(device, state.get("mode"))
    return device


def _track_fault(device: Device, fault: Any) -> None:
    fault = str(fault)[:200] if fault else None
    if fault and fault != device.fault:
        events.record("device.fault", hotel_id=device.hotel_id, subject_id=device.id,
                      payload={"room_id": device.room_id, "kind": device.kind, "reason": "reported", "fault": fault})
    device.fault = fault


def _pressed(device: Device, mode: Any) -> None:
    """The room's DND / make-up-room button: the API's room state follows it (and so does housekeeping)."""
    if mode not in {state.value for state in RoomState}:
        log.warning("indicator %s reported an unknown mode %r", device.topic, mode)
        return
    stay = bookings.occupied_stay_for_room(room_id=device.room_id)
    if stay is not None:
        bookings.set_room_state(booking=stay, state=mode, source="device")


def record_availability(*, device_topic: str, online: bool) -> Device | None:
    """Store a device's availability (its retained status or last will) when it changed."""
    device = _device(device_topic)
    if device is None:
        log.warning("availability from an unregistered device %s skipped", device_topic)
        return None
    if device.available == online:
        return device
    now = clock.now()
    device.available, device.availability_at = online, now
    if online:
        device.offline_alerted = False
    db.session.add(DeviceReading(device_id=device.id, available=online, recorded_at=now))
    events.record("device.availability_changed", hotel_id=device.hotel_id, subject_id=device.id,
                  payload={"room_id": device.room_id, "kind": device.kind, "available": online})
    return device


_COMMANDS = DeviceCommand.__table__
# What announcing a transition needs (announce_transitions), returned by the UPDATEs below.
_ANNOUNCED = (_COMMANDS.c.id, _COMMANDS.c.hotel_id, _COMMANDS.c.issued_by, _COMMANDS.c.device_id,
              _COMMANDS.c.room_id, _COMMANDS.c.source)


def record_response(*, correlation_id: str, response: dict[str, Any]) -> int | None:
    """A device acknowledged (or refused) a command; a repeated acknowledgement changes nothing. Returns the
    command's id (None for an unknown command).

    One UPDATE ... RETURNING on the table (no read first, no ORM object): this is on the path of every command's
    round trip. The event lock is taken before the row's (take_event_lock): the API process marking the same
    command `sent` takes them in that order, and the other order deadlocked on PostgreSQL."""
    status = _answer_status(response)
    now = clock.now()
    events.take_event_lock()
    db.session.flush()  # a statement on the table does not autoflush: this transaction's changes go first
    answered = db.session.execute(
        update(_COMMANDS)
        .where(_COMMANDS.c.correlation_id == correlation_id, _COMMANDS.c.status.not_in(
            [CommandStatus.ACKNOWLEDGED.value, CommandStatus.FAILED.value]))
        .values(status=status.value, result=response, claimed_by=None, claimed_until=None, completed_at=now,
                # the answer may come before the bridge marked the PUBACK
                sent_at=func.coalesce(_COMMANDS.c.sent_at, now))
        .returning(*_ANNOUNCED)).one_or_none()
    if answered is None:
        command_id = db.session.scalar(select(_COMMANDS.c.id).where(_COMMANDS.c.correlation_id == correlation_id))
        if command_id is None:
            log.warning("response for an unknown command %s skipped", correlation_id)
        return command_id
    _forget_loaded(DeviceCommand, [answered.id])
    announce_transitions([answered], status)
    return answered.id


# The answers of a batch as one statement (PostgreSQL), which is its own transaction: the event writers' lock (an
# uncorrelated subquery, so it is taken before any row is), the commands moved, their `command.<status>` events
# written in the answers' order with what announce_transitions writes. One round trip instead of five (BEGIN,
# lock, UPDATE, INSERT, COMMIT): on a busy machine each is a wake-up of the database backend.
_ANSWER_MANY = text(
    "WITH event_lock AS MATERIALIZED (SELECT pg_advisory_xact_lock(:lock_key)),"
    " answers AS (SELECT * FROM unnest(CAST(:correlation_ids AS varchar[]), CAST(:results AS json[]),"
    "  CAST(:statuses AS varchar[])) WITH ORDINALITY AS a(correlation_id, result, status, n)),"
    " answered AS (UPDATE iot_commands AS c SET status = a.status, result = a.result, claimed_by = NULL,"
    "  claimed_until = NULL, completed_at = :at, sent_at = coalesce(c.sent_at, :at)"
    "  FROM answers AS a WHERE c.correlation_id = a.correlation_id"
    "  AND c.status NOT IN ('acknowledged', 'failed') AND EXISTS (SELECT FROM event_lock)"
    "  RETURNING c.id, c.hotel_id, c.issued_by, c.device_id, c.room_id, c.source, a.status, a.n) "
    "INSERT INTO domain_events (type, hotel_id, guest_id, subject_id, payload, occurred_at) "
    "SELECT 'command.' || status, hotel_id,"
    " CASE WHEN issued_by LIKE 'guest:%' THEN CAST(split_part(issued_by, ':', 2) AS bigint) END, id,"
    " json_build_object('device_id', device_id, 'room_id', room_id, 'source', source), :at "
    "FROM answered ORDER BY n RETURNING subject_id")


def record_answers_at_once(*, reports: list[Report]) -> list[int]:
    """`record_response` for a batch of devices' answers, on PostgreSQL, as one statement in a transaction of its
    own (autocommit): call it outside any unit of work. Returns the ids of the commands it moved (an answer to an
    unknown or already answered command changes nothing, as there)."""
    _refuse_inside_a_unit_of_work("record_answers_at_once")
    first: dict[str, Report] = {}
    for report in reports:  # a repeated answer in one batch: the first one counts, as one by one
        first.setdefault(report.correlation_id or "", report)
    answers = list(first.values())
    at = clock.now().astimezone(UTC).replace(tzinfo=None)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        moved = list(connection.execute(_ANSWER_MANY, {
            "lock_key": events.EVENT_LOCK_KEY, "at": at,
            "correlation_ids": [answer.correlation_id or "" for answer in answers],
            "results": [json.dumps(answer.value) for answer in answers],
            "statuses": [_answer_status(answer.value).value for answer in answers]}).scalars())
    _forget_loaded(DeviceCommand, moved)
    return moved


def _refuse_inside_a_unit_of_work(name: str) -> None:
    # Its statement commits on a connection of its own: inside a unit of work it would commit what the unit of work
    # may still roll back, and wait on locks that unit of work holds (the event lock).
    if in_unit_of_work():
        raise RuntimeError(f"{name} commits on its own connection: call it outside a unit of work")


def _answer_status(response: dict[str, Any]) -> CommandStatus:
    return CommandStatus.ACKNOWLEDGED if response.get("status") == "ok" else CommandStatus.FAILED


# -- many reports in one unit of work (the bridge's batches) -----------------------------------------------------

def record_reports(*, reports: list[Report]) -> set[int]:
    """Store a batch of reports in order; consecutive states go through `record_states`. Returns the rooms touched."""
    rooms: set[int] = set()
    states: list[tuple[str, dict[str, Any]]] = []
    for report in reports:
        if report.leaf == topics.STATE:
            states.append((report.device_topic, report.value))
            continue
        rooms |= record_states(states=states)
        states = []
        if report.leaf == topics.AVAILABILITY:
            device = record_availability(device_topic=report.device_topic, online=report.value)
            if device is not None:
                rooms.add(device.room_id)
        else:
            record_response(correlation_id=report.correlation_id or "", response=report.value)
    return rooms | record_states(states=states)


def record_states(*, states: list[tuple[str, dict[str, Any]]]) -> set[int]:
    """Many devices' states at once, with `record_state`'s rules: each change becomes a history row and a
    `device.state_changed` event (two multi-row INSERTs) and the latest state per device one UPDATE row, instead
    of an ORM round trip per message. Reports that carry rules (a fault, a fault clearing, the DND button) take
    `record_state` one by one, in order.

    Returns the rooms whose aggregate (`room_aggregates`) may show the change: a climate or sensor device's new
    state, or a report that went through the rules. A light or a curtain carrying out a guest's command does not
    make the bridge read and republish the room (that read sat on the path of the next command's answer)."""
    if not states:
        return set()
    devices = _devices_by_topic(db.session, states)
    now = clock.now()
    plan = _plan_states(states, devices, _ruled(devices, states), now,
                        on_ruled=lambda topic, state: record_state(device_topic=topic, state=state))
    if plan.changed:
        _store_states(plan.changed, plan.readings, now)
        events.record_many("device.state_changed", plan.events)
    return plan.rooms


@dataclass
class _StatePlan:
    rooms: set[int] = field(default_factory=set)
    changed: dict[int, dict[str, Any]] = field(default_factory=dict)  # device id -> its latest new state
    readings: list[dict[str, Any]] = field(default_factory=list)  # history rows, in order
    events: list[dict[str, Any]] = field(default_factory=list)  # device.state_changed rows, in order


def _devices_by_topic(connection: Any, states: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    return {row.topic: row for row in connection.execute(
        select(Device.id, Device.topic, Device.hotel_id, Device.room_id, Device.kind, Device.state, Device.fault)
        .where(Device.topic.in_({topic for topic, _ in states})))}


def _ruled(devices: dict[str, Any], states: list[tuple[str, dict[str, Any]]]) -> set[str]:
    """The topics whose reports go through record_state's rules: a fault, one clearing, the DND button."""
    ruled = {row.topic for row in devices.values() if row.fault or row.kind == DeviceKind.INDICATOR}
    return ruled | {topic for topic, state in states if state.get("fault")}


def _plan_states(states: list[tuple[str, dict[str, Any]]], devices: dict[str, Any], ruled: set[str], now: Any,
                 on_ruled: Callable[[str, dict[str, Any]], Any] | None) -> _StatePlan:
    """What the states change, in order (a device reporting twice in a batch changes twice, or once)."""
    latest = {topic: row.state for topic, row in devices.items()}
    plan = _StatePlan()
    for topic, state in states:
        row = devices.get(topic)
        if row is None:
            log.warning("state from an unregistered device %s skipped", topic)
            continue
        if topic in ruled and on_ruled is not None:
            on_ruled(topic, state)
            plan.rooms.add(row.room_id)
        elif state != latest[topic]:
            latest[topic] = plan.changed[row.id] = state
            plan.readings.append({"device_id": row.id, "state": state, "recorded_at": now})
            plan.events.append({"hotel_id": row.hotel_id, "subject_id": row.id,
                                "payload": {"room_id": row.room_id, "kind": row.kind, "state": state}})
            if row.kind in AGGREGATED_KINDS:
                plan.rooms.add(row.room_id)
    return plan


# States as one statement (PostgreSQL), its own transaction, as _ANSWER_MANY: the event writers' lock first, then
# the latest state per device, the history rows and the `device.state_changed` events (what record_many writes).
_STORE_STATES_AT_ONCE = text(
    "WITH event_lock AS MATERIALIZED (SELECT pg_advisory_xact_lock(:lock_key)),"
    " latest AS (UPDATE iot_devices AS d SET state = v.state, state_at = :at, updated_at = :at"
    "  FROM unnest(CAST(:ids AS bigint[]), CAST(:states AS json[])) AS v(id, state)"
    "  WHERE d.id = v.id AND EXISTS (SELECT FROM event_lock)),"
    " readings AS (INSERT INTO iot_device_readings (device_id, state, recorded_at) SELECT r.device_id, r.state, :at"
    "  FROM unnest(CAST(:reading_ids AS bigint[]), CAST(:reading_states AS json[])) WITH ORDINALITY"
    "  AS r(device_id, state, n) WHERE EXISTS (SELECT FROM event_lock) ORDER BY r.n) "
    "INSERT INTO domain_events (type, hotel_id, guest_id, subject_id, payload, occurred_at) "
    "SELECT 'device.state_changed', e.hotel_id, NULL, e.subject_id, e.payload, :at "
    "FROM unnest(CAST(:hotels AS bigint[]), CAST(:subjects AS bigint[]), CAST(:payloads AS json[]))"
    " WITH ORDINALITY AS e(hotel_id, subject_id, payload, n) WHERE EXISTS (SELECT FROM event_lock) ORDER BY e.n")


def record_states_at_once(*, reports: list[Report]) -> set[int] | None:
    """`record_states` for a batch of state reports, on PostgreSQL, in two round trips (the devices read, then one
    statement that is its own transaction) instead of seven; None, having written nothing, when a report needs
    the rules (then the caller stores the batch with record_reports). Call it outside any unit of work.

    The bridge stores a device's new state right after its answer to a command, so this work overlaps the next
    command on a busy machine: as a unit of work it took 5-13 ms there (bench/iot-RESULTS.md)."""
    _refuse_inside_a_unit_of_work("record_states_at_once")
    states = [(report.device_topic, report.value) for report in reports]
    now = clock.now()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        devices = _devices_by_topic(connection, states)
        if _ruled(devices, states):
            return None
        plan = _plan_states(states, devices, set(), now, on_ruled=None)
        if plan.changed:
            texts = [json.dumps(reading["state"]) for reading in plan.readings]
            latest = {r["device_id"]: encoded for r, encoded in zip(plan.readings, texts, strict=True)}
            connection.execute(_STORE_STATES_AT_ONCE, {
                "lock_key": events.EVENT_LOCK_KEY, "at": now.astimezone(UTC).replace(tzinfo=None),
                "ids": list(latest), "states": list(latest.values()),
                "reading_ids": [r["device_id"] for r in plan.readings], "reading_states": texts,
                "hotels": [e["hotel_id"] for e in plan.events], "subjects": [e["subject_id"] for e in plan.events],
                "payloads": [json.dumps(e["payload"]) for e in plan.events]})
    _forget_loaded(Device, plan.changed)
    return plan.rooms


_UPDATE_STATES = text(
    "UPDATE iot_devices SET state = v.state, state_at = :at, updated_at = :at "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:states AS json[])) AS v(id, state) WHERE iot_devices.id = v.id")
_INSERT_READINGS = text(
    "INSERT INTO iot_device_readings (device_id, state, recorded_at) SELECT r.device_id, r.state, :at "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:states AS json[])) WITH ORDINALITY AS r(device_id, state, n) "
    "ORDER BY r.n")


def _store_states(changed: dict[int, dict[str, Any]], readings: list[dict[str, Any]], now: Any) -> None:
    """The latest state per device and the history rows. On PostgreSQL two constant statements over arrays (one
    round trip each, whatever the batch size); elsewhere executemany."""
    if db.session.get_bind().dialect.name == "postgresql":
        at = now.astimezone(UTC).replace(tzinfo=None)
        texts = [json.dumps(r["state"]) for r in readings]
        latest = {r["device_id"]: encoded for r, encoded in zip(readings, texts, strict=True)}  # the last one wins
        db.session.execute(_UPDATE_STATES, {"at": at, "ids": list(latest), "states": list(latest.values())})
        db.session.execute(_INSERT_READINGS, {"at": at, "ids": [r["device_id"] for r in readings],
                                              "states": texts})
    else:
        db.session.execute(update(Device), [{"id": device_id, "state": state, "state_at": now}
                                            for device_id, state in changed.items()])
        db.session.execute(insert(DeviceReading), readings)
    _forget_loaded(Device, changed)


def _forget_loaded(model: Any, ids: Any) -> None:
    """Rows this session loaded earlier (sessions keep objects across commits here) would still show the old
    values after an UPDATE on the table: expire them, so the next read (the room's aggregate, say) loads anew."""
    session = db.session()
    for row_id in ids:
        loaded = session.identity_map.get(identity_key(model, row_id))
        if loaded is not None:
            session.expire(loaded)


# -- the outbox ----------------------------------------------------------------------------------------------------

def claim_due_commands(*, bridge_id: str, limit: int = 200, skip_ids: frozenset[int] = frozenset()
                       ) -> list[CommandToPublish]:
    """Take commands to publish: pending ones unclaimed, or claimed by this bridge (published, no PUBACK yet); and
    sent ones still unanswered IOT_ANSWER_RETRY_SECONDS after their PUBACK, with time left (the answer, or the
    command, was lost with a broker or a connection: the device answers a copy from memory).

    Each gets the expiry that is left, rounded down, so the broker drops it before it could arrive late; one with
    less than a second left is expired instead of published.
    """
    now = clock.now()
    retry = timedelta(seconds=current_app.config["IOT_ANSWER_RETRY_SECONDS"])
    if db.session.get_bind().dialect.name == "postgresql":
        return _claim_in_one_statement(bridge_id, limit, skip_ids, now, retry)
    unclaimed = or_(DeviceCommand.claimed_until.is_(None), DeviceCommand.claimed_until < now)
    query = (select(DeviceCommand).where(or_(
        (DeviceCommand.status == CommandStatus.PENDING) & or_(unclaimed, DeviceCommand.claimed_by == bridge_id),
        (DeviceCommand.status == CommandStatus.SENT) & (DeviceCommand.sent_at < now - retry)
        & (DeviceCommand.expires_at > now + timedelta(seconds=1)) & unclaimed))
        .order_by(DeviceCommand.id).limit(limit).options(joinedload(DeviceCommand.device, innerjoin=True))
        .with_for_update(of=DeviceCommand, skip_locked=True))
    if skip_ids:
        query = query.where(DeviceCommand.id.not_in(list(skip_ids)))
    due = []
    for command in db.session.scalars(query):
        remaining = math.floor((command.expires_at - now).total_seconds())
        if remaining < 1:
            record_transition(command, CommandStatus.EXPIRED)
            continue
        hold = retry if command.status == CommandStatus.SENT else timedelta(seconds=CLAIM_SECONDS)
        command.claimed_by, command.claimed_until = bridge_id, now + hold
        command.publish_count += 1
        due.append(_to_publish(command, remaining))
    return due


_CLAIM = text(
    "UPDATE iot_commands AS c SET claimed_by = :bridge, publish_count = c.publish_count + 1,"
    " claimed_until = CASE WHEN c.status = 'sent' THEN :retry_until ELSE :until END "
    "FROM iot_devices AS d WHERE d.id = c.device_id AND c.id IN ("
    " SELECT id FROM iot_commands WHERE ("
    "  (status = 'pending' AND (claimed_until IS NULL OR claimed_until < :now OR claimed_by = :bridge))"
    "  OR (status = 'sent' AND sent_at < :retry_before AND expires_at > :soon"
    "      AND (claimed_until IS NULL OR claimed_until < :now)))"
    " AND NOT (id = ANY(:skip))"
    " ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED) "
    "RETURNING c.id, c.values, c.correlation_id, c.expires_at, d.topic")


def _claim_in_one_statement(bridge_id: str, limit: int, skip_ids: frozenset[int], now: Any,
                            retry: timedelta) -> list[CommandToPublish]:
    """PostgreSQL: the claim as one UPDATE ... RETURNING (it is on the path of every command)."""
    naive = now.astimezone(UTC).replace(tzinfo=None)
    rows = sorted(db.session.execute(_CLAIM, {
        "bridge": bridge_id, "now": naive, "until": naive + timedelta(seconds=CLAIM_SECONDS), "limit": limit,
        "retry_until": naive + retry, "retry_before": naive - retry, "soon": naive + timedelta(seconds=1),
        "skip": sorted(skip_ids)}).all())
    due = []
    for command_id, values, correlation_id, expires_at, topic in rows:
        expires_at = expires_at.replace(tzinfo=UTC)
        remaining = math.floor((expires_at - now).total_seconds())
        if remaining < 1:
            record_transition(db.session.get(DeviceCommand, command_id), CommandStatus.EXPIRED)
            continue
        due.append(to_publish(command_id=command_id, device_topic=topic, values=values,
                              correlation_id=correlation_id, expires_at=expires_at, remaining_seconds=remaining))
    return due


def _to_publish(command: DeviceCommand, remaining: int) -> CommandToPublish:
    return to_publish(command_id=command.id, device_topic=command.device.topic, values=command.values,
                      correlation_id=command.correlation_id, expires_at=command.expires_at,
                      remaining_seconds=remaining)


def mark_sent(*, command_id: int) -> None:
    """The broker has the command (PUBACK); its acknowledgement may even have come first."""
    mark_sent_many(command_ids=[command_id])


def still_pending(*, command_ids: list[int]) -> list[int]:
    """Which of these commands are still `pending` (a read: PUBACKs for commands already answered need no write)."""
    if not command_ids:
        return []
    return list(db.session.scalars(select(DeviceCommand.id).where(
        DeviceCommand.id.in_(command_ids), DeviceCommand.status == CommandStatus.PENDING.value)))


def mark_sent_many(*, command_ids: list[int]) -> None:
    """`mark_sent` for many commands; those answered by their device meanwhile are left as they are.

    One conditional UPDATE, not a read then a write: the answer is recorded by a bridge while the API process (or
    another bridge) marks the PUBACK, and a read-then-write put an acknowledged command back to `sent` on
    PostgreSQL. The event lock first, as record_response takes it."""
    if not command_ids:
        return
    events.take_event_lock()
    db.session.flush()  # a statement on the table does not autoflush: this transaction's changes go first
    marked = db.session.execute(
        update(_COMMANDS)
        .where(_COMMANDS.c.id.in_(command_ids), _COMMANDS.c.status == CommandStatus.PENDING.value)
        .values(status=CommandStatus.SENT.value, sent_at=clock.now(), claimed_by=None, claimed_until=None)
        .returning(*_ANNOUNCED)).all()
    _forget_loaded(DeviceCommand, [row.id for row in marked])
    announce_transitions(sorted(marked, key=lambda row: row.id), CommandStatus.SENT)


def mark_refused(*, command_id: int, reason: str) -> None:
    """The broker refused the publish (a PUBACK failure reason, e.g. not authorised)."""
    events.take_event_lock()
    command = db.session.scalars(
        update(DeviceCommand)
        .where(DeviceCommand.id == command_id, DeviceCommand.status == CommandStatus.PENDING.value)
        .values(status=CommandStatus.FAILED.value, completed_at=clock.now(), claimed_by=None, claimed_until=None,
                result={"status": "error", "error": f"broker refused: {reason}"})
        .returning(DeviceCommand),
        execution_options={"synchronize_session": False, "populate_existing": True}).one_or_none()
    if command is not None:
        announce_transition(command, CommandStatus.FAILED)


def release_claims(*, command_ids: list[int], claimed_by: str) -> None:
    """Give pending commands claimed by `claimed_by` back to the bridges, and wake them (a direct publish that
    never reached the broker)."""
    if not command_ids:
        return
    db.session.execute(
        update(DeviceCommand)
        .where(DeviceCommand.id.in_(command_ids), DeviceCommand.status == CommandStatus.PENDING,
               DeviceCommand.claimed_by == claimed_by)
        .values(claimed_by=None, claimed_until=None),
        execution_options={"synchronize_session": False})
    wake_bridges()


def expire_overdue() -> int:
    """Pending commands past their expiry, and sent ones unacknowledged past it plus a grace: expired."""
    now = clock.now()
    grace = timedelta(seconds=current_app.config["IOT_ACK_GRACE_SECONDS"])
    overdue = db.session.scalars(select(DeviceCommand).where(or_(
        (DeviceCommand.status == CommandStatus.PENDING) & (DeviceCommand.expires_at <= now),
        (DeviceCommand.status == CommandStatus.SENT) & (DeviceCommand.expires_at <= now - grace),
    )).order_by(DeviceCommand.id).limit(1000).with_for_update(skip_locked=True)).all()
    for command in overdue:
        record_transition(command, CommandStatus.EXPIRED)
    return len(overdue)


# -- bridge bookkeeping ------------------------------------------------------------------------------------------

def heartbeat(*, bridge_id: str) -> None:
    beat = db.session.get(BridgeHeartbeat, bridge_id)
    if beat is None:
        db.session.add(BridgeHeartbeat(bridge_id=bridge_id, seen_at=clock.now()))
    else:
        beat.seen_at = clock.now()


def bridge_stopped(*, bridge_id: str) -> None:
    db.session.execute(delete(BridgeHeartbeat).where(BridgeHeartbeat.bridge_id == bridge_id))


def rooms_touched_after(last_event_id: int) -> tuple[int, set[int]]:
    """Where the next read starts, and the rooms whose occupancy or DND changed since an event id (their aggregate
    state must be republished)."""
    found, cursor = events.tail(last_event_id, types=ROOM_EVENTS, limit=500)
    return cursor, {event.payload["room_id"] for event in found if isinstance(event.payload.get("room_id"), int)}


def last_event_id() -> int:
    return db.session.scalar(select(DomainEvent.id).order_by(DomainEvent.id.desc()).limit(1)) or 0


def room_aggregate(*, room_id: int) -> tuple[str, dict[str, Any]] | None:
    """The room's aggregate state topic and payload: occupancy, DND / make-up-room, climate, sensors."""
    return room_aggregates(room_ids=[room_id]).get(room_id)


def room_aggregates(*, room_ids: list[int]) -> dict[int, tuple[str, dict[str, Any]]]:
    """`room_aggregate` for many rooms in two queries (the bridge republishes the rooms a burst touched)."""
    rows = db.session.execute(
        select(Device.room_id, Device.room_topic, Device.kind, Device.state, Device.available)
        .where(Device.room_id.in_(room_ids)).order_by(Device.id)).all()
    stays = dict(db.session.execute(select(Booking.room_id, Booking.room_state).where(
        Booking.room_id.in_(room_ids), Booking.status == BookingStatus.IN_HOUSE)).all())
    devices: dict[int, list[Any]] = {}
    for row in rows:
        devices.setdefault(row.room_id, []).append(row)
    now = clock.now().isoformat()
    return {room_id: _aggregate(room_devices, stays.get(room_id), room_id in stays, now)
            for room_id, room_devices in devices.items()}


AGGREGATED_KINDS = frozenset({DeviceKind.CLIMATE, DeviceKind.SENSOR})  # the device states an aggregate shows


def _aggregate(devices: list[Any], room_state: str | None, occupied: bool, now: str) -> tuple[str, dict[str, Any]]:
    by_kind: dict[str, dict] = {}
    for device in devices:
        by_kind.setdefault(device.kind, device.state or {})
    return f"{devices[0].room_topic}/{topics.STATE}", {
        "occupied": occupied,
        "room_state": room_state if occupied else RoomState.NONE.value,
        "climate": by_kind.get(DeviceKind.CLIMATE),
        "sensors": by_kind.get(DeviceKind.SENSOR),
        "devices_online": sum(1 for d in devices if d.available),
        "devices": len(devices),
        "at": now,
    }
