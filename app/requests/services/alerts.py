"""Staff alerts that repeat until acknowledged, escalation of overdue requests, and service recovery."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import false, select, true

from app.core import clock, events
from app.core.errors import Conflict, NotFound
from app.core.prepared_writes import insert_now
from app.extensions import db
from app.requests.models import ServiceRecovery, ServiceRequest, StaffAlert
from app.requests.services.common import SYSTEM, log_transition, record_event
from app.requests.services.sla import target_for

# How many overdue requests one run of the escalation job handles per step (the next run takes the rest).
ESCALATION_BATCH = 500


def _repeat_every() -> timedelta:
    return timedelta(minutes=current_app.config["REQUESTS_ALERT_REPEAT_MINUTES"])


def raise_alert(request: ServiceRequest, *, kind: str, audience: str, level: int = 0) -> StaffAlert:
    """A new alert for `audience` (a department, or hotel_manager), shown in the stream now and repeated later."""
    now = clock.now()
    alert = insert_now(StaffAlert(hotel_id=request.hotel_id, request_id=request.id, kind=kind, audience=audience,
                                  level=level, created_at=now, next_at=now + _repeat_every(), deliveries=1))
    _announce(alert)
    return alert


def _announce(alert: StaffAlert) -> None:
    events.record("request.alerted", hotel_id=alert.hotel_id, subject_id=alert.request_id, payload={
        "alert_id": alert.id, "request_id": alert.request_id, "kind": alert.kind, "audience": alert.audience,
        "level": alert.level, "delivery": alert.deliveries})


def settle_alerts(request: ServiceRequest, *, staff_id: int | None, kinds: tuple[str, ...] | None = None) -> None:
    """The request was dealt with: its pending alerts (of `kinds`, or all) stop repeating."""
    stmt = select(StaffAlert).where(StaffAlert.request_id == request.id, StaffAlert.acknowledged_at.is_(None))
    if kinds:
        stmt = stmt.where(StaffAlert.kind.in_(kinds))
    for alert in db.session.scalars(stmt):
        alert.acknowledged_at, alert.acknowledged_by_staff_id = clock.now(), staff_id


def pending_alerts(*, staff: Any, hotel_id: int | None = None) -> list[StaffAlert]:
    """Unacknowledged alerts of my hotels, oldest first."""
    stmt = select(StaffAlert).where(StaffAlert.acknowledged_at.is_(None))
    if hotel_id is not None:
        if not staff.can_access_hotel(hotel_id):
            raise NotFound("No such hotel.")
        stmt = stmt.where(StaffAlert.hotel_id == hotel_id)
    elif not staff.is_chain_wide:
        stmt = stmt.where(StaffAlert.hotel_id.in_(staff.hotel_ids))
    return list(db.session.scalars(stmt.order_by(StaffAlert.id).limit(200)))


def acknowledge_alert(*, staff: Any, alert_id: int) -> StaffAlert:
    """Someone has seen the alert: it stops repeating."""
    alert = db.session.get(StaffAlert, alert_id)
    if alert is None or not staff.can_access_hotel(alert.hotel_id):
        raise NotFound("No such alert.")
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by_staff_id = clock.now(), staff.id
    return alert


def repeat_due_alerts() -> int:
    """Deliver again every unacknowledged alert whose repeat time has come (the scheduler's job)."""
    now = clock.now()
    due = list(db.session.scalars(select(StaffAlert).where(StaffAlert.acknowledged_at.is_(None),
                                                            StaffAlert.next_at <= now)
                                  .order_by(StaffAlert.id).limit(ESCALATION_BATCH).with_for_update()))
    for alert in due:
        alert.deliveries += 1
        alert.next_at = now + _repeat_every()
        _announce(alert)
    return len(due)


def escalate_overdue() -> int:
    """Overdue requests go to their department, and later to the hotel manager (the scheduler's job)."""
    now = clock.now()
    overdue = db.session.scalars(select(ServiceRequest).where(
        ServiceRequest.is_open == true(), ServiceRequest.is_paused == false(), ServiceRequest.due_at < now,
        ServiceRequest.escalation_level < 2).order_by(ServiceRequest.due_at).limit(ESCALATION_BATCH)
        .with_for_update())
    escalated = 0
    for request in list(overdue):
        level = _level_due(request, now)
        if level > request.escalation_level:
            _escalate(request, level)
            escalated += 1
    return escalated


def _level_due(request: ServiceRequest, now: Any) -> int:
    manager_after = timedelta(minutes=target_for(hotel_id=request.hotel_id,
                                                 request_type=request.type).manager_after_minutes)
    return 2 if request.due_at + manager_after <= now else 1


def _escalate(request: ServiceRequest, level: int) -> None:
    request.escalation_level, request.escalated_at, request.sla_breached = level, clock.now(), True
    audience = request.department if level == 1 else "hotel_manager"
    log_transition(request, action="escalated", from_status=request.status, actor=SYSTEM, note=f"to {audience}")
    record_event(request, "request.escalated", actor=SYSTEM, level=level, audience=audience)
    raise_alert(request, kind="escalation", audience=audience, level=level)


def open_service_recovery(request: ServiceRequest) -> ServiceRecovery:
    """A low rating: the hotel manager follows up with the guest."""
    recovery = ServiceRecovery(hotel_id=request.hotel_id, request_id=request.id, guest_id=request.guest_id,
                               rating=request.rating, comment=request.rating_comment)
    db.session.add(recovery)
    raise_alert(request, kind="service_recovery", audience="hotel_manager")
    return recovery


def list_recoveries(*, staff: Any, hotel_id: int, status: str | None = None) -> list[ServiceRecovery]:
    """The follow-ups of a hotel I manage, open ones first by default."""
    if not staff.can_access_hotel(hotel_id):
        raise NotFound("No such hotel.")
    stmt = select(ServiceRecovery).where(ServiceRecovery.hotel_id == hotel_id)
    if status:
        stmt = stmt.where(ServiceRecovery.status == status)
    return list(db.session.scalars(stmt.order_by(ServiceRecovery.id.desc()).limit(200)))


def resolve_recovery(*, staff: Any, recovery_id: int, resolution: str) -> ServiceRecovery:
    """Close a follow-up with what was done for the guest."""
    recovery = db.session.get(ServiceRecovery, recovery_id)
    if recovery is None or not staff.can_access_hotel(recovery.hotel_id):
        raise NotFound("No such follow-up.")
    if recovery.status == "resolved":
        raise Conflict("This follow-up is resolved already.", code="recovery_resolved")
    recovery.status, recovery.resolution = "resolved", resolution
    recovery.resolved_at, recovery.resolved_by_staff_id = clock.now(), staff.id
    request = db.session.get(ServiceRequest, recovery.request_id)
    settle_alerts(request, staff_id=staff.id, kinds=("service_recovery",))
    return recovery
