"""Append-only audit entries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.db import IdMixin, UTCDateTime
from app.extensions import db


class AuditEntry(IdMixin, db.Model):
    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_subject", "subject_kind", "subject_id"),
        Index("ix_audit_entries_hotel_id_id", "hotel_id", "id"),
    )

    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: clock.now())
    actor_kind: Mapped[str] = mapped_column(String(10))  # staff | guest | key | system
    actor_id: Mapped[int | None] = mapped_column()
    action: Mapped[str] = mapped_column(String(60))  # guest.read, guest.merged, guest.created_walk_in, ...
    subject_kind: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[int | None] = mapped_column()
    hotel_id: Mapped[int | None] = mapped_column()
    detail: Mapped[dict | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(128))
