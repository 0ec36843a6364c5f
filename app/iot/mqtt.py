"""The one module that talks to paho-mqtt: a connection that speaks MQTT 5 and hands plain dataclasses out.

Protocol facts it encodes (paho-mqtt 2.x, Mosquitto 2):
- `CallbackAPIVersion.VERSION2` and `protocol=MQTTv5`; a persistent session (stable client id, `clean_start=False`,
  non-zero session expiry) so that the broker keeps subscriptions and queues QoS 1 messages while we are away.
- Subscriptions are made in `on_connect`, so every reconnect re-subscribes.
- paho re-sends its unacknowledged QoS 1 publishes after a reconnect with their original expiry interval, which the
  broker would count again from zero: a command published just before an outage could arrive late. The connection
  therefore drops paho's own queue on connect and reports the dropped message ids; the database outbox, not paho's
  memory, decides what is published again (with the expiry that is left).
- paho ignores the broker's MQTT 5 Receive Maximum (Mosquitto: 20, its `max_inflight_messages`) and cannot change
  its own window once connected. With more unacknowledged QoS 1 messages than the broker allows, some are never
  acknowledged and paho's window fills up for good; so the window is `BrokerSettings.max_inflight` (default 20,
  MQTT_MAX_INFLIGHT) and a broker that announces less is logged as an error.
- Nagle's algorithm (paho does not set TCP_NODELAY) adds tens of milliseconds to a small command: it is turned off.
- Callbacks only translate and hand over to `on_event`; an exception there is logged, never kills the network loop.
- paho's threaded mode writes every packet from its network thread. A connection made with `caller_writes=True`
  has the publishing thread write it instead (`_CallerWritesClient`): the API's command publisher, whose commands
  otherwise waited for the network thread to get the GIL from the busy web worker.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrokerSettings:
    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = None
    keepalive: int = 30
    session_expiry_seconds: int = 3600
    reconnect_min_seconds: int = 1
    reconnect_max_seconds: int = 30
    max_inflight: int = 20  # unacknowledged QoS 1 publishes; at most the broker's Receive Maximum


def settings_from_url(url: str, **overrides: Any) -> BrokerSettings:
    """`mqtt://user:password@host:port` -> BrokerSettings."""
    parts = urlsplit(url)
    if parts.scheme not in {"mqtt", "tcp"} or not parts.hostname:
        raise ValueError(f"expected mqtt://host:port, got {url!r}")
    return BrokerSettings(host=parts.hostname, port=parts.port or 1883,
                          username=unquote(parts.username) if parts.username else None,
                          password=unquote(parts.password) if parts.password else None, **overrides)


@dataclass(frozen=True)
class Outgoing:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False
    expiry_seconds: int | None = None  # MQTT 5 message expiry: the broker drops it once this has passed
    response_topic: str | None = None
    correlation_data: bytes | None = None


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool = False
    correlation_data: bytes | None = None
    response_topic: str | None = None
    expiry_seconds: int | None = None  # what is left of the message expiry when the broker forwarded it


@dataclass(frozen=True)
class Connected:
    session_present: bool
    dropped_mids: list[int] = field(default_factory=list)  # paho's unacknowledged publishes, now forgotten
    link: int = 0  # which connection of this client it is (Connection.link)


@dataclass(frozen=True)
class Disconnected:
    reason: str


@dataclass(frozen=True)
class Published:
    mid: int
    ok: bool  # the broker accepted it (PUBACK reason below 0x80)
    reason: str = ""


Event = Connected | Disconnected | Published | Received


class _CallerWritesClient(paho.Client):
    """A paho client whose publishing thread puts its packet on the wire itself.

    In paho's threaded mode (`loop_start`) a publish from another thread only queues the packet and wakes the
    network thread, which then writes it on its second pass through its loop, once it holds the GIL. Measured in
    the API process on PostgreSQL (a command per request, paho 2.2): from `publish()` to the socket write took
    0.5 ms (median) when the request thread went idle right after, and 2.3 ms (median) / 7 ms (p99) when it went on
    running Python, as a busy web worker does. Here `_packet_queue` also writes the queue from the calling thread.

    One re-entrant lock serialises every write of the queue (ours and the network thread's) and `reconnect`, which
    closes the socket, clears the queue and sends CONNECT: a packet is never split by another, nor written to the
    next connection before its CONNECT. The calling thread only tries the lock: when the network thread holds it,
    the packet stays queued and the network thread, already woken by paho, writes it. Write errors are left to the
    network thread, as before (a failed write puts the packet back; its next pass sees the broken socket).

    It overrides paho internals (`_packet_queue`, `_packet_write`), pinned with paho-mqtt in requirements.txt;
    tests/iot/test_iot_direct.py publishes while the network thread is held and sees the message arrive.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._write_lock = threading.RLock()

    def _packet_queue(self, command: int, packet: bytes | bytearray, mid: int, qos: int,
                      info: paho.MQTTMessageInfo | None = None) -> paho.MQTTErrorCode:
        rc = super()._packet_queue(command, packet, mid, qos, info)
        if self._write_lock.acquire(blocking=False):
            try:
                super()._packet_write()
            finally:
                self._write_lock.release()
        return rc

    def _packet_write(self) -> paho.MQTTErrorCode:
        with self._write_lock:
            return super()._packet_write()

    def reconnect(self) -> paho.MQTTErrorCode:
        with self._write_lock:
            return super().reconnect()


class Connection:
    """One MQTT 5 client with a persistent session, a last will, reconnect back-off and re-subscribe on connect."""

    def __init__(self, settings: BrokerSettings, *, client_id: str, on_event: Callable[[Event], None],
                 subscriptions: list[tuple[str, int]] | None = None, will: Outgoing | None = None,
                 birth: Outgoing | None = None, clean_start: bool = False, caller_writes: bool = False) -> None:
        self.settings = settings
        self.client_id = client_id
        self._on_event = on_event
        self._subscriptions = list(subscriptions or [])
        self._birth = birth
        self._clean_start = clean_start
        self.connected = False
        # Counts successful connects. A caller on another thread sees `connected` turn True before it has handled
        # the Connected event (and its dropped publishes); publishing with the link it last handled lets it keep
        # its own order across a reconnect (see publish).
        self.link = 0
        client_class = _CallerWritesClient if caller_writes else paho.Client
        client = client_class(paho.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
        if settings.username:
            client.username_pw_set(settings.username, settings.password)
        if will is not None:
            client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
        client.reconnect_delay_set(settings.reconnect_min_seconds, settings.reconnect_max_seconds)
        client.max_inflight_messages_set(settings.max_inflight)
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_publish = self._handle_publish
        client.on_message = self._handle_message
        self._client = client

    # -- lifecycle ------------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background (the network thread retries with back-off until the broker answers)."""
        connect_properties = Properties(PacketTypes.CONNECT)
        connect_properties.SessionExpiryInterval = 0 if self._clean_start else self.settings.session_expiry_seconds
        self._client.connect_async(self.settings.host, self.settings.port, keepalive=self.settings.keepalive,
                                   clean_start=self._clean_start, properties=connect_properties)
        self._client.loop_start()

    def stop(self, *, final: Outgoing | None = None, timeout: float = 2.0) -> None:
        """Publish `final` (say a retained "offline"), disconnect cleanly and stop the network thread."""
        if final is not None and self.connected:
            info = self._client.publish(final.topic, final.payload, qos=final.qos, retain=final.retain)
            try:
                info.wait_for_publish(timeout=timeout)  # always with a timeout: it can hang if the link drops
            except (RuntimeError, ValueError):
                log.warning("mqtt %s: final message not confirmed", self.client_id)
        self._client.disconnect()
        self._client.loop_stop()

    def kill(self) -> None:
        """Drop the TCP connection without DISCONNECT, as a crash or a cut cable would: the broker sends the will."""
        self._client.loop_stop()
        sock = self._client.socket()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.connected = False

    # -- publishing -----------------------------------------------------------------------------------------------

    def publish(self, message: Outgoing, *, link: int | None = None) -> int | None:
        """Publish; returns paho's message id, or None when not connected (nothing is queued then), or when `link`
        is given and is not the current connection: the caller has not yet seen the reconnect's Connected event."""
        if not self.connected or (link is not None and link != self.link):
            return None
        properties = None
        if message.expiry_seconds is not None or message.response_topic or message.correlation_data:
            properties = Properties(PacketTypes.PUBLISH)
            if message.expiry_seconds is not None:
                properties.MessageExpiryInterval = max(1, int(message.expiry_seconds))
            if message.response_topic:
                properties.ResponseTopic = message.response_topic
            if message.correlation_data:
                properties.CorrelationData = message.correlation_data
        info = self._client.publish(message.topic, message.payload, qos=message.qos, retain=message.retain,
                                    properties=properties)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            # Not on the wire (the link just dropped): paho's copy is discarded on the next connect, and the
            # outbox publishes the command again then, with the expiry that is left.
            return None
        return info.mid

    # -- paho callbacks (network thread) --------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        try:
            self._on_event(event)
        except Exception:
            log.exception("mqtt %s: event handler failed for %s", self.client_id, type(event).__name__)

    def _handle_connect(self, client: paho.Client, _userdata: Any, flags: Any, reason_code: Any,
                        properties: Any) -> None:
        if reason_code.is_failure:
            log.warning("mqtt %s: connection refused: %s", self.client_id, reason_code)
            return
        receive_maximum = getattr(properties, "ReceiveMaximum", 65535)
        if receive_maximum < self.settings.max_inflight:
            log.error("mqtt %s: the broker accepts %d messages in flight, fewer than MQTT_MAX_INFLIGHT=%d",
                      self.client_id, receive_maximum, self.settings.max_inflight)
        sock = client.socket()
        if sock is not None and hasattr(sock, "setsockopt"):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        dropped = [message.mid for message in client.drop_out_messages()]
        self.link += 1
        self.connected = True
        if self._subscriptions:
            client.subscribe(self._subscriptions)
        if self._birth is not None:
            client.publish(self._birth.topic, self._birth.payload, qos=self._birth.qos, retain=self._birth.retain)
        self._emit(Connected(session_present=bool(flags.session_present), dropped_mids=dropped, link=self.link))

    def _handle_disconnect(self, _client: paho.Client, _userdata: Any, _flags: Any, reason_code: Any,
                           _properties: Any) -> None:
        self.connected = False
        self._emit(Disconnected(reason=str(reason_code)))

    def _handle_publish(self, _client: paho.Client, _userdata: Any, mid: int, reason_code: Any,
                        _properties: Any) -> None:
        failed = bool(getattr(reason_code, "is_failure", False))
        self._emit(Published(mid=mid, ok=not failed, reason=str(reason_code)))

    def _handle_message(self, _client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        properties = getattr(message, "properties", None)
        correlation = getattr(properties, "CorrelationData", None)
        self._emit(Received(topic=message.topic, payload=message.payload, retain=bool(message.retain),
                            correlation_data=bytes(correlation) if correlation else None,
                            response_topic=getattr(properties, "ResponseTopic", None) or None,
                            expiry_seconds=getattr(properties, "MessageExpiryInterval", None)))
