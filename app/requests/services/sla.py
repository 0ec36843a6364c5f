"""SLA targets per request type and hotel, edited by the hotel manager; the defaults apply until then."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select

from app.core.prepared_reads import PreparedRead
from app.extensions import db
from app.hotels import services as hotels
from app.requests.models import RequestType, SlaPolicy


@dataclass(frozen=True)
class SlaTarget:
    request_type: str
    acknowledge_minutes: int
    complete_minutes: int
    manager_after_minutes: int
    is_default: bool = False


DEFAULT_TARGETS = {
    RequestType.ROOM_SERVICE: (5, 45, 15),
    RequestType.LAUNDRY: (15, 240, 60),
    RequestType.REPAIR: (10, 120, 30),
    RequestType.HOUSEKEEPING: (10, 60, 30),
}


def target_for(*, hotel_id: int, request_type: str) -> SlaTarget:
    """The hotel's target for one type (the default when the manager has set none)."""
    policy = db.session.scalars(select(SlaPolicy).where(SlaPolicy.hotel_id == hotel_id,
                                                        SlaPolicy.request_type == request_type)).one_or_none()
    if policy is None:
        return _default(request_type)
    return SlaTarget(policy.request_type, policy.acknowledge_minutes, policy.complete_minutes,
                     policy.manager_after_minutes)


# The same read outside the Session, for a request being created (app/core/prepared_reads.py): creating one never
# shares a unit of work with a change of the targets, so the committed row is the one that applies.
_POLICY = PreparedRead(select(SlaPolicy.acknowledge_minutes, SlaPolicy.complete_minutes,
                              SlaPolicy.manager_after_minutes)
                       .where(SlaPolicy.hotel_id == bindparam("hotel_id"),
                              SlaPolicy.request_type == bindparam("request_type")))


def committed_target_for(*, hotel_id: int, request_type: str) -> SlaTarget:
    """`target_for` as committed, read without the Session (not for a unit of work that edits the targets)."""
    policy = _POLICY.first(hotel_id=hotel_id, request_type=request_type)
    if policy is None:
        return _default(request_type)
    return SlaTarget(request_type, policy.acknowledge_minutes, policy.complete_minutes, policy.manager_after_minutes)


def _default(request_type: str) -> SlaTarget:
    acknowledge, complete, manager = DEFAULT_TARGETS[RequestType(request_type)]
    return SlaTarget(request_type, acknowledge, complete, manager, is_default=True)


def hotel_targets(*, staff: Any, hotel_id: int) -> list[SlaTarget]:
    """Every request type's target at a hotel the staff member works in."""
    hotels.get_managed_hotel(staff=staff, hotel_id=hotel_id)
    return [target_for(hotel_id=hotel_id, request_type=kind.value) for kind in RequestType]


def replace_targets(*, staff: Any, hotel_id: int, targets: list[dict[str, Any]]) -> list[SlaTarget]:
    """Set the targets of the types given; types left out go back to the defaults. New requests use them."""
    hotels.get_managed_hotel(staff=staff, hotel_id=hotel_id)
    current = {p.request_type: p for p in db.session.scalars(select(SlaPolicy).where(SlaPolicy.hotel_id == hotel_id))}
    wanted = {target["request_type"]: target for target in targets}
    for request_type, policy in current.items():
        if request_type not in wanted:
            db.session.delete(policy)
    for request_type, target in wanted.items():
        policy = current.get(request_type) or SlaPolicy(hotel_id=hotel_id, request_type=request_type)
        policy.acknowledge_minutes = target["acknowledge_minutes"]
        policy.complete_minutes = target["complete_minutes"]
        policy.manager_after_minutes = target["manager_after_minutes"]
        db.session.add(policy)
    db.session.flush()
    return [target_for(hotel_id=hotel_id, request_type=kind.value) for kind in RequestType]
