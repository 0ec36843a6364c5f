"""The bridge process (`flask iot bridge`): MQTT in, database out, and the command outbox back to MQTT.

Two threads do the database work; paho's network thread only queues events (mqtt.Connection) for them. Devices'
answers to commands have a thread of their own (the answer lane): someone waits for each of them, and behind the
loop they waited for state reports' transactions and the room aggregates, up to 15 ms at a time (bench/iot.py).
The loop does the rest: it takes what has queued up (up to MESSAGE_BATCH messages), stores it in one unit of work,
and does the periodic work (the outbox, aggregates, discovery, heartbeat). A payload that does not
decode is logged and skipped before the database sees it. While the database is unreachable, a batch waits and is
stored again (nothing is lost to an outage); if a batch fails for its content, it is rolled back and its messages
are stored again one per unit of work, so a failing message is logged and skipped alone, never the end of the loop
nor of its neighbours. Commands are published outside any transaction; their state moves
to `sent` when the broker's PUBACK comes back, to `acknowledged`/`failed` when the device answers.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy.exc import OperationalError

from app.core.db import unit_of_work
from app.extensions import db
from app.iot import mqtt, services, topics
from app.iot.services.commands import NOTIFY_CHANNEL

log = logging.getLogger(__name__)
MAX_PAYLOAD = 16 * 1024
WAKE = "wake"
DISCOVERY_BATCH = 5
MESSAGE_BATCH = 500  # messages per unit of work at most (a burst is stored in a few transactions, not thousands)
DRAIN_EVENTS = 4 * MESSAGE_BATCH  # events taken per pass of the loop, between its periodic work
SENT_FLUSH_SECONDS = 0.2  # a busy loop still marks PUBACKed commands `sent` this soon
SENT_IDLE_SECONDS = 0.02  # ... and an idle one after this long without events
OUTBOX_SWEEP_SECONDS = 1.0  # with LISTEN, the outbox is also read this often (claims that lapsed elsewhere)
DB_RETRY_FIRST_SECONDS = 0.05  # a batch the database could not take is stored again after this, then 2x, 4x ...
DB_RETRY_MAX_SECONDS = 5.0


_RESPONSE_SUFFIX = f"/{topics.RESPONSE}"


class BadPayload(ValueError):
    pass


@dataclass(frozen=True)
class BridgeSettings:
    broker: mqtt.BrokerSettings
    bridge_id: str
    scope: str = "all"
    shared_group: str | None = "bridges"
    poll_seconds: float = 0.2
    heartbeat_seconds: float = 10.0
    aggregate_seconds: float = 0.5
    discovery: bool = True

    @classmethod
    def from_config(cls, config: Any, **overrides: Any) -> BridgeSettings:
        broker = mqtt.settings_from_url(config["MQTT_URL"], max_inflight=config["MQTT_MAX_INFLIGHT"],
                                        session_expiry_seconds=config["IOT_SESSION_EXPIRY_SECONDS"])
        values = {"broker": broker, "bridge_id": config["IOT_BRIDGE_ID"], "scope": config["IOT_BRIDGE_SCOPE"],
                  "shared_group": config["IOT_SHARED_GROUP"] or None,
                  "poll_seconds": config["IOT_BRIDGE_POLL_SECONDS"],
                  "heartbeat_seconds": config["IOT_BRIDGE_HEARTBEAT_SECONDS"], "discovery": config["IOT_DISCOVERY"]}
        return cls(**{**values, **overrides})


def decode_json_object(payload: bytes) -> dict[str, Any]:
    if len(payload) > MAX_PAYLOAD:
        raise BadPayload(f"payload of {len(payload)} bytes")
    try:
        value = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise BadPayload(f"not JSON: {error}") from None
    if not isinstance(value, dict):
        raise BadPayload("not a JSON object")
    return value


def decode_availability(payload: bytes) -> bool:
    if payload == topics.ONLINE:
        return True
    if payload == topics.OFFLINE:
        return False
    raise BadPayload(f"availability must be online or offline, got {payload[:40]!r}")


class Bridge:
    def __init__(self, app: Flask, settings: BridgeSettings) -> None:
        self.app = app
        self.settings = settings
        self.events: queue.SimpleQueue[Any] = queue.SimpleQueue()  # C-implemented: cheaper per message
        self.answers: queue.SimpleQueue[Any] = queue.SimpleQueue()  # devices' answers, for the answer lane
        self.inflight: dict[int, int] = {}  # paho mid -> command id, published and waiting for PUBACK
        self.dirty_rooms: set[int] = set()
        self.stopping = threading.Event()
        self.handled = 0  # messages handled (stored or skipped), by both threads: for tests and the benchmark
        self._handled_lock = threading.Lock()
        status = topics.bridge_status_topic(settings.scope, settings.bridge_id)
        self.offline = mqtt.Outgoing(status, topics.OFFLINE, retain=True)
        self.connection = mqtt.Connection(
            settings.broker, client_id=f"bridge-{settings.bridge_id}", on_event=self._arrived,
            subscriptions=topics.bridge_subscriptions(settings.shared_group), will=self.offline,
            birth=mqtt.Outgoing(status, topics.ONLINE, retain=True))
        self._last_event_id = 0
        self._discovery_backlog: list[tuple[str, dict]] = []
        self._other_inflight: set[int] = set()  # mids of discovery and aggregate publishes awaiting PUBACK
        self._broker_has: dict[int, float] = {}  # command id -> when its PUBACK came (not yet marked sent)
        self._listening = threading.Event()  # the LISTEN connection is up (PostgreSQL): NOTIFY wakes the outbox
        # The connection (Connection.link) whose Connected event this loop has handled; None while down. Publishing
        # only on it keeps each device's commands in id order across a reconnect: paho's network thread reports
        # `connected` before this loop has learnt which earlier publishes were dropped, and a newer command sent in
        # that gap would overtake an older one that devices then refuse as superseded.
        self._link: int | None = None
        self._at_once = False  # PostgreSQL: a batch of answers, or of states, in one statement (run())
        self._outbox_due = True
        self._next_sweep = 0.0
        self._next_heartbeat = 0.0
        self._next_aggregate = 0.0

    # -- lifecycle ------------------------------------------------------------------------------------------------

    def run(self) -> None:
        """Run until stop() (or SIGINT/SIGTERM in the CLI)."""
        with self.app.app_context():
            self._at_once = db.engine.dialect.name == "postgresql"
            with unit_of_work():
                self._last_event_id = services.last_event_id()
            waker = self._start_waker()
            lane = threading.Thread(target=self._answer_lane, name="iot-answers", daemon=True)
            lane.start()
            self.connection.start()
            try:
                while not self.stopping.is_set():
                    self._drain(self.settings.poll_seconds)
                    self._tick()
            finally:
                self.stop()
                self.connection.stop(final=self.offline)  # no more answers: the lane stores what came, and ends
                lane.join(timeout=10)
                self._safely(services.bridge_stopped, bridge_id=self.settings.bridge_id)
                if waker is not None:
                    waker.join(timeout=5)
                db.session.remove()

    def stop(self) -> None:
        self.stopping.set()
        self.events.put(WAKE)
        self.answers.put(WAKE)

    def _safely(self, use_case: Any, **kwargs: Any) -> Any:
        """One unit of work; a failure is logged and rolled back, and the loop goes on."""
        try:
            with unit_of_work():
                return use_case(**kwargs)
        except Exception:
            log.exception("bridge: %s failed", getattr(use_case, "__name__", use_case))
            return None

    # -- events from the network thread ---------------------------------------------------------------------------

    def _arrived(self, event: Any) -> None:
        """paho's network thread: a device's answer goes to the answer lane, everything else to the loop."""
        if isinstance(event, mqtt.Received) and event.topic.endswith(_RESPONSE_SUFFIX):
            self.answers.put(event)
        else:
            self.events.put(event)

    def _answer_lane(self) -> None:
        """Store devices' answers as they come, a batch of what has queued up at a time, until stop(); then what
        is left in the queue. Its own app context, so its own session and connection."""
        with self.app.app_context():
            try:
                while True:
                    try:
                        batch = [self.answers.get(timeout=1.0)]
                    except queue.Empty:
                        batch = []
                    while len(batch) < MESSAGE_BATCH:
                        try:
                            batch.append(self.answers.get_nowait())
                        except queue.Empty:
                            break
                    messages = [event for event in batch if event is not WAKE]
                    if messages:
                        self._count(len(messages))
                        self._store([report for message in messages if (report := self._decode(message))])
                    elif self.stopping.is_set():
                        return
            except Exception:  # only the database refusing to the end (stop() while it was down)
                log.exception("bridge: the answer lane stopped")
            finally:
                db.session.remove()

    def _count(self, messages: int) -> None:
        with self._handled_lock:
            self.handled += messages

    def _drain(self, timeout: float) -> None:
        """Handle what has queued up (waiting up to `timeout` for the first event), at most DRAIN_EVENTS of it,
        then return so that the loop's periodic work runs. An event is taken off the queue only when it is
        about to be handled (the loop before 2026-11-23 took one more than it handled at the end of a full
        drain, and so lost one message in every full drain of a burst)."""
        if self._broker_has:
            try:  # the device's answer usually follows its PUBACK within a few ms: let the answer lane record it
                events = [self.events.get(timeout=min(timeout, SENT_IDLE_SECONDS))]
            except queue.Empty:
                self._flush_sent()  # idle: now is a good time
                return
        else:
            try:
                events = [self.events.get(timeout=timeout)]
            except queue.Empty:
                return
        self._take_queued(events)
        messages: list[mqtt.Received] = []
        for event in events:
            if isinstance(event, mqtt.Received):
                messages.append(event)
                if len(messages) >= MESSAGE_BATCH:
                    self._handle_messages(messages)
                    messages = []
            else:  # in arrival order: what came before this event is stored before it is handled
                self._handle_messages(messages)
                messages = []
                self._handle(event)
        self._handle_messages(messages)

    def _take_queued(self, events: list[Any]) -> None:
        while len(events) < DRAIN_EVENTS:
            try:
                events.append(self.events.get_nowait())
            except queue.Empty:
                return

    def _handle(self, event: Any) -> None:
        if event is WAKE:
            self._outbox_due = True
            return
        if isinstance(event, mqtt.Received):
            self._handle_messages([event])
        elif isinstance(event, mqtt.Published):
            self._other_inflight.discard(event.mid)
            command_id = self.inflight.pop(event.mid, None)
            if command_id is not None:
                if event.ok:
                    # Marked `sent` when the loop is idle (or within SENT_FLUSH_SECONDS), many in one unit of
                    # work: off the path of the device's answer, which usually follows within a millisecond.
                    self._broker_has.setdefault(command_id, time.monotonic())
                else:
                    self._safely(services.mark_refused, command_id=command_id, reason=event.reason)
        elif isinstance(event, mqtt.Connected):
            # paho dropped every unacknowledged publish (mqtt.py): the outbox publishes them again, with the
            # expiry that is left, since they are still pending and claimed by this bridge.
            # Only what paho dropped: this loop may already have published on the new connection (it sees
            # `connected` before this event arrives), and those publishes will be acknowledged.
            for mid in event.dropped_mids:
                self.inflight.pop(mid, None)
                self._other_inflight.discard(mid)
            log.info("bridge connected (session present: %s, %d publishes to redo)", event.session_present,
                     len(event.dropped_mids))
            self._link = event.link
            self._next_aggregate = 0.0
            self._outbox_due = True
            if self.settings.discovery:
                self._discovery_backlog = self._safely(services.discovery_configs) or []
        elif isinstance(event, mqtt.Disconnected):
            log.warning("bridge disconnected: %s", event.reason)
            self._link = None

    def _handle_messages(self, messages: list[mqtt.Received]) -> None:
        if not messages:
            return
        self._count(len(messages))
        reports = [report for message in messages if (report := self._decode(message)) is not None]
        # Answers come by the answer lane; one handed here (tests) is stored first, committed on its own.
        self._store([report for report in reports if report.leaf == topics.RESPONSE])
        self.dirty_rooms |= self._store([report for report in reports if report.leaf != topics.RESPONSE])

    def _store(self, reports: list[services.Report]) -> set[int]:
        """Store `reports` (both threads); returns the rooms whose aggregate may have changed."""
        if not reports:
            return set()
        try:
            rooms = self._record_until_the_database_answers(reports)
        except Exception:
            if len(reports) == 1:
                log.exception("bridge: message on %s failed and was skipped", reports[0].device_topic)
                return set()
            log.exception("bridge: a batch of %d messages failed; storing them one by one", len(reports))
            rooms = set()
            for report in reports:
                rooms |= self._safely(services.record_reports, reports=[report]) or set()
        return rooms

    def _record_until_the_database_answers(self, reports: list[services.Report]) -> set[int]:
        """Store `reports` in one unit of work. While the database is unreachable or busy (OperationalError: a
        restart, a lost connection, a lock or deadlock timeout) the messages are not at fault: the same batch is
        tried again, backing off up to DB_RETRY_MAX_SECONDS, rather than skipped. An "offline" or a device's answer
        dropped here would leave the device shown online or its command unanswered. Meanwhile paho keeps queueing
        what arrives. Any other error is the messages' own, and goes back to the caller."""
        delay = DB_RETRY_FIRST_SECONDS
        leaves = {report.leaf for report in reports}
        while True:
            try:
                # PostgreSQL: a batch of one kind in one statement (services.record_answers_at_once, ..._states_...)
                if self._at_once and leaves == {topics.RESPONSE}:
                    services.record_answers_at_once(reports=reports)
                    return set()
                if self._at_once and leaves == {topics.STATE}:
                    rooms = services.record_states_at_once(reports=reports)
                    if rooms is not None:  # else a report needs the rules: the unit of work below
                        return rooms
                with unit_of_work():
                    return services.record_reports(reports=reports)
            except OperationalError as error:
                if self.stopping.is_set():
                    raise
                log.warning("bridge: database unavailable (%s); storing %d messages again in %.2f s",
                            error.orig, len(reports), delay)
                db.session.remove()  # a fresh connection from the pool next time
                self.stopping.wait(delay)
                delay = min(delay * 2, DB_RETRY_MAX_SECONDS)

    def _decode(self, message: mqtt.Received) -> services.Report | None:
        """The message as a report, or None (logged) when its topic or payload is not what the convention says."""
        parsed = topics.parse(message.topic)
        if parsed is None:
            log.warning("bridge: message on unexpected topic %s skipped", message.topic)
            return None
        try:
            if parsed.leaf == topics.STATE:
                return services.Report(parsed.leaf, parsed.device_topic, decode_json_object(message.payload))
            if parsed.leaf == topics.AVAILABILITY:
                return services.Report(parsed.leaf, parsed.device_topic, decode_availability(message.payload))
            if not message.correlation_data:
                raise BadPayload("a response without correlation data")
            try:
                correlation_id = message.correlation_data.decode("ascii")
            except UnicodeDecodeError:
                raise BadPayload("correlation data is not a command id") from None
            return services.Report(parsed.leaf, parsed.device_topic, decode_json_object(message.payload),
                                   correlation_id=correlation_id)
        except BadPayload as error:
            log.warning("bridge: bad payload on %s skipped: %s", message.topic, error)
            return None

    # -- periodic work ------------------------------------------------------------------------------------------

    def _flush_sent(self) -> None:
        ids, self._broker_has = list(self._broker_has), {}
        self._safely(services.mark_sent_many, command_ids=ids)

    def _tick(self) -> None:
        now = time.monotonic()
        if self._broker_has and now - next(iter(self._broker_has.values())) > SENT_FLUSH_SECONDS:
            self._flush_sent()
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + self.settings.heartbeat_seconds
            self._safely(services.heartbeat, bridge_id=self.settings.bridge_id)
            self._safely(services.expire_overdue)
        if self._link is not None and self.connection.connected:
            # With LISTEN, the outbox is read when a NOTIFY says a command was committed (and on a slow sweep for
            # lapsed claims); reading it on every pass of the loop cost the database a query every few ms.
            if self._outbox_due or not self._listening.is_set() or now >= self._next_sweep:
                self._next_sweep = now + OUTBOX_SWEEP_SECONDS
                self._publish_commands()
            self._publish_discovery()
            if now >= self._next_aggregate:
                self._next_aggregate = now + self.settings.aggregate_seconds
                self._publish_aggregates()

    def _window(self) -> int:
        """Free slots of paho's in-flight window: beyond it paho queues, and its queue has stalled under load,
        so the bridge never publishes more than the window takes."""
        return self.settings.broker.max_inflight - len(self.inflight) - len(self._other_inflight)

    def _publish_other(self, topic: str, body: dict[str, Any]) -> None:
        mid = self.connection.publish(mqtt.Outgoing(topic, json.dumps(body).encode(), qos=1, retain=True),
                                      link=self._link)
        if mid is not None:
            self._other_inflight.add(mid)

    def _publish_commands(self) -> None:
        free = self._window()
        if free <= 0:
            self._outbox_due = True  # try again when PUBACKs have freed the window
            return
        due = self._safely(services.claim_due_commands, bridge_id=self.settings.bridge_id, limit=free,
                           skip_ids=frozenset(self.inflight.values()) | frozenset(self._broker_has)) or []
        self._outbox_due = len(due) >= free  # a full claim: there may be more
        for command in due:
            mid = self.connection.publish(mqtt.Outgoing(
                command.topic, command.payload, qos=1, retain=False, expiry_seconds=command.expiry_seconds,
                response_topic=command.response_topic, correlation_data=command.correlation_data), link=self._link)
            if mid is None:
                return  # the link dropped: the claim stays ours and the reconnect publishes them again
            self.inflight[mid] = command.command_id

    def _publish_aggregates(self) -> None:
        result = self._safely(services.rooms_touched_after, last_event_id=self._last_event_id)
        if result is not None:
            self._last_event_id, rooms = result
            self.dirty_rooms |= rooms
        free = self._window() - self.settings.broker.max_inflight // 2
        if not self.dirty_rooms or free <= 0:
            return
        rooms = [self.dirty_rooms.pop() for _ in range(min(free, len(self.dirty_rooms)))]
        for topic, body in (self._safely(services.room_aggregates, room_ids=rooms) or {}).values():
            self._publish_other(topic, body)

    def _publish_discovery(self) -> None:
        # Half the window at most, a few per tick: commands always find room.
        while self._discovery_backlog and self._window() > self.settings.broker.max_inflight // 2:
            for topic, config in self._discovery_backlog[:DISCOVERY_BATCH]:
                self._publish_other(topic, config)
            del self._discovery_backlog[:DISCOVERY_BATCH]

    # -- PostgreSQL: wake up at once when a command is committed -------------------------------------------------

    def _start_waker(self) -> threading.Thread | None:
        if db.engine.dialect.name != "postgresql":
            return None
        url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        thread = threading.Thread(target=self._listen, args=(url,), name="iot-listen", daemon=True)
        thread.start()
        return thread

    def _listen(self, url: str) -> None:
        import psycopg

        while not self.stopping.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as connection:
                    connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self._listening.set()
                    self.events.put(WAKE)  # commands committed before LISTEN took effect
                    while not self.stopping.is_set():
                        for _ in connection.notifies(timeout=1.0):
                            self.events.put(WAKE)
            except Exception:
                self._listening.clear()
                log.exception("bridge: LISTEN connection failed; polling until it is back")
                self.stopping.wait(5)
