"""Season calendars: periods that repeat every year, may wrap over New Year, and never overlap."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from itertools import combinations
from typing import Any

from app.core.errors import NotFound, Unprocessable
from app.extensions import db
from app.hotels.models import Hotel, Season, SeasonKind
from app.hotels.services.access import Actor, active_hotel, managed_hotel

# What a new hotel gets when no calendar is given: the usual Russian (Black Sea) resort year.
DEFAULT_RESORT_CALENDAR = (
    {"kind": SeasonKind.HIGH.value, "start": (4, 15), "end": (10, 15),
     "name": {"en": "High season", "ru": "Высокий сезон"}},
    {"kind": SeasonKind.LOW.value, "start": (10, 16), "end": (4, 14),
     "name": {"en": "Low season", "ru": "Низкий сезон"}},
)
# Day numbers are taken in a leap year, so that a period holding 02-29 is compared like any other.
_LEAP_YEAR = 2000


def build_calendar(periods: Iterable[dict[str, Any]]) -> list[Season]:
    """Season rows for periods {kind, start: (month, day), end: (month, day), name}; overlaps are refused."""
    seasons = [
        Season(kind=period["kind"], name=period.get("name"), start_month=period["start"][0],
               start_day=period["start"][1], end_month=period["end"][0], end_day=period["end"][1])
        for period in periods
    ]
    _refuse_overlaps(seasons)
    return sorted(seasons, key=lambda season: (season.start_month, season.start_day))


def _refuse_overlaps(seasons: list[Season]) -> None:
    days = [_days_of(season) for season in seasons]
    for (i, first), (j, second) in combinations(enumerate(seasons), 2):
        if days[i] & days[j]:
            message = f"Periods {i + 1} ({_label(first)}) and {j + 1} ({_label(second)}) overlap."
            raise Unprocessable(message, code="seasons_overlap", errors={"seasons": [message]})


def _days_of(season: Season) -> set[int]:
    start = date(_LEAP_YEAR, season.start_month, season.start_day).timetuple().tm_yday
    end = date(_LEAP_YEAR, season.end_month, season.end_day).timetuple().tm_yday
    if start <= end:
        return set(range(start, end + 1))
    return set(range(start, 367)) | set(range(1, end + 1))  # wraps over New Year


def _label(season: Season) -> str:
    return f"{season.start_month:02d}-{season.start_day:02d}..{season.end_month:02d}-{season.end_day:02d}"


def replace_seasons(*, staff: Actor, hotel_id: int, seasons: list[dict[str, Any]]) -> Hotel:
    """Replace a hotel's season calendar with `seasons` (an empty list leaves every day shoulder season)."""
    hotel = managed_hotel(staff, hotel_id)
    hotel.seasons = build_calendar(seasons)
    db.session.flush()
    return hotel


def season_calendar(*, hotel_id: int) -> list[Season]:
    """The season calendar of a hotel in the catalogue, in calendar order."""
    return active_hotel(hotel_id).seasons


def season_on(*, hotel_id: int, day: date) -> str:
    """The season kind of `day` at the hotel; a day no period covers is shoulder season."""
    hotel = db.session.get(Hotel, hotel_id)
    if hotel is None:
        raise NotFound("No such hotel.")
    return next((season.kind for season in hotel.seasons if season.covers(day)), SeasonKind.SHOULDER.value)
