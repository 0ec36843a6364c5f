"""How bookings reacts to other domains' events, inside their transaction (registered in create_app)."""

from __future__ import annotations

from flask import current_app

from app.bookings.models import ChargeKind
from app.bookings.services.folio import post_charge
from app.bookings.services.stays import guest_booking
from app.core.errors import Conflict
from app.core.events import DomainEvent


def post_points_redemption(event: DomainEvent) -> None:
    """Points redeemed against a booking ("booking:<id>") become a credit on its folio, once per redemption.

    Raising here refuses the redemption as a whole: the points are not spent if the credit cannot be posted.
    """
    reference = event.payload.get("reference", "")
    kind, _, booking_id = reference.partition(":")
    if kind != "booking" or not booking_id.isdigit():
        return
    booking = guest_booking(guest_id=event.guest_id, booking_id=int(booking_id))
    if booking.status not in ("confirmed", "in_house"):
        raise Conflict("Points can be used only on an upcoming or current stay.", code="booking_not_payable")
    points = int(event.payload["points"])
    value = points * current_app.config["LOYALTY_POINT_VALUE_MINOR"]
    post_charge(booking_id=booking.id, kind=ChargeKind.POINTS, amount=-value, source=f"points:{event.id}",
                description={"en": f"{points} loyalty points", "ru": f"{points} баллов лояльности"})
