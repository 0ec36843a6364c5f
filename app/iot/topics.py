"""The MQTT topic convention (docs/mqtt.md), as plain string functions shared by the bridge and the simulator."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

STATE = "state"  # retained JSON, published by the device
SET = "set"  # commands: QoS 1, never retained, MQTT 5 expiry, response topic + correlation data
AVAILABILITY = "availability"  # retained "online" / "offline" (the device's last will)
RESPONSE = "response"  # the device's acknowledgement of a command, with the command's correlation data
ONLINE, OFFLINE = b"online", b"offline"
DISCOVERY_PREFIX = "homeassistant"

# Hotel codes and room numbers are validated to these characters, so a topic level never holds + # or /.
_DEVICE_TOPIC = re.compile(r"^hotel/([a-z0-9_-]+)/room/([A-Za-z0-9-]+)/([a-z0-9_-]+)/(state|availability|response)$")


def room_topic(hotel_code: str, room_number: str) -> str:
    return f"hotel/{hotel_code}/room/{room_number}"


def device_topic(room: str, key: str) -> str:
    return f"{room}/{key}"


def bridge_status_topic(scope: str, bridge_id: str) -> str:
    return f"hotel/{scope}/bridge/{bridge_id}/status"


def bridge_subscriptions(shared_group: str | None) -> list[tuple[str, int]]:
    """What a bridge subscribes to; with a group, `$share/<group>/...` lets several bridges split the messages."""
    prefix = f"$share/{shared_group}/" if shared_group else ""
    return [(f"{prefix}hotel/+/room/+/+/{leaf}", 1) for leaf in (STATE, AVAILABILITY, RESPONSE)]


@dataclass(frozen=True)
class DeviceTopic:
    device_topic: str  # hotel/<hotel>/room/<room>/<key>
    leaf: str  # state | availability | response


@functools.lru_cache(maxsize=65536)  # a bridge sees the same few thousand topics over and over
def parse(topic: str) -> DeviceTopic | None:
    """A device's state/availability/response topic, or None for anything else (the room's aggregate state...)."""
    match = _DEVICE_TOPIC.match(topic)
    if match is None:
        return None
    return DeviceTopic(device_topic=topic.rsplit("/", 1)[0], leaf=match.group(4))
