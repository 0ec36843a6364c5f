"""The API process publishes a command itself, right after the commit that recorded it: one hop fewer.

The outbox row stays the source of truth (docs/decisions.md, "IoT: the API publishes its own commands"). When this
process has a live MQTT connection, `commands.issue` claims the new row for it (`claimed_by` = this publisher's
client id, for `IOT_DIRECT_CLAIM_SECONDS`) inside the API's transaction and asks `publish` to send it once the
transaction has committed (`app.core.db.after_commit`). A worker thread then records what the broker said, in small
units of work: PUBACK -> `sent`, a refusal -> `failed`, and a publish that never left (the link dropped) -> the
claim released and the bridges woken; so are the commands still without PUBACK when the link drops. Whatever this
process fails to do (it dies before the PUBACK), its claim lapses and a bridge publishes the command, with the
expiry that is left, exactly as it does for commands it claimed itself. When the connection is not up (the broker
is down, the process just started), the row is left unclaimed and the bridges deliver it: the API never waits for
the broker.

One publisher per process (per gunicorn worker), started on the first command and stopped at exit. Its client id
is unique and its session clean: it subscribes to nothing (devices' answers go to the bridges) and keeps nothing
across connections.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import queue
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask

from app.core import clock
from app.core.db import unit_of_work
from app.extensions import db
from app.iot import mqtt

if TYPE_CHECKING:  # the services import this module
    from app.iot.services.commands import CommandToPublish

log = logging.getLogger(__name__)
EXTENSION = "iot_direct"
OUTCOME_BATCH = 200
SENT_QUIET_SECONDS = 0.02
SENT_MAX_DELAY_SECONDS = 0.2


@dataclass(frozen=True)
class _Outcome:
    command_id: int
    kind: str  # "sent" | "refused" | "released"
    reason: str = ""


class DirectPublisher:
    """This process's MQTT connection for the commands its requests create."""

    def __init__(self, app: Flask, broker: mqtt.BrokerSettings, *, claim_seconds: float) -> None:
        self.app = app
        self.pid = os.getpid()
        self.claim_seconds = claim_seconds
        self.client_id = f"api-{socket.gethostname()[:40]}-{self.pid}-{uuid.uuid4().hex[:6]}"
        self.max_inflight = broker.max_inflight
        self._lock = threading.Lock()
        self._inflight: dict[int, int] = {}  # paho mid -> command id, waiting for its PUBACK
        self._early: dict[int, mqtt.Published] = {}  # PUBACKs that came before publish() registered the mid
        self._outcomes: queue.SimpleQueue[_Outcome | None] = queue.SimpleQueue()
        self._stopped = False
        # The request's thread writes its command to the socket (mqtt._CallerWritesClient): not the network thread,
        # which would first have to get the GIL from the busy web worker.
        self.connection = mqtt.Connection(broker, client_id=self.client_id, on_event=self._on_event, clean_start=True,
                                          caller_writes=True)
        self._recorder = threading.Thread(target=self._record_outcomes, name="iot-direct-outcomes", daemon=True)

    # -- lifecycle ------------------------------------------------------------------------------------------------

    def start(self) -> DirectPublisher:
        self._recorder.start()
        self.connection.start()
        return self

    def stop(self) -> None:
        """Disconnect, then record the outcomes already known (commands still without PUBACK are released to the
        bridges at the disconnect; should that miss, their claim lapses and a bridge publishes them then)."""
        if self._stopped:
            return
        self._stopped = True
        self.connection.stop()
        self._outcomes.put(None)
        self._recorder.join(timeout=5)

    # -- used by commands.issue -----------------------------------------------------------------------------------

    def ready(self) -> bool:
        """Connected, with room in the in-flight window: worth claiming a command for.

        Half the window: the commands of requests still between this check and their commit need room too, and
        beyond the window paho queues (mqtt.py); a busy process leaves the rest to the bridges."""
        return (not self._stopped and self.connection.connected
                and len(self._inflight) < max(1, self.max_inflight // 2))

    def publish(self, message: CommandToPublish) -> None:
        """Publish a committed command; runs after the commit (its failures are logged by after_commit).

        The message expiry is what is left now, rounded down, as the bridges do: the commit may have waited."""
        remaining = math.floor((message.expires_at - clock.now()).total_seconds())
        mid = None
        if remaining >= 1:
            mid = self.connection.publish(mqtt.Outgoing(
                message.topic, message.payload, qos=1, retain=False, expiry_seconds=remaining,
                response_topic=message.response_topic, correlation_data=message.correlation_data))
        if mid is None:  # the link dropped since ready() (or no time is left): the bridges take it (or expire it)
            self._release([message.command_id])
            return
        with self._lock:
            early = self._early.pop(mid, None)
            if early is None:
                self._inflight[mid] = message.command_id
        if early is not None:
            self._puback(message.command_id, early)

    # -- paho's network thread ------------------------------------------------------------------------------------

    def _on_event(self, event: mqtt.Event) -> None:
        if isinstance(event, mqtt.Published):
            with self._lock:
                command_id = self._inflight.pop(event.mid, None)
                if command_id is None:
                    self._early[event.mid] = event
            if command_id is not None:
                self._puback(command_id, event)
        elif isinstance(event, mqtt.Connected):
            # Publishes without PUBACK were dropped by paho on reconnect (mqtt.py): hand them to the bridges, which
            # publish them with the expiry that is left (a device that did get one answers the copy from memory).
            # Most were handed over at the disconnect; these are the ones registered after it.
            with self._lock:
                dropped = [self._inflight.pop(mid) for mid in event.dropped_mids if mid in self._inflight]
                self._early.clear()
            self._release(dropped)
        elif isinstance(event, mqtt.Disconnected):
            # This connection will never send them again (paho's copies are dropped at the reconnect): the bridges
            # take them now rather than at this connection's reconnect, which may come after theirs, when they
            # would already have published newer commands for the same devices (refused then as superseded).
            with self._lock:
                dropped = list(self._inflight.values())
                self._inflight.clear()
                self._early.clear()
            self._release(dropped)
            if not self._stopped:
                log.warning("iot direct publisher %s disconnected: %s (%d commands handed to the bridges)",
                            self.client_id, event.reason, len(dropped))

    def _release(self, command_ids: list[int]) -> None:
        for command_id in command_ids:
            self._outcomes.put(_Outcome(command_id, "released"))

    def _puback(self, command_id: int, event: mqtt.Published) -> None:
        self._outcomes.put(_Outcome(command_id, "sent" if event.ok else "refused", event.reason))

    # -- recording what the broker said (its own thread, its own units of work) ---------------------------------

    def _record_outcomes(self) -> None:
        from app.iot.services import ingest  # the services import this module

        stopping = False
        while not stopping:
            batch, stopping = self._gather()
            sent = [o.command_id for o in batch if o.kind == "sent"]
            others = [o for o in batch if o.kind != "sent"]
            if not batch:
                continue
            with self.app.app_context():
                try:
                    if sent:  # most were answered meanwhile: nothing left to write for them
                        sent = ingest.still_pending(command_ids=sent)
                    if sent or others:
                        with unit_of_work():
                            ingest.mark_sent_many(command_ids=sent)
                            for outcome in others:
                                if outcome.kind == "refused":
                                    ingest.mark_refused(command_id=outcome.command_id, reason=outcome.reason)
                            ingest.release_claims(
                                command_ids=[o.command_id for o in others if o.kind == "released"],
                                claimed_by=self.client_id)
                except Exception:
                    # Left as they are: the claims lapse and a bridge publishes those commands again.
                    log.exception("iot direct publisher: recording %d outcomes failed", len(batch))
                finally:
                    db.session.remove()

    def _gather(self) -> tuple[list[_Outcome], bool]:
        """The next outcomes to record, and whether to stop after them. PUBACKs wait until none came for
        SENT_QUIET_SECONDS (at most SENT_MAX_DELAY_SECONDS): the device's answer usually follows within a few ms,
        and recording the PUBACK at that moment would compete with the bridge recording the answer, on the
        command's path. A refusal or a release is recorded at once."""
        first = self._outcomes.get()
        if first is None:
            return [], True
        batch = [first]
        deadline = time.monotonic() + SENT_MAX_DELAY_SECONDS
        while len(batch) < OUTCOME_BATCH:
            wait = 0.0 if any(o.kind != "sent" for o in batch) else min(SENT_QUIET_SECONDS,
                                                                        deadline - time.monotonic())
            try:
                outcome = self._outcomes.get(timeout=wait) if wait > 0 else self._outcomes.get_nowait()
            except queue.Empty:
                break
            if outcome is None:
                return batch, True
            batch.append(outcome)
        return batch, False


def publisher_for(app: Flask) -> DirectPublisher | None:
    """This process's publisher when IOT_DIRECT_PUBLISH is on (started on first use), else None.

    A process forked after the publisher started (gunicorn preloading the app) gets its own: paho's thread and
    socket do not survive a fork.
    """
    if not app.config.get("IOT_DIRECT_PUBLISH"):
        return None
    publisher = app.extensions.get(EXTENSION)
    if publisher is not None and publisher.pid == os.getpid():
        return publisher
    with _starting:
        publisher = app.extensions.get(EXTENSION)
        if publisher is None or publisher.pid != os.getpid():
            broker = mqtt.settings_from_url(app.config["MQTT_URL"], max_inflight=app.config["MQTT_MAX_INFLIGHT"])
            publisher = DirectPublisher(app, broker, claim_seconds=app.config["IOT_DIRECT_CLAIM_SECONDS"]).start()
            app.extensions[EXTENSION] = publisher
            atexit.register(publisher.stop)
    return publisher


def stop_publisher(app: Flask) -> None:
    """Stop this process's publisher, if it has one (tests; atexit does it otherwise)."""
    publisher = app.extensions.pop(EXTENSION, None)
    if publisher is not None and publisher.pid == os.getpid():
        publisher.stop()


_starting = threading.Lock()
