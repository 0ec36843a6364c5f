"""The staff guest summary: profile (masked by role), stay and room state, recent requests, a timeline. Audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.bookings import services as bookings
from app.extensions import db
from app.guests import services as guests
from app.loyalty import services as loyalty
from app.requests.models import ServiceRequest, StayMessage
from app.requests.services.queue import scope_hotels

RECENT = 10
TIMELINE_PER_KIND = 20


def guest_summary(*, staff: Any, guest_id: int) -> dict[str, Any]:
    """Everything my hotels know of a guest, on one page; the read is audited as guest.summary_read.

    Only my hotels' stays, requests and messages are shown (a chain admin sees the whole chain); the loyalty tier
    is the chain's.
    """
    card = guests.read_guest(staff=staff, guest_id=guest_id, action="guest.summary_read")
    hotels = scope_hotels(staff, None)
    stay = bookings.current_stay(guest_id=guest_id)
    if stay is not None and not staff.can_access_hotel(stay.hotel_id):
        stay = None
    requests = _latest(select(ServiceRequest).where(ServiceRequest.guest_id == guest_id), ServiceRequest, hotels)
    messages = _latest(select(StayMessage).where(StayMessage.guest_id == guest_id), StayMessage, hotels)
    stays = bookings.guest_bookings(guest_id=guest_id, hotel_ids=hotels, limit=TIMELINE_PER_KIND)
    return {
        "guest": card,
        "loyalty_tier": loyalty.member_tier(guest_id=guest_id),
        "current_stay": _stay(stay) if stay else None,
        "recent_requests": requests[:RECENT],
        "timeline": _timeline(stays, requests, messages),
    }


def _latest(stmt: Any, model: Any, hotels: list[int] | None) -> list[Any]:
    if hotels is not None:
        stmt = stmt.where(model.hotel_id.in_(hotels))
    return list(db.session.scalars(stmt.order_by(model.id.desc()).limit(TIMELINE_PER_KIND)))


def _stay(stay: Any) -> dict[str, Any]:
    return {"id": stay.id, "hotel_id": stay.hotel_id, "room_id": stay.room_id,
            "room_number": stay.room.number if stay.room else None, "room_state": stay.room_state,
            "check_in": stay.check_in, "check_out": stay.check_out, "status": stay.status}


def _timeline(stays: list[Any], requests: list[ServiceRequest], messages: list[StayMessage]) -> list[dict[str, Any]]:
    entries = [{"at": b.created_at, "kind": "booking", "id": b.id, "hotel_id": b.hotel_id,
                "text": f"{b.status} {b.check_in.isoformat()}..{b.check_out.isoformat()}"} for b in stays]
    for r in requests:
        entries.append({"at": r.created_at, "kind": "request", "id": r.id, "hotel_id": r.hotel_id,
                        "text": f"{r.type} ({r.status})"})
        if r.rated_at:
            entries.append({"at": r.rated_at, "kind": "rating", "id": r.id, "hotel_id": r.hotel_id,
                            "text": f"{r.rating}/5" + (f": {r.rating_comment}" if r.rating_comment else "")})
    entries += [{"at": m.created_at, "kind": "message", "id": m.id, "hotel_id": m.hotel_id,
                 "text": f"{m.author_kind}: {m.body[:200]}"} for m in messages]
    return sorted(entries, key=lambda entry: (entry["at"], entry["kind"], entry["id"]), reverse=True)
