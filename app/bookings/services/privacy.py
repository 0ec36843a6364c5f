"""The bookings domain's part of a guest's data rights: bookings and stays, folios with charges, survey answers.

Erasure keeps bookings, folios and charges (accounting law) and drops the free text the guest wrote: special
requests and the survey comment. Scores stay, anonymous once the profile is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select, update
from sqlalchemy.orm import selectinload

from app.bookings.models import Booking, Folio, SurveyResponse
from app.core.records import as_record, as_records
from app.extensions import db

# Survey answers that are free text (the rest are scores).
_FREE_TEXT_ANSWERS = ("comment",)


def export_for_guest(*, guest_id: int) -> dict[str, Any]:
    bookings = list(db.session.scalars(
        select(Booking).where(Booking.guest_id == guest_id).order_by(Booking.id)
        .options(selectinload(Booking.folio).selectinload(Folio.charges))))
    ids = [booking.id for booking in bookings]
    surveys = db.session.scalars(select(SurveyResponse).where(SurveyResponse.booking_id.in_(ids))) if ids else []
    return {
        "bookings": [{
            **as_record(booking),
            "folio": {**as_record(booking.folio), "balance": booking.folio.balance,
                      "charges": as_records(booking.folio.charges)} if booking.folio else None,
        } for booking in bookings],
        "survey_answers": as_records(surveys),
    }


def guest_booking_ids(*, guest_id: int) -> list[int]:
    return list(db.session.scalars(select(Booking.id).where(Booking.guest_id == guest_id)))


def erase_for_guest(*, guest_id: int, pseudonym: str) -> dict[str, int]:
    ids = guest_booking_ids(guest_id=guest_id)
    if not ids:
        return {}
    requests_erased = db.session.execute(update(Booking).where(
        Booking.guest_id == guest_id, Booking.special_requests.is_not(None)).values(special_requests=None)).rowcount
    surveys = 0
    for response in db.session.scalars(select(SurveyResponse).where(SurveyResponse.booking_id.in_(ids))):
        if any(key in response.answers for key in _FREE_TEXT_ANSWERS):
            response.answers = {k: v for k, v in response.answers.items() if k not in _FREE_TEXT_ANSWERS}
            surveys += 1
    return {"special_requests": requests_erased, "survey_comments": surveys}


def stays_ended_between(start: datetime | None, end: datetime) -> Select:
    """A subquery of the ids of stays that ended (checked out or cancelled) in [start, end) (retention jobs)."""
    conditions = []
    for column in (Booking.checked_out_at, Booking.cancelled_at):
        condition = column.is_not(None) & (column < end)
        conditions.append(condition & (column >= start) if start is not None else condition)
    return select(Booking.id).where(or_(*conditions))
