"""The monthly statement of a partner: what took place in the month, who collected the money, who owes whom."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select

from app.extensions import db
from app.partners.models import HOLDING_STATUSES, ExperienceBooking, Partner, PaymentMethod
from app.partners.services.access import Actor, managed_partner


@dataclass(frozen=True)
class Statement:
    partner_id: int
    month: str  # YYYY-MM
    currency: str
    lines: list[ExperienceBooking]
    bookings: int
    places: int
    gross: int  # everything the guests paid for the month's experiences
    commission: int  # the hotel's share
    net_to_partner: int  # gross - commission
    collected_by_hotel: int  # charged to rooms
    collected_by_partner: int  # paid at the partner
    # What the hotel pays the partner for the month (collected_by_hotel - commission); negative: the partner owes.
    payable_to_partner: int


def _month_bounds(month: date) -> tuple[datetime, datetime]:
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end = datetime(month.year + (month.month == 12), month.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def monthly_statement(*, partner: Partner, month: date) -> Statement:
    """Bookings (not cancelled or declined) whose experience starts in the month (UTC), with the totals."""
    start, end = _month_bounds(month)
    lines = list(db.session.scalars(
        select(ExperienceBooking).where(ExperienceBooking.partner_id == partner.id,
                                        ExperienceBooking.status.in_(HOLDING_STATUSES),
                                        ExperienceBooking.starts_at >= start, ExperienceBooking.starts_at < end)
        .order_by(ExperienceBooking.starts_at, ExperienceBooking.id)))
    gross = sum(line.total_amount for line in lines)
    commission = sum(line.commission_amount for line in lines)
    by_hotel = sum(line.total_amount for line in lines if line.payment == PaymentMethod.ROOM_FOLIO)
    return Statement(
        partner_id=partner.id, month=f"{month.year:04d}-{month.month:02d}", currency=partner.currency, lines=lines,
        bookings=len(lines), places=sum(line.party_size for line in lines), gross=gross, commission=commission,
        net_to_partner=gross - commission, collected_by_hotel=by_hotel, collected_by_partner=gross - by_hotel,
        payable_to_partner=by_hotel - commission,
    )


def managed_statement(*, staff: Actor, partner_id: int, month: date) -> Statement:
    """The same statement, for the chain's or a hotel's management."""
    return monthly_statement(partner=managed_partner(staff, partner_id), month=month)
