"""Queue statistics: counts, median and 90th-percentile times, SLA breach rate; per department, staff member, day.

Definitions (docs/api.md repeats them): times are wall-clock seconds from creation to acknowledgement and to
completion; the median of an even count is the mean of the middle two; the 90th percentile is the nearest rank
(the ceil(0.9 n)-th smallest). The breach rate counts every request but cancelled ones: breached are those
acknowledged or completed after their deadline, or escalated, or open and overdue now.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from app.core import clock
from app.core.errors import Unprocessable
from app.extensions import db
from app.requests.models import RequestStatus, ServiceRequest
from app.requests.services.queue import scope_hotels

MAX_DAYS = 92


def percentile_90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def queue_stats(*, staff: Any, date_from: date, date_to: date, hotel_id: int | None = None) -> dict[str, Any]:
    """Statistics of the requests created in [date_from, date_to] (UTC days) at my hotels."""
    if date_to < date_from or (date_to - date_from).days >= MAX_DAYS:
        raise Unprocessable(f"Choose 1 to {MAX_DAYS} days, date_from first.", code="invalid_period",
                            errors={"date_to": [f"Between date_from and {MAX_DAYS} days after it."]})
    hotels = scope_hotels(staff, hotel_id)
    start = datetime.combine(date_from, time(), tzinfo=UTC)
    end = start + timedelta(days=(date_to - date_from).days + 1)
    stmt = select(ServiceRequest).where(ServiceRequest.created_at >= start, ServiceRequest.created_at < end)
    if hotels is not None:
        stmt = stmt.where(ServiceRequest.hotel_id.in_(hotels))
    requests = list(db.session.scalars(stmt.order_by(ServiceRequest.id)))
    now = clock.now()
    summary = _summarise(requests, now)
    return {
        "date_from": date_from, "date_to": date_to, **summary,
        "by_type": _counts(requests, lambda r: r.type), "by_status": _counts(requests, lambda r: r.status),
        "by_department": _grouped(requests, now, lambda r: r.department, "department"),
        "by_staff": _grouped([r for r in requests if r.assigned_to_staff_id], now,
                             lambda r: r.assigned_to_staff_id, "staff_id"),
        "by_day": _grouped(requests, now, lambda r: r.created_at.date().isoformat(), "day"),
    }


def _counts(requests: Iterable[ServiceRequest], key: Callable[[ServiceRequest], str]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for request in requests:
        counts[key(request)] += 1
    return dict(sorted(counts.items()))


def _grouped(requests: list[ServiceRequest], now: datetime, key: Callable[[ServiceRequest], Any],
             name: str) -> list[dict[str, Any]]:
    groups: dict[Any, list[ServiceRequest]] = defaultdict(list)
    for request in requests:
        groups[key(request)].append(request)
    return [{name: group, **_summarise(members, now)} for group, members in sorted(groups.items())]


def _summarise(requests: list[ServiceRequest], now: datetime) -> dict[str, Any]:
    acknowledge = [(r.acknowledged_at - r.created_at).total_seconds() for r in requests if r.acknowledged_at]
    complete = [(r.completed_at - r.created_at).total_seconds() for r in requests if r.completed_at]
    counted = [r for r in requests if r.status != RequestStatus.CANCELLED]
    breached = sum(1 for r in counted if r.sla_breached or r.overdue(now))
    return {
        "count": len(requests),
        "completed": len(complete),
        "time_to_acknowledge": {"median_seconds": median(acknowledge), "p90_seconds": percentile_90(acknowledge)},
        "time_to_complete": {"median_seconds": median(complete), "p90_seconds": percentile_90(complete)},
        "sla_breached": breached,
        "sla_breach_rate": round(breached / len(counted), 4) if counted else None,
    }
