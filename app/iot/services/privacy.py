"""The IoT domain's part of a guest's data rights: the room commands the guest issued from the app.

Commands name their issuer by id only (`guest:<id>`), and the device history belongs to rooms, not guests (kept
IOT_HISTORY_DAYS by the purge_iot_history job): erasure has nothing to anonymise here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.core.records import as_records
from app.extensions import db
from app.iot.models import DeviceCommand


def export_for_guest(*, guest_id: int) -> dict[str, Any]:
    # A scan of iot_commands (no index on issued_by): exports are rare, and the table is bounded by room traffic.
    commands = db.session.scalars(select(DeviceCommand).where(DeviceCommand.issued_by == f"guest:{guest_id}")
                                  .order_by(DeviceCommand.id))
    return {"room_commands": as_records(commands, exclude=("claimed_by", "claimed_until", "publish_count"))}


def erase_for_guest(*, guest_id: int, pseudonym: str) -> dict[str, int]:
    return {}
