"""Catalogue, service requests with their transitions and SLA clock, staff alerts, service recovery, messages."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.crypto import EncryptedJSON
from app.core.db import IdMixin, TimestampMixin, UTCDateTime
from app.extensions import db


class RequestType(StrEnum):
    ROOM_SERVICE = "room_service"
    LAUNDRY = "laundry"
    REPAIR = "repair"
    HOUSEKEEPING = "housekeeping"


# Which department works each type (app.hotels.models.DepartmentKind values).
DEPARTMENT_OF = {
    RequestType.ROOM_SERVICE: "kitchen",
    RequestType.LAUNDRY: "laundry",
    RequestType.REPAIR: "maintenance",
    RequestType.HOUSEKEEPING: "housekeeping",
}

# Folio charge kind of a delivered request (app.bookings.models.ChargeKind values).
CHARGE_KIND_OF = {
    RequestType.ROOM_SERVICE: "room_service",
    RequestType.LAUNDRY: "laundry",
    RequestType.REPAIR: "other",
    RequestType.HOUSEKEEPING: "other",
}


class RequestStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    DONE = "done"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


OPEN_STATUSES = (RequestStatus.NEW, RequestStatus.ACKNOWLEDGED, RequestStatus.ASSIGNED, RequestStatus.IN_PROGRESS,
                 RequestStatus.ON_HOLD)
CLOSED_STATUSES = (RequestStatus.DONE, RequestStatus.CANCELLED, RequestStatus.REJECTED)


class CatalogItem(IdMixin, TimestampMixin, db.Model):
    """One thing a guest can order or ask for at a hotel: a dish, a laundry item, a repair category, an amenity."""

    __tablename__ = "catalog_items"
    __table_args__ = (UniqueConstraint("hotel_id", "code"), Index("ix_catalog_items_hotel_id_type", "hotel_id", "type"))

    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(20))  # RequestType
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[dict] = mapped_column(JSON)  # {"en": ..., "ru": ...}
    description: Mapped[dict | None] = mapped_column(JSON)
    price: Mapped[int] = mapped_column(Integer, default=0)  # minor units of the hotel's currency, per unit
    express_price: Mapped[int | None] = mapped_column(Integer)  # laundry: the price with the express option
    # Serving hours in hotel-local time ("HH:MM"); until < from wraps over midnight; none means always.
    available_from: Mapped[str | None] = mapped_column(String(5))
    available_until: Mapped[str | None] = mapped_column(String(5))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class SlaPolicy(IdMixin, db.Model):
    """A hotel's targets for one request type, set by its manager; missing rows fall back to the defaults."""

    __tablename__ = "sla_policies"
    __table_args__ = (UniqueConstraint("hotel_id", "request_type"),)

    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id", ondelete="CASCADE"))
    request_type: Mapped[str] = mapped_column(String(20))
    acknowledge_minutes: Mapped[int] = mapped_column(Integer)
    complete_minutes: Mapped[int] = mapped_column(Integer)
    # An overdue request goes to its department at once, and to the hotel manager this much later.
    manager_after_minutes: Mapped[int] = mapped_column(Integer)


class ServiceRequest(IdMixin, TimestampMixin, db.Model):
    """A guest's request for their room. The SLA clock is two deadlines that move later while it is paused."""

    __tablename__ = "service_requests"
    __table_args__ = (
        # The open queue, ordered by urgency: an index range scan whatever the size of the history.
        Index("ix_service_requests_queue", "hotel_id", "is_open", "is_paused", "due_at", "id"),
        Index("ix_service_requests_booking_id_id", "booking_id", "id"),
        Index("ix_service_requests_guest_id_id", "guest_id", "id"),
        Index("ix_service_requests_hotel_id_created_at", "hotel_id", "created_at"),
        Index("ix_service_requests_escalation", "is_open", "is_paused", "due_at"),
    )

    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id"))
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"))
    guest_id: Mapped[int] = mapped_column(ForeignKey("guests.id"))
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    room_number: Mapped[str] = mapped_column(String(20))
    type: Mapped[str] = mapped_column(String(20))  # RequestType
    department: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=RequestStatus.NEW.value)
    details: Mapped[dict] = mapped_column(JSON, default=dict)  # items, notes, times, category... by type
    # Health data and free notes from the guest's profile that the work needs (a room preparation's allergies and
    # notes): encrypted at rest like the profile itself, never in `details` or an event (docs/privacy.md).
    private_details: Mapped[dict | None] = mapped_column(EncryptedJSON())
    total_amount: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    created_by_kind: Mapped[str] = mapped_column(String(10))  # guest | staff | system
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    source_message_id: Mapped[int | None] = mapped_column()
    assigned_to_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"), index=True)

    # SLA clock.
    acknowledge_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    complete_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the deadline of the current stage
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    is_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    waiting_dnd: Mapped[bool] = mapped_column(Boolean, default=False)
    hold_reason: Mapped[str | None] = mapped_column(String(300))
    held_from: Mapped[str | None] = mapped_column(String(20))
    sla_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)  # 0 none, 1 department, 2 hotel manager
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reject_reason: Mapped[str | None] = mapped_column(String(300))
    charge_id: Mapped[int | None] = mapped_column()
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(String(1000))
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def details_for_staff(self) -> dict:
        """`details` with the private ones merged back where they came from (a preparation's preferences)."""
        if not self.private_details:
            return self.details
        preferences = {**(self.details or {}).get("preferences", {}), **self.private_details}
        return {**(self.details or {}), "preferences": preferences}

    def sync_clock(self, now: datetime) -> None:
        """Pause or resume the SLA clock to match the state: on hold, or housekeeping waiting behind DND."""
        should_pause = self.is_open and (self.status == RequestStatus.ON_HOLD or self.waiting_dnd)
        if should_pause and self.paused_at is None:
            self.paused_at = now
        elif not should_pause and self.paused_at is not None:
            paused_for = now - self.paused_at
            self.acknowledge_due_at += paused_for
            self.complete_due_at += paused_for
            self.paused_seconds += int(paused_for.total_seconds())
            self.paused_at = None
        self.is_paused = should_pause
        self.due_at = self.acknowledge_due_at if self.status == RequestStatus.NEW else self.complete_due_at

    def seconds_left(self, now: datetime) -> int:
        """Time left to the current deadline (negative when overdue); frozen while the clock is paused."""
        reference = self.paused_at or now
        return int((self.due_at - reference).total_seconds())

    def overdue(self, now: datetime) -> bool:
        return self.is_open and not self.is_paused and self.due_at < now


class RequestTransition(IdMixin, db.Model):
    """Who did what to a request and when: every status change, pause, escalation and rating."""

    __tablename__ = "request_transitions"

    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(20))  # created, acknowledged, ..., dnd_paused, escalated, rated
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_kind: Mapped[str] = mapped_column(String(10))  # guest | staff | system
    actor_id: Mapped[int | None] = mapped_column()
    note: Mapped[str | None] = mapped_column(String(300))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: clock.now())


class StaffAlert(IdMixin, db.Model):
    """A notice for staff that repeats until someone acknowledges it (a new request, an escalation, a low rating)."""

    __tablename__ = "staff_alerts"
    __table_args__ = (Index("ix_staff_alerts_pending", "acknowledged_at", "next_at"),
                      Index("ix_staff_alerts_hotel_id_id", "hotel_id", "id"))

    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id"))
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # new_request | escalation | service_recovery
    audience: Mapped[str] = mapped_column(String(20))  # a department kind, or hotel_manager
    level: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: clock.now())
    next_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deliveries: Mapped[int] = mapped_column(Integer, default=1)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))


class ServiceRecovery(IdMixin, TimestampMixin, db.Model):
    """The hotel manager's follow-up of a low rating."""

    __tablename__ = "service_recoveries"

    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"), unique=True)
    guest_id: Mapped[int] = mapped_column(ForeignKey("guests.id"))
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | resolved
    resolution: Mapped[str | None] = mapped_column(String(1000))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))


class StayMessage(IdMixin, db.Model):
    """One message of the thread between a stay's guest and the front desk."""

    __tablename__ = "stay_messages"
    __table_args__ = (Index("ix_stay_messages_booking_id_id", "booking_id", "id"),)

    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"))
    hotel_id: Mapped[int] = mapped_column(ForeignKey("hotels.id"))
    guest_id: Mapped[int] = mapped_column(ForeignKey("guests.id"), index=True)
    author_kind: Mapped[str] = mapped_column(String(10))  # guest | staff
    author_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"))
    body: Mapped[str] = mapped_column(Text)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("service_requests.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: clock.now())
