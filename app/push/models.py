"""Devices (FCM tokens), notifications (the inbox) with their per-device deliveries (the outbox), segments,
campaigns, per-hotel marketing settings and the event cursor of the transactional feed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.db import IdMixin, TimestampMixin, UTCDateTime
from app.extensions import db


class Platform(StrEnum):
    IOS = "ios"
    ANDROID = "android"
    WEB = "web"


class Category(StrEnum):
    """What a notification is about; every category but OFFER is transactional (no marketing consent needed)."""

    OFFER = "offer"
    BOOKING = "booking"
    REQUEST = "request"
    STAY = "stay"
    CHAT = "chat"


TRANSACTIONAL = (Category.BOOKING, Category.REQUEST, Category.STAY, Category.CHAT)


class PushState(StrEnum):
    QUEUED = "queued"  # deliveries were made for the guest's live devices
    NO_DEVICE = "no_device"  # inbox only: the guest has no live token
    CAPPED = "capped"  # inbox only: the marketing frequency cap was reached
    CANCELLED = "cancelled"  # the campaign was cancelled before it went out


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # due at next_attempt_at
    SENDING = "sending"  # claimed by a sender; its result is being awaited
    SENT = "sent"
    FAILED = "failed"  # given up (bad payload, too many attempts)
    INVALID_TOKEN = "invalid_token"  # FCM said the token is dead or malformed; the device was removed
    UNKNOWN = "unknown"  # the sender died mid-send: FCM may or may not have it; never sent again
    CANCELLED = "cancelled"


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"


class CampaignTrigger(StrEnum):
    SCHEDULE = "schedule"  # at send_at, once or every repeat_every_days
    BIRTHDAY = "birthday"  # while scheduled: each guest of the segment, PUSH_BIRTHDAY_LEAD_DAYS before birthday


class CampaignOrigin(StrEnum):
    MARKETER = "marketer"
    LOW_SEASON = "low_season"  # proposed (or created) by the low-season automation


class Device(IdMixin, db.Model):
    __tablename__ = "push_devices"

    guest_id: Mapped[int] = mapped_column(ForeignKey("guests.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(512), unique=True)  # the FCM registration token
    platform: Mapped[str] = mapped_column(String(10))  # Platform
    language: Mapped[str] = mapped_column(String(2), default="en")
    app_version: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: clock.now())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: clock.now(), index=True)


class NotificationSettings(db.Model):
    """Which transactional categories a guest wants pushed (absent row: all of them)."""

    __tablename__ = "push_notification_settings"

    guest_id: Mapped[int] = mapped_column(ForeignKey("guests.id", ondelete="CASCADE"), primary_key=True)
    booking: Mapped[bool] = mapped_column(Boolean, default=True)
    request: Mapped[bool] = mapped_column(Boolean, default=True)
    stay: Mapped[bool] = mapped_column(Boolean, default=True)
    chat: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=lambda: clock.now(), onupdate=lambda: clock.now())


class Notification(IdMixin, db.Model):
    """One message to one guest: an inbox entry, pushed to each live device through its deliveries."""

    __tablename__ = "push_notifications"
    __table_args__ = (
        Index("ix_push_notifications_guest_id_id", "guest_id", "id"),
        Index("ix_push_notifications_guest_category_push_after", "guest_id", "category", "push_after"),
    )

    guest_id: Mapped[int] = mapped_column(ForeignKey("guests.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(10))  # Category
    # What makes it unique: "event:<id>", "checkout:<booking>", "campaign:<id>:<run>:<guest>", "birthday:..."
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("marketing_campaigns.id"), index=True)
    event_id: Mapped[int | None]
    title: Mapped[dict] = mapped_column(JSON)  # {"en": ..., "ru": ...}
    body: Mapped[dict] = mapped_column(JSON)
    deep_link: Mapped[str | None] = mapped_column(String(500))
    push_state: Mapped[str] = mapped_column(String(10))  # PushState
    push_after: Mapped[datetime] = mapped_column(UTCDateTime())  # quiet hours move it to the morning
    # Bookings the guest makes from push_after until then count for the campaign (stored: date arithmetic in SQL
    # differs between SQLite and PostgreSQL).
    attribution_ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: clock.now())
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Delivery(IdMixin, db.Model):
    """The outbox: one push of one notification to one device, sent by a job outside any unit of work."""

    __tablename__ = "push_deliveries"
    __table_args__ = (
        UniqueConstraint("notification_id", "device_id"),
        Index("ix_push_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    notification_id: Mapped[int] = mapped_column(ForeignKey("push_notifications.id", ondelete="CASCADE"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("push_devices.id", ondelete="SET NULL"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(index=True)  # copied from the notification, for stats
    status: Mapped[str] = mapped_column(String(15), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    message_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(String(500))

    notification: Mapped[Notification] = relationship()


class Segment(IdMixin, TimestampMixin, db.Model):
    """A saved audience: composable filters (see services/segments.py) among the guests one hotel knows."""

    __tablename__ = "marketing_segments"

    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    filters: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))


class Campaign(IdMixin, TimestampMixin, db.Model):
    __tablename__ = "marketing_campaigns"
    __table_args__ = (Index("ix_marketing_campaigns_status_send_at", "status", "send_at"),)

    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id"), index=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("marketing_segments.id"))
    name: Mapped[str] = mapped_column(String(120))
    trigger: Mapped[str] = mapped_column(String(10), default=CampaignTrigger.SCHEDULE.value)
    origin: Mapped[str] = mapped_column(String(12), default=CampaignOrigin.MARKETER.value)
    title: Mapped[dict] = mapped_column(JSON)
    body: Mapped[dict] = mapped_column(JSON)
    deep_link: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10), default=CampaignStatus.DRAFT.value)
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    repeat_every_days: Mapped[int | None] = mapped_column(Integer)
    repeat_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    run_number: Mapped[int] = mapped_column(Integer, default=0)  # the current (or last) run
    # Guest id up to which the current run's audience has been queued; None when no run is being queued.
    audience_cursor: Mapped[int | None]
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    automation_key: Mapped[str | None] = mapped_column(String(80), unique=True)  # low_season:<hotel>:<start>
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))

    segment: Mapped[Segment] = relationship()


class HotelMarketingSettings(db.Model):
    """A hotel's automation choices: create low-season campaigns itself (opt-in) or only propose them."""

    __tablename__ = "marketing_hotel_settings"

    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id", ondelete="CASCADE"), primary_key=True)
    auto_low_season: Mapped[bool] = mapped_column(Boolean, default=False)
    low_season_weeks_before: Mapped[int | None] = mapped_column(Integer)


class PushCursor(db.Model):
    """How far a tailing job has read the domain events table (committed with what it made of them)."""

    __tablename__ = "push_cursors"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(default=0)
