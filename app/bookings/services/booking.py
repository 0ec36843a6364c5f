"""The booking lifecycle before arrival: quote, book, modify dates, cancel under the policy."""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select, update

from app.bookings import catalogue
from app.bookings.catalogue import HotelView
from app.bookings.models import Booking, BookingChannel, BookingStatus, ChargeKind, PromoCode
from app.bookings.services import inventory, pricing
from app.bookings.services.folio import open_folio, post_charge
from app.bookings.services.stays import guest_booking
from app.core import clock, events
from app.core.errors import Conflict, Unprocessable
from app.core.pagination import Page, paginate
from app.extensions import db
from app.guests.models import GuestHotelLink
from app.hotels.models import Hotel
from app.loyalty import services as loyalty

MAX_NIGHTS = 30
MAX_DAYS_AHEAD = 550
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out at a desk


def hotel_today(hotel: Hotel | HotelView) -> date:
    return clock.now().astimezone(ZoneInfo(hotel.time_zone)).date()


def hotel_business_date(hotel: Hotel | HotelView) -> date:
    """The hotel's business date, which the night audit ends (NO_SHOW_AUDIT_HOUR), not midnight: at 02:00 it is
    still yesterday's, so a guest arriving then arrives for the night they booked, and one leaving then leaves
    after that night."""
    local = clock.now().astimezone(ZoneInfo(hotel.time_zone))
    return (local - timedelta(hours=current_app.config["NO_SHOW_AUDIT_HOUR"])).date()


def make_quote(*, guest_id: int | None, stay: pricing.StayRequest, channel: str = BookingChannel.APP) -> pricing.Quote:
    """The price of a stay for this guest (member prices when logged in and enrolled), explained night by night;
    the app-only direct discount only for the app's bookings."""
    hotel = catalogue.current().hotels.get(stay.hotel_id)
    if hotel is not None:
        _check_dates(stay, hotel)
    tier = loyalty.member_tier(guest_id=guest_id) if guest_id is not None else None
    tier_bp = loyalty.tier_discount_bp(guest_id=guest_id) if tier is not None else 0
    return pricing.quote(stay, tier=tier, tier_bp=tier_bp, member=tier is not None,
                         direct=channel == BookingChannel.APP)


def _check_dates(stay: pricing.StayRequest, hotel: HotelView) -> None:
    today = hotel_today(hotel)
    problem = None
    if stay.check_in < today:
        problem = ("check_in", "The arrival date has passed in the hotel's time zone.")
    elif stay.check_in > today + timedelta(days=MAX_DAYS_AHEAD):
        problem = ("check_in", f"Bookings open {MAX_DAYS_AHEAD} days ahead.")
    elif (stay.check_out - stay.check_in).days > MAX_NIGHTS:
        problem = ("check_out", f"At most {MAX_NIGHTS} nights per booking.")
    if problem:
        raise Unprocessable(problem[1], code="invalid_dates", errors={problem[0]: [problem[1]]})


def create_booking(*, guest_id: int, stay: pricing.StayRequest, expected_total: int | None = None,
                   special_requests: str | None = None, channel: str = BookingChannel.APP) -> Booking:
    """Book a stay at the app's direct price (the front desk's: without the app-only discount): holds the nights
    (never oversold) and confirms at once."""
    quote = make_quote(guest_id=guest_id, stay=stay, channel=channel)
    if expected_total is not None and expected_total != quote.total:
        raise Conflict("The price has changed since your quote; please review it.", code="price_changed",
                       total=quote.total)
    inventory.hold_nights(room_type_id=stay.room_type_id, check_in=stay.check_in, check_out=stay.check_out)
    if quote.promo_code:
        _count_promo_use(quote.promo_code)
    hotel, _ = pricing.hotel_and_room_type(stay.hotel_id, stay.room_type_id)
    booking = Booking(reference=_new_reference(), guest_id=guest_id, hotel_id=stay.hotel_id,
                      room_type_id=stay.room_type_id, rate_plan_id=quote.rate_plan_id, check_in=stay.check_in,
                      check_out=stay.check_out, adults=stay.adults, children=stay.children,
                      currency=quote.currency, total_amount=quote.total, promo_code=quote.promo_code,
                      special_requests=special_requests, quote=_terms(quote, hotel), channel=channel)
    db.session.add(booking)
    db.session.flush()
    _link_guest(guest_id, stay.hotel_id)
    events.record("booking.created", hotel_id=booking.hotel_id, guest_id=guest_id, subject_id=booking.id,
                  payload={"reference": booking.reference, "check_in": booking.check_in.isoformat(),
                           "check_out": booking.check_out.isoformat(), "total": booking.total_amount,
                           "currency": booking.currency, "channel": channel})
    return booking


def _terms(quote: pricing.Quote, hotel: HotelView) -> dict[str, Any]:
    """The quote plus the cancellation terms in force when the guest booked (a later policy change is not theirs)."""
    policy = hotel.policy
    arrival = datetime.combine(quote.check_in, time.fromisoformat(hotel.check_in_time), ZoneInfo(hotel.time_zone))
    free_until = arrival - timedelta(hours=policy.free_cancellation_hours)
    fee_nights = min(policy.late_cancellation_fee_nights, len(quote.nights))
    return {**quote.snapshot(), "cancellation": {
        "free_until": free_until.isoformat(),
        "fee": sum(night.total for night in quote.nights[:fee_nights]),
    }}


def _count_promo_use(code: str) -> None:
    # Conditional, like the inventory: the last use of a limited code goes to exactly one booking.
    used = db.session.execute(
        update(PromoCode).where(PromoCode.code == code, (PromoCode.max_redemptions.is_(None))
                                | (PromoCode.redemptions < PromoCode.max_redemptions))
        .values(redemptions=PromoCode.redemptions + 1).execution_options(synchronize_session=False)).rowcount
    if not used:
        raise Unprocessable("This promo code has been used up.", code="promo_code_invalid",
                            errors={"promo_code": ["Used up."]})


def _new_reference() -> str:
    while True:
        reference = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
        if db.session.scalar(select(Booking.id).where(Booking.reference == reference)) is None:
            return reference


def _link_guest(guest_id: int, hotel_id: int) -> None:
    """The hotel's staff may now see this guest's profile (app/guests: staff see guests their hotels know)."""
    if db.session.get(GuestHotelLink, (guest_id, hotel_id)) is None:
        db.session.add(GuestHotelLink(guest_id=guest_id, hotel_id=hotel_id, reason="booking"))


def list_bookings(*, guest_id: int, cursor: str | None, limit: int) -> Page:
    """The guest's bookings and stays, newest first, across every hotel of the chain."""
    query = select(Booking).where(Booking.guest_id == guest_id)
    return paginate(query, keys=[Booking.id], cursor=cursor, limit=limit, descending=True)


def _confirmed(guest_id: int, booking_id: int) -> Booking:
    booking = guest_booking(guest_id=guest_id, booking_id=booking_id, for_update=True)
    if booking.status != BookingStatus.CONFIRMED:
        raise Conflict(f"This booking is {booking.status.replace('_', ' ')}; it can no longer be changed.",
                       code="booking_not_modifiable")
    return booking


def modify_booking(*, guest_id: int, booking_id: int, check_in: date, check_out: date) -> Booking:
    """Move a confirmed booking to new dates at today's price; the old nights are released only if the new fit."""
    booking = _confirmed(guest_id, booking_id)
    stay = pricing.StayRequest(hotel_id=booking.hotel_id, room_type_id=booking.room_type_id, check_in=check_in,
                               check_out=check_out, adults=booking.adults, children=booking.children,
                               rate_plan_id=booking.rate_plan_id, promo_code=booking.promo_code)
    quote = make_quote(guest_id=guest_id, stay=stay, channel=booking.channel)
    inventory.release_nights(room_type_id=booking.room_type_id, check_in=booking.check_in,
                             check_out=booking.check_out)
    inventory.hold_nights(room_type_id=booking.room_type_id, check_in=check_in, check_out=check_out)
    previous = {"check_in": booking.check_in.isoformat(), "check_out": booking.check_out.isoformat()}
    booking.check_in, booking.check_out = check_in, check_out
    booking.total_amount = quote.total
    booking.quote = _terms(quote, pricing.hotel_and_room_type(booking.hotel_id, booking.room_type_id)[0])
    events.record("booking.modified", hotel_id=booking.hotel_id, guest_id=guest_id, subject_id=booking.id,
                  payload={"previous": previous, "check_in": check_in.isoformat(),
                           "check_out": check_out.isoformat(), "total": quote.total})
    return booking


def cancel_booking(*, guest_id: int, booking_id: int) -> Booking:
    """Cancel: free until the deadline agreed at booking, then the agreed fee is posted to the booking's folio."""
    booking = _confirmed(guest_id, booking_id)
    terms = booking.quote.get("cancellation", {})
    free_until = datetime.fromisoformat(terms["free_until"]) if terms else None
    fee = terms.get("fee", 0) if free_until is not None and clock.now() > free_until else 0
    inventory.release_nights(room_type_id=booking.room_type_id, check_in=booking.check_in,
                             check_out=booking.check_out)
    booking.status = BookingStatus.CANCELLED.value
    booking.cancelled_at = clock.now()
    booking.cancellation_fee = fee
    if fee:
        post_charge(booking_id=booking.id, kind=ChargeKind.FEE, amount=fee, source="cancellation",
                    description={"en": "Late cancellation fee", "ru": "Штраф за позднюю отмену"})
    open_folio(booking).close()
    events.record("booking.cancelled", hotel_id=booking.hotel_id, guest_id=guest_id, subject_id=booking.id,
                  payload={"reference": booking.reference, "fee": fee, "currency": booking.currency})
    return booking
