"""What bookings asks of the loyalty club: member prices at quote time, points at checkout.

Until the loyalty domain is merged nobody is a member: no tier discount, no points.
"""

from __future__ import annotations

from datetime import datetime


def member_pricing(guest_id: int | None) -> tuple[str | None, int]:
    """(tier code, tier discount in basis points) of a guest; (None, 0) for non-members and anonymous callers."""
    return None, 0


def record_completed_stay(*, guest_id: int, booking_id: int, hotel_id: int, nights: int, eligible_spend: int,
                          currency: str, completed_at: datetime) -> int:
    """Points earned for a completed stay."""
    return 0
