"""Segments: composable audience filters, evaluated in the database (one SQL statement, never a list of guests).

A segment belongs to one hotel: its audience is always among the guests that hotel knows (guest_hotel_links), and
a marketer only works with the hotels they are assigned to. Filters are ANDed; `any_of` ORs a list of filter sets.
Past stays are bookings checked out; a stay's season is the season of its arrival day at its own hotel.
Loyalty tier: the tier stored on the club membership (`none`: not enrolled).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, exists, extract, false, func, not_, or_, select, true
from sqlalchemy.orm import aliased

from app.bookings.models import Booking, BookingStatus
from app.core import clock
from app.core.errors import NotFound, Unprocessable
from app.core.pagination import Page, paginate
from app.extensions import db
from app.guests import services as guests_services
from app.guests.models import ConsentPurpose, ConsentRecord, Guest, GuestHotelLink, GuestPreferences
from app.hotels.models import Season
from app.loyalty.models import LoyaltyMember
from app.push.models import Device, Segment
from app.push.services.queueing import live_token_cutoff

SAMPLE_SIZE = 10


# -- use cases ---------------------------------------------------------------------------------------------------

def create_segment(*, staff: Any, hotel_id: int, name: str, filters: dict[str, Any]) -> Segment:
    """Save a segment of one of the marketer's hotels."""
    _check_hotels(staff, hotel_id, filters)
    segment = Segment(hotel_id=hotel_id, name=name, filters=filters, created_by_staff_id=staff.id)
    db.session.add(segment)
    db.session.flush()
    return segment


def list_segments(*, staff: Any, cursor: str | None, limit: int) -> Page:
    """Segments of the marketer's hotels, newest first."""
    stmt = select(Segment)
    if not staff.is_chain_wide:
        stmt = stmt.where(Segment.hotel_id.in_(staff.hotel_ids or {0}))
    return paginate(stmt, keys=[Segment.id], cursor=cursor, limit=limit, descending=True)


def get_segment(*, staff: Any, segment_id: int) -> Segment:
    """A segment of one of the marketer's hotels; any other is not found."""
    segment = db.session.get(Segment, segment_id)
    if segment is None or not staff.can_access_hotel(segment.hotel_id):
        raise NotFound("No such segment.")
    return segment


def preview_segment(*, staff: Any, segment_id: int) -> dict[str, Any]:
    """How many guests the segment holds now, and a few of them (no contact data: marketers never see it)."""
    segment = get_segment(staff=staff, segment_id=segment_id)
    where = audience_condition(segment)
    size = db.session.scalar(select(func.count()).select_from(Guest).where(where))
    sample = db.session.execute(
        select(Guest.id, Guest.first_name, Guest.language, Guest.country, Guest.city)
        .where(where).order_by(Guest.id.desc()).limit(SAMPLE_SIZE)).all()
    return {"size": size, "sample": [row._asdict() for row in sample]}


def _check_hotels(staff: Any, hotel_id: int, filters: dict[str, Any]) -> None:
    if not staff.can_access_hotel(hotel_id):
        raise NotFound("No such hotel.")
    named = set(filters.get("stayed_at_hotel_ids", []))
    for nested in filters.get("any_of", []):
        named |= set(nested.get("stayed_at_hotel_ids", []))
    if any(not staff.can_access_hotel(other) for other in named):
        raise Unprocessable("A segment may only name your hotels.", code="hotel_not_yours",
                            errors={"filters": {"stayed_at_hotel_ids": ["Only hotels you work for."]}})


# -- evaluation --------------------------------------------------------------------------------------------------

def audience_condition(segment: Segment, *, marketing: bool = False) -> ColumnElement[bool]:
    """The WHERE clause over `guests` for the segment (plus marketing consent, for campaigns)."""
    parts = [
        Guest.is_active.is_(True), Guest.merged_into_id.is_(None),
        exists().where(GuestHotelLink.guest_id == Guest.id, GuestHotelLink.hotel_id == segment.hotel_id),
        filters_condition(segment.filters or {}),
    ]
    if marketing:
        parts.append(marketing_consent())
    return and_(*parts)


def stream_audience(condition: ColumnElement[bool], *, after_id: int = 0, chunk: int = 5000) -> Iterator[list[int]]:
    """Guest ids matching `condition`, in id order, a chunk at a time (keyset: memory stays flat)."""
    while True:
        ids = list(db.session.scalars(
            select(Guest.id).where(condition, Guest.id > after_id).order_by(Guest.id).limit(chunk)))
        if not ids:
            return
        yield ids
        after_id = ids[-1]


def filters_condition(filters: dict[str, Any], *, today: date | None = None) -> ColumnElement[bool]:
    today = today or clock.now().date()
    parts = [_FILTERS[name](value, today) for name, value in filters.items() if name in _FILTERS]
    if filters.get("any_of"):
        parts.append(or_(*[filters_condition(nested, today=today) for nested in filters["any_of"]]))
    return and_(true(), *parts)


def marketing_consent() -> ColumnElement[bool]:
    """The guest's latest marketing_push consent record grants it under the policy version in force: a granting
    record with no later record for the purpose (set-based: PostgreSQL plans it as a semi-join and an anti-join
    instead of a subquery per guest). A grant under an older version waits for the guest to consent again."""
    later = aliased(ConsentRecord)
    return exists().where(
        ConsentRecord.guest_id == Guest.id, ConsentRecord.purpose == ConsentPurpose.MARKETING_PUSH.value,
        ConsentRecord.granted.is_(True),
        ConsentRecord.policy_version == guests_services.consent_policy_version(ConsentPurpose.MARKETING_PUSH),
        ~exists().where(later.guest_id == ConsentRecord.guest_id, later.purpose == ConsentRecord.purpose,
                        later.id > ConsentRecord.id))


def _stays(*conditions: Any) -> ColumnElement[bool]:
    return exists().where(Booking.guest_id == Guest.id, Booking.status == BookingStatus.CHECKED_OUT.value,
                          *conditions)


def month_day(column: Any) -> Any:
    return extract("month", column) * 100 + extract("day", column)


def _season_covers(kind: str) -> ColumnElement[bool]:
    """The stay's arrival day lies in a period of `kind` at its hotel (shoulder: in no period at all)."""
    here = month_day(Booking.check_in)
    start = Season.start_month * 100 + Season.start_day
    end = Season.end_month * 100 + Season.end_day
    covers = or_(and_(start <= end, here >= start, here <= end), and_(start > end, or_(here >= start, here <= end)))
    if kind == "shoulder":
        return not_(exists().where(Season.hotel_id == Booking.hotel_id, covers))
    return exists().where(Season.hotel_id == Booking.hotel_id, Season.kind == kind, covers)


def _months_before(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def birthday_month_days(first: date, days: int) -> list[int]:
    """month*100+day of every day from `first` on for `days` days; 29 Feb birthdays count on 28 Feb otherwise."""
    found = set()
    for offset in range(days + 1):
        day = first + timedelta(days=offset)
        found.add(day.month * 100 + day.day)
        if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
            found.add(229)
    return sorted(found)


def _tag(tag: str) -> ColumnElement[bool]:
    key, _, value = tag.partition(":")
    if key == "quiet_room":
        return GuestPreferences.quiet_room.is_(True)
    if key == "diet":  # a JSON list: match the quoted element in its text (the same on SQLite and PostgreSQL)
        escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return cast(GuestPreferences.diet, String).like(f'%"{escaped}"%', escape="\\")
    column = {"floor": GuestPreferences.floor, "pillow": GuestPreferences.pillow, "bed": GuestPreferences.bed}.get(key)
    return column == value if column is not None else false()


def _loyalty_tiers(codes: list[str]) -> ColumnElement[bool]:
    tiers = [code for code in codes if code != "none"]
    parts = [exists().where(LoyaltyMember.guest_id == Guest.id, LoyaltyMember.tier.in_(tiers))] if tiers else []
    if "none" in codes:
        parts.append(not_(exists().where(LoyaltyMember.guest_id == Guest.id)))
    return or_(false(), *parts)


def _bool(condition: ColumnElement[bool]) -> Callable[[bool, date], ColumnElement[bool]]:
    return lambda wanted, _today: condition if wanted else not_(condition)


_FILTERS: dict[str, Callable[[Any, date], ColumnElement[bool]]] = {
    "stayed_at_hotel_ids": lambda ids, _today: _stays(Booking.hotel_id.in_(ids)),
    "past_guest": lambda wanted, _today: _stays() if wanted else not_(_stays()),
    "last_stay_before_months": lambda months, today: and_(
        _stays(), not_(_stays(Booking.check_out >= _months_before(today, months)))),
    "stayed_in_season": lambda kind, _today: _stays(_season_covers(kind)),
    "never_stayed_in_season": lambda kind, _today: not_(_stays(_season_covers(kind))),
    "languages": lambda values, _today: Guest.language.in_(values),
    "countries": lambda values, _today: Guest.country.in_(values),
    "cities": lambda values, _today: Guest.city.in_(values),
    "birthday_within_days": lambda days, today: month_day(Guest.birth_date).in_(birthday_month_days(today, days)),
    "preference_tags": lambda tags, _today: exists().where(
        GuestPreferences.guest_id == Guest.id, or_(*[_tag(tag) for tag in tags])),
    "has_live_token": lambda wanted, today: _bool(exists().where(
        Device.guest_id == Guest.id, Device.last_seen_at >= live_token_cutoff(clock.now())))(wanted, today),
    "marketing_consent": lambda wanted, _today: _bool(marketing_consent())(wanted, _today),
    "loyalty_tiers": lambda codes, _today: _loyalty_tiers(codes),
}
