"""Write and browse the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import g, has_request_context
from sqlalchemy import or_, select

from app.audit.models import AuditEntry
from app.core.pagination import Page, paginate
from app.extensions import db


def record(
    *, actor: Any, action: str, subject_kind: str, subject_id: int | None,
    hotel_id: int | None = None, detail: dict | None = None,
) -> None:
    """Append an entry in the caller's unit of work: the audited act and its entry commit together."""
    db.session.add(AuditEntry(
        actor_kind=_actor_kind(actor), actor_id=getattr(actor, "id", None), action=action,
        subject_kind=subject_kind, subject_id=subject_id, hotel_id=hotel_id, detail=detail,
        request_id=g.get("request_id") if has_request_context() else None,
    ))


def _actor_kind(actor: Any) -> str:
    if actor is None:
        return "system"
    return getattr(actor, "audit_kind", type(actor).__name__.lower())


def browse(
    *, viewer: Any, cursor: str | None, limit: int, action: str | None = None,
    subject_kind: str | None = None, subject_id: int | None = None, actor_kind: str | None = None,
    actor_id: int | None = None, since: datetime | None = None, until: datetime | None = None,
) -> Page:
    """Newest first. A hotel manager sees entries of their hotels (and chain-level ones they made)."""
    stmt = select(AuditEntry)
    if not viewer.is_chain_wide:
        stmt = stmt.where(or_(
            AuditEntry.hotel_id.in_(viewer.hotel_ids),
            (AuditEntry.actor_kind == "staff") & (AuditEntry.actor_id == viewer.id),
        ))
    equal = {AuditEntry.action: action, AuditEntry.subject_kind: subject_kind, AuditEntry.subject_id: subject_id,
             AuditEntry.actor_kind: actor_kind, AuditEntry.actor_id: actor_id}
    stmt = stmt.where(*[column == value for column, value in equal.items() if value is not None])
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEntry.at < until)
    return paginate(stmt, keys=[AuditEntry.id], cursor=cursor, limit=limit, descending=True)
