"""Room devices, their latest state and history, and the command outbox that the MQTT bridge delivers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.db import IdMixin, TimestampMixin, UTCDateTime
from app.extensions import db


class DeviceKind(StrEnum):
    LIGHT = "light"  # on, brightness
    CLIMATE = "climate"  # power, mode, setpoint_c, fan
    CURTAINS = "curtains"  # position
    LOCK = "lock"  # locked
    INDICATOR = "indicator"  # the DND / make-up-room indicator and its button: mode
    SENSOR = "sensor"  # occupancy, door, window, temperature_c (read only)


class CommandStatus(StrEnum):
    PENDING = "pending"  # accepted, waiting for the bridge (also while the broker is down)
    SENT = "sent"  # the broker has it (PUBACK)
    ACKNOWLEDGED = "acknowledged"  # the device executed it and said so on the response topic
    FAILED = "failed"  # the device (or the broker) refused it
    EXPIRED = "expired"  # not delivered or not acknowledged before its expiry: never executed late


FINAL_STATUSES = (CommandStatus.ACKNOWLEDGED, CommandStatus.FAILED, CommandStatus.EXPIRED)


class Device(IdMixin, TimestampMixin, db.Model):
    """A controller in a room. Its topics are fixed at registration: `hotel/<hotel code>/room/<number>/<key>`."""

    __tablename__ = "iot_devices"
    __table_args__ = (
        UniqueConstraint("room_id", "key"),
        Index("ix_iot_devices_hotel_id_room_id", "hotel_id", "room_id"),
    )

    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id"))
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    key: Mapped[str] = mapped_column(String(40))  # unique within the room, e.g. light-main
    kind: Mapped[str] = mapped_column(String(20))  # DeviceKind
    name: Mapped[dict] = mapped_column(JSON)  # {"en": ..., "ru": ...}
    room_topic: Mapped[str] = mapped_column(String(200))  # hotel/<hotel>/room/<room>
    topic: Mapped[str] = mapped_column(String(240), unique=True)  # room_topic/<key>
    state: Mapped[dict | None] = mapped_column(JSON)  # the last retained state the device published
    state_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    available: Mapped[bool | None] = mapped_column(Boolean)  # None until the device has said anything
    availability_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fault: Mapped[str | None] = mapped_column(String(200))  # the fault the device reports, if any
    offline_alerted: Mapped[bool] = mapped_column(Boolean, default=False)  # one alert per offline period


class DeviceReading(IdMixin, db.Model):
    """History of what devices reported (state or availability), kept for IOT_HISTORY_DAYS."""

    __tablename__ = "iot_device_readings"
    __table_args__ = (Index("ix_iot_device_readings_device_id_id", "device_id", "id"),)

    device_id: Mapped[int] = mapped_column(ForeignKey("iot_devices.id", ondelete="CASCADE"))
    state: Mapped[dict | None] = mapped_column(JSON)
    available: Mapped[bool | None] = mapped_column(Boolean)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: clock.now(), index=True)


class DeviceCommand(IdMixin, db.Model):
    """The outbox: a command accepted by the API, delivered by the bridge, acknowledged by the device."""

    __tablename__ = "iot_commands"
    __table_args__ = (
        Index("ix_iot_commands_status_id", "status", "id"),
        Index("ix_iot_commands_room_id_id", "room_id", "id"),
    )

    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id"))
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("iot_devices.id", ondelete="CASCADE"))
    stay_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    issued_by: Mapped[str] = mapped_column(String(40))  # guest:<id> | staff:<id> | system
    source: Mapped[str] = mapped_column(String(40))  # app | staff | scene:<name> | dnd
    values: Mapped[dict] = mapped_column(JSON)  # what the device is asked to set
    correlation_id: Mapped[str] = mapped_column(String(32), unique=True)  # MQTT 5 correlation data
    status: Mapped[str] = mapped_column(String(20), default=CommandStatus.PENDING.value)  # CommandStatus
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: clock.now())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    publish_count: Mapped[int] = mapped_column(Integer, default=0)
    # A bridge that took the command to publish it; others leave it alone until the claim lapses.
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    result: Mapped[dict | None] = mapped_column(JSON)  # the device's answer (state, or error)

    device: Mapped[Device] = relationship(Device)  # explicit: app.push also has a Device model

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class KeyBlock(db.Model):
    """Staff have blocked the digital key of a stay (lost phone, unpaid deposit): no unlock from the app."""

    __tablename__ = "iot_key_blocks"

    stay_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True)
    blocked_by_staff_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"))
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: clock.now())


class BridgeHeartbeat(db.Model):
    """Each running bridge says it is alive; without a live bridge the API shows device availability as unknown."""

    __tablename__ = "iot_bridge_heartbeats"

    bridge_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
