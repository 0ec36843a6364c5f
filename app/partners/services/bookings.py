"""Experience bookings: a guest books places, pays to the room or at the partner, cancels within the policy;
the partner confirms or declines and redeems the voucher."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import or_, select, update

from app.bookings import services as bookings_services
from app.bookings.models import ChargeKind
from app.core import clock, events
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.pagination import Page, paginate
from app.extensions import db
from app.hotels import services as hotels_services
from app.hotels.models import Hotel
from app.partners.models import (
    HOLDING_STATUSES,
    ExperienceBooking,
    ExperienceBookingStatus,
    ExperienceSlot,
    Offering,
    Partner,
    PaymentMethod,
    SlotStatus,
)
from app.partners.services import vouchers, webhooks
from app.partners.services.access import partner_owned
from app.partners.services.catalogue import public_offering

Status = ExperienceBookingStatus
NO_ANSWER = "no_answer_from_partner"  # decline_reason when the chain declined for a partner that did not answer


def _bookable_slot(slot_id: int, hotel: Hotel) -> ExperienceSlot:
    slot = db.session.get(ExperienceSlot, slot_id)
    if slot is None:
        raise NotFound("No such slot.")
    partner = public_offering(slot.offering_id).partner
    if hotel.id not in partner.hotel_ids and partner.city_key != hotel.city_key:
        raise NotFound("No such slot.")  # not offered near this hotel
    if slot.status != SlotStatus.OPEN or slot.starts_at <= clock.now():
        raise Conflict("This slot is no longer sold.", code="slot_closed")
    return slot


def _check_party(offering: Offering, *, party_size: int, language: str, ages: list[int] | None) -> None:
    if language not in offering.languages:
        raise Unprocessable("The experience is not held in that language.", code="language_not_offered",
                            errors={"language": [f"One of: {', '.join(offering.languages)}."]})
    if party_size > offering.max_party_size:
        raise Unprocessable(f"At most {offering.max_party_size} people per booking.", code="party_too_large")
    if ages is None:
        return
    if len(ages) != party_size:
        raise Unprocessable("Give one age per participant.", errors={"participant_ages": ["One per person."]})
    too_young = offering.min_age is not None and min(ages) < offering.min_age
    too_old = offering.max_age is not None and max(ages) > offering.max_age
    if too_young or too_old:
        raise Unprocessable("A participant is outside the experience's age limits.", code="age_limit",
                            min_age=offering.min_age, max_age=offering.max_age)


def _stay_to_charge(guest_id: int, hotel: Hotel, currency: str) -> int:
    """The guest's stay in house at this hotel, whose folio the booking is charged to."""
    stay = bookings_services.current_stay(guest_id=guest_id)
    if stay is None or stay.hotel_id != hotel.id:
        raise Conflict("Charging to the room needs a stay in progress at this hotel.", code="stay_not_in_house")
    stay = bookings_services.guest_stay_in_house(guest_id=guest_id, booking_id=stay.id)
    if stay.currency != currency:
        raise Unprocessable("This experience cannot be charged to the room (another currency); pay the partner.",
                            code="currency_mismatch")
    return stay.id


def _take_places(slot: ExperienceSlot, party_size: int) -> None:
    """One conditional UPDATE: it succeeds only while the places are there, whoever else is booking now."""
    result = db.session.execute(
        update(ExperienceSlot)
        .where(ExperienceSlot.id == slot.id, ExperienceSlot.status == SlotStatus.OPEN.value,
               ExperienceSlot.booked + party_size <= ExperienceSlot.capacity)
        .values(booked=ExperienceSlot.booked + party_size)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict("Not enough places left in this slot.", code="sold_out")


def _release_places(booking: ExperienceBooking) -> None:
    db.session.execute(
        update(ExperienceSlot)
        .where(ExperienceSlot.id == booking.slot_id, ExperienceSlot.booked >= booking.party_size)
        .values(booked=ExperienceSlot.booked - booking.party_size)
        .execution_options(synchronize_session=False)
    )


def commission(total: int, basis_points: int) -> int:
    """The hotel's commission in minor units, rounded half up."""
    return (total * basis_points + 5000) // 10000


def book(*, guest: Any, hotel_id: int, slot_id: int, party_size: int, language: str, payment: str,
         share_contact: bool = False, participant_ages: list[int] | None = None) -> ExperienceBooking:
    """Book places in a slot, charged to the stay's folio (exactly once) or paid at the partner."""
    hotel = hotels_services.get_hotel(hotel_id=hotel_id)
    slot = _bookable_slot(slot_id, hotel)
    offering = slot.offering
    _check_party(offering, party_size=party_size, language=language, ages=participant_ages)
    stay_id = _stay_to_charge(guest.id, hotel, offering.currency) if payment == PaymentMethod.ROOM_FOLIO else None
    _take_places(slot, party_size)
    total = offering.price * party_size
    booking = ExperienceBooking(
        guest_id=guest.id, hotel_id=hotel.id, partner_id=offering.partner_id, offering_id=offering.id,
        slot_id=slot.id, starts_at=slot.starts_at, party_size=party_size, language=language,
        status=Status.PENDING.value, payment=payment, stay_id=stay_id, currency=offering.currency,
        unit_price=offering.price, total_amount=total, commission_bp=offering.effective_commission_bp,
        commission_amount=commission(total, offering.effective_commission_bp),
        lead_name=" ".join(part for part in (guest.first_name, guest.last_name) if part) or "Guest",
        share_contact=share_contact, contact_phone=guest.phone if share_contact else None,
        contact_email=guest.email if share_contact else None,
    )
    db.session.add(booking)
    db.session.flush()
    booking.voucher_code = vouchers.voucher_code(booking.id)
    if stay_id is not None:
        bookings_services.post_charge(booking_id=stay_id, kind=ChargeKind.EXCURSION.value, amount=total,
                                      source=f"experience_booking:{booking.id}", description=offering.title,
                                      quantity=party_size, service_date=slot.starts_at.date())
    _announce(booking, "experience_booking.created")
    return booking


def _announce(booking: ExperienceBooking, event_type: str, *, to_partner: bool = True) -> None:
    events.record(event_type, hotel_id=booking.hotel_id, guest_id=booking.guest_id, subject_id=booking.id,
                  payload={"partner_id": booking.partner_id, "offering_id": booking.offering_id,
                           "slot_id": booking.slot_id, "party_size": booking.party_size, "status": booking.status})
    if to_partner:
        webhooks.enqueue(partner_id=booking.partner_id, event_type=event_type, data=partner_view(booking))


def partner_view(booking: ExperienceBooking) -> dict[str, Any]:
    """All a partner learns of a booking: no guest id, no profile, a contact only if the guest agreed."""
    contact = {"phone": booking.contact_phone, "email": booking.contact_email} if booking.share_contact else None
    return {
        "id": booking.id, "offering_id": booking.offering_id, "slot_id": booking.slot_id,
        "starts_at": booking.starts_at.isoformat(), "lead_name": booking.lead_name,
        "party_size": booking.party_size, "language": booking.language, "contact": contact,
        "status": booking.status, "payment": booking.payment, "total_amount": booking.total_amount,
        "currency": booking.currency, "commission_amount": booking.commission_amount,
    }


def guest_bookings(*, guest_id: int, cursor: str | None, limit: int) -> Page:
    """The guest's experience bookings, newest first."""
    stmt = select(ExperienceBooking).where(ExperienceBooking.guest_id == guest_id)
    return paginate(stmt, keys=[ExperienceBooking.id], cursor=cursor, limit=limit, descending=True)


def guest_booking(*, guest_id: int, booking_id: int, for_update: bool = False) -> ExperienceBooking:
    booking = db.session.get(ExperienceBooking, booking_id, with_for_update=for_update or None)
    if booking is None or booking.guest_id != guest_id:
        raise NotFound("No such experience booking.")
    return booking


def confirmation_deadline(booking: ExperienceBooking) -> datetime:
    """When a pending booking stops waiting for the partner: PARTNER_CONFIRMATION_HOURS after it was made, and
    never later than the start of the experience."""
    waited = booking.created_at + timedelta(hours=current_app.config["PARTNER_CONFIRMATION_HOURS"])
    return min(waited, booking.starts_at)


def unanswered_booking_ids(*, now: datetime, limit: int) -> list[int]:
    """Pending bookings that may be past their confirmation deadline (the exact deadline is checked per booking)."""
    waited_since = now - timedelta(hours=current_app.config["PARTNER_CONFIRMATION_HOURS"])
    return list(db.session.scalars(
        select(ExperienceBooking.id).where(
            ExperienceBooking.status == Status.PENDING.value,
            or_(ExperienceBooking.created_at <= waited_since, ExperienceBooking.starts_at <= now),
        ).order_by(ExperienceBooking.id).limit(limit)))


def decline_unanswered(*, booking_id: int) -> bool:
    """The partner did not answer in time: the booking is declined for it, as if it had declined (places
    released, a room charge credited back, the guest told), and the partner is told too. False when the booking
    was answered or changed meanwhile."""
    booking = db.session.get(ExperienceBooking, booking_id, with_for_update=True, populate_existing=True)
    now = clock.now()
    if booking is None or booking.status != Status.PENDING or confirmation_deadline(booking) > now:
        return False
    booking.declined_at = now
    booking.decline_reason = NO_ANSWER
    _void(booking, Status.DECLINED, "declined")
    _announce(booking, "experience_booking.declined")
    return True


def cancellation_deadline(booking: ExperienceBooking) -> datetime:
    return booking.starts_at - timedelta(hours=booking.offering.free_cancellation_hours)


def _void(booking: ExperienceBooking, status: Status, reason_source: str) -> None:
    """Give the places back and, if the room was charged, credit the folio once (a negative charge)."""
    _release_places(booking)
    booking.status = status.value
    if booking.stay_id is not None and booking.refunded_amount == 0:
        bookings_services.post_charge(
            booking_id=booking.stay_id, kind=ChargeKind.EXCURSION.value, amount=-booking.total_amount,
            source=f"experience_booking:{booking.id}:{reason_source}",
            description={lang: f"Refund: {text}" if lang == "en" else f"Возврат: {text}"
                         for lang, text in booking.offering.title.items()},
        )
        booking.refunded_amount = booking.total_amount


def cancel(*, guest_id: int, booking_id: int) -> ExperienceBooking:
    """The guest cancels, free of charge until the offering's deadline; later the booking stands."""
    booking = guest_booking(guest_id=guest_id, booking_id=booking_id, for_update=True)
    if booking.status not in HOLDING_STATUSES or booking.redeemed_at is not None:
        raise Conflict("This booking can no longer be cancelled.", code="booking_not_cancellable")
    deadline = cancellation_deadline(booking)
    if clock.now() > deadline:
        raise Conflict("The free cancellation period is over.", code="cancellation_window_closed",
                       deadline=deadline.isoformat())
    booking.cancelled_at = clock.now()
    _void(booking, Status.CANCELLED, "refund")
    _announce(booking, "experience_booking.cancelled")
    return booking


# -- the partner's side (API key) ------------------------------------------------------------------------------

def partner_bookings(*, partner: Partner, cursor: str | None, limit: int, status: str | None = None) -> Page:
    stmt = select(ExperienceBooking).where(ExperienceBooking.partner_id == partner.id)
    if status:
        stmt = stmt.where(ExperienceBooking.status == status)
    return paginate(stmt, keys=[ExperienceBooking.id], cursor=cursor, limit=limit, descending=True)


def partner_booking(*, partner: Partner, booking_id: int, for_update: bool = False) -> ExperienceBooking:
    return partner_owned(partner, ExperienceBooking, booking_id, what="booking", for_update=for_update)


def confirm(*, partner: Partner, booking_id: int) -> ExperienceBooking:
    """The partner accepts a pending booking (confirming twice is harmless)."""
    booking = partner_booking(partner=partner, booking_id=booking_id, for_update=True)
    if booking.status == Status.CONFIRMED:
        return booking
    if booking.status != Status.PENDING:
        raise Conflict("Only a pending booking can be confirmed.", code="booking_not_pending")
    booking.status = Status.CONFIRMED.value
    booking.confirmed_at = clock.now()
    _announce(booking, "experience_booking.confirmed", to_partner=False)
    return booking


def decline(*, partner: Partner, booking_id: int, reason: str | None = None) -> ExperienceBooking:
    """The partner refuses a pending booking: places released, the room charge (if any) credited back."""
    booking = partner_booking(partner=partner, booking_id=booking_id, for_update=True)
    if booking.status != Status.PENDING:
        raise Conflict("Only a pending booking can be declined.", code="booking_not_pending")
    booking.declined_at = clock.now()
    booking.decline_reason = reason
    _void(booking, Status.DECLINED, "declined")
    _announce(booking, "experience_booking.declined", to_partner=False)
    return booking


def _voucher_booking(partner: Partner, code: str, *, for_update: bool = False) -> ExperienceBooking:
    booking_id = vouchers.booking_id_from(code)
    booking = db.session.get(ExperienceBooking, booking_id, with_for_update=for_update or None) if booking_id else None
    if booking is None or booking.partner_id != partner.id:
        raise NotFound("This is not a voucher of yours.", code="voucher_invalid")
    return booking


def verify_voucher(*, partner: Partner, code: str) -> ExperienceBooking:
    """Check a voucher the guest shows: genuine (signed), this partner's; the answer says if it is still good."""
    return _voucher_booking(partner, code)


def redeem_voucher(*, partner: Partner, code: str) -> ExperienceBooking:
    """Mark the voucher used, once: a second redemption (a replayed code) is refused."""
    booking = _voucher_booking(partner, code, for_update=True)
    if booking.status not in HOLDING_STATUSES:
        raise Conflict("This booking was cancelled or declined.", code="voucher_not_valid")
    now = clock.now()
    result = db.session.execute(
        update(ExperienceBooking)
        .where(ExperienceBooking.id == booking.id, ExperienceBooking.redeemed_at.is_(None))
        .values(redeemed_at=now).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict("This voucher has already been redeemed.", code="voucher_already_redeemed")
    booking.redeemed_at = now
    if booking.status == Status.PENDING:
        booking.status, booking.confirmed_at = Status.CONFIRMED.value, now
    _announce(booking, "experience_booking.redeemed", to_partner=False)
    return booking
