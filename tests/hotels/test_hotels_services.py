"""Rules of the hotels domain: which season a day falls in, calendars without overlaps, unique codes under races."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from app.core.db import unit_of_work
from app.core.errors import Conflict, NotFound, Unprocessable
from app.hotels import services
from app.hotels.services import hotels as hotel_services
from tests.factories import make_chain, make_hotel


class FakeChainAdmin:
    """What hotels need of a staff member (app.staff is a higher domain)."""

    is_chain_wide = True

    def can_access_hotel(self, hotel_id: int) -> bool:
        return True


def period(kind: str, start: tuple[int, int], end: tuple[int, int]) -> dict[str, Any]:
    return {"kind": kind, "start": start, "end": end}


def hotel_with_calendar(*periods: dict[str, Any]) -> int:
    hotel = make_hotel()
    with unit_of_work():
        services.replace_seasons(staff=FakeChainAdmin(), hotel_id=hotel.id, seasons=list(periods))
    return hotel.id


# -- season_on ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("day", "kind"), [
    (date(2026, 4, 14), "low"),
    (date(2026, 4, 15), "high"),  # both ends are inclusive
    (date(2026, 7, 1), "high"),
    (date(2026, 10, 15), "high"),
    (date(2026, 10, 16), "low"),
    (date(2026, 12, 31), "low"),  # the low season wraps over New Year
    (date(2027, 1, 1), "low"),
])
def test_resort_calendar_days_fall_in_their_season(day, kind):
    hotel_id = hotel_with_calendar(*({**p} for p in services.DEFAULT_RESORT_CALENDAR))

    assert services.season_on(hotel_id=hotel_id, day=day) == kind


@pytest.mark.parametrize(("day", "kind"), [
    (date(2026, 11, 30), "shoulder"),
    (date(2026, 12, 1), "high"),
    (date(2026, 12, 31), "high"),
    (date(2027, 1, 1), "high"),
    (date(2028, 2, 29), "high"),
    (date(2027, 3, 31), "high"),
    (date(2027, 4, 1), "shoulder"),
])
def test_ski_season_wraps_over_new_year(day, kind):
    hotel_id = hotel_with_calendar(period("high", (12, 1), (3, 31)))

    assert services.season_on(hotel_id=hotel_id, day=day) == kind


def test_february_29_period_covers_only_leap_days():
    hotel_id = hotel_with_calendar(period("high", (2, 29), (2, 29)))

    assert services.season_on(hotel_id=hotel_id, day=date(2028, 2, 29)) == "high"
    assert services.season_on(hotel_id=hotel_id, day=date(2027, 2, 28)) == "shoulder"
    assert services.season_on(hotel_id=hotel_id, day=date(2027, 3, 1)) == "shoulder"


def test_a_season_ending_february_28_leaves_the_leap_day_uncovered():
    hotel_id = hotel_with_calendar(period("high", (12, 1), (2, 28)))

    assert services.season_on(hotel_id=hotel_id, day=date(2028, 2, 28)) == "high"
    assert services.season_on(hotel_id=hotel_id, day=date(2028, 2, 29)) == "shoulder"


def test_days_outside_every_period_are_shoulder_season():
    hotel_id = hotel_with_calendar()

    assert services.season_on(hotel_id=hotel_id, day=date(2026, 8, 1)) == "shoulder"


def test_default_resort_calendar_covers_every_day_of_a_leap_year_once():
    hotel_id = hotel_with_calendar(*services.DEFAULT_RESORT_CALENDAR)
    days = [date(2028, 1, 1) + timedelta(days=n) for n in range(366)]

    kinds = {services.season_on(hotel_id=hotel_id, day=day) for day in days}

    assert kinds == {"high", "low"}


def test_season_of_an_unknown_hotel_is_not_found():
    with pytest.raises(NotFound):
        services.season_on(hotel_id=999_999, day=date(2026, 1, 1))


# -- calendar rules ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("periods", [
    [period("high", (12, 1), (3, 31)), period("low", (1, 10), (1, 20))],  # inside a wrapping period
    [period("high", (12, 1), (3, 31)), period("low", (11, 1), (12, 1))],  # sharing one day
    [period("high", (2, 28), (3, 1)), period("low", (2, 29), (2, 29))],  # the leap day
    [period("high", (6, 1), (5, 31)), period("low", (1, 1), (1, 1))],  # a whole-year period leaves no room
])
def test_overlapping_periods_are_refused(periods):
    hotel_id = make_hotel().id

    with pytest.raises(Unprocessable) as refused, unit_of_work():
        services.replace_seasons(staff=FakeChainAdmin(), hotel_id=hotel_id, seasons=periods)

    assert refused.value.code == "seasons_overlap"


def test_adjacent_periods_do_not_overlap():
    hotel_id = hotel_with_calendar(period("high", (12, 1), (3, 31)), period("low", (4, 1), (11, 30)))

    assert services.season_on(hotel_id=hotel_id, day=date(2026, 4, 1)) == "low"


def test_a_hotel_code_claimed_by_a_concurrent_request_is_a_conflict(monkeypatch):
    chain = make_chain()
    make_hotel(code="taken", chain_id=chain.id)
    # The other request committed between our check and our insert: only the unique constraint notices.
    monkeypatch.setattr(hotel_services, "_ensure_code_free", lambda code: None)

    with pytest.raises(Conflict) as conflict, unit_of_work():
        services.create_hotel(chain_id=chain.id, code="taken", name={"en": "Twin"}, city="Sochi", country="RU",
                              time_zone="Europe/Moscow", currency="RUB")

    assert conflict.value.code == "hotel_code_taken"


def test_a_hotel_without_a_chain_is_refused_when_several_chains_exist():
    make_chain(), make_chain()

    with pytest.raises(Unprocessable) as refused, unit_of_work():
        services.create_hotel(code="x", name={"en": "X"}, city="Sochi", country="RU", time_zone="Europe/Moscow",
                              currency="RUB")

    assert refused.value.code == "chain_required"
