"""The club's rules as data: tiers (in code, overridable with LOYALTY_TIERS) and settings from config."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app


@dataclass(frozen=True)
class Tier:
    code: str
    rank: int  # 0 = the entry tier every member has
    name: dict[str, str]
    # Reached with qualifying nights OR qualifying points (base points of eligible spend) in the window.
    nights: int
    qualifying_points: int
    bonus_bp: int  # extra points on stays, basis points of the base points
    discount_bp: int  # off room prices for members of this tier (the pricing caps the sum of discounts)


DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier("member", 0, {"en": "Member", "ru": "Участник"}, 0, 0, 0, 300),
    Tier("silver", 1, {"en": "Silver", "ru": "Серебряный"}, 10, 1500, 1000, 500),
    Tier("gold", 2, {"en": "Gold", "ru": "Золотой"}, 25, 4000, 2500, 700),
    Tier("platinum", 3, {"en": "Platinum", "ru": "Платиновый"}, 50, 8000, 5000, 1000),
)

ROLLING = "rolling_12_months"
CALENDAR = "calendar_year"


@dataclass(frozen=True)
class Program:
    tiers: tuple[Tier, ...]
    qualification: str
    grace: timedelta
    expiry_months: int
    expiring_soon: timedelta
    earn_rates: dict[str, int] = field(default_factory=dict)  # currency -> minor units per base point
    referrer_points: int = 0
    referee_points: int = 0
    birthday_points: int = 0
    goodwill_max_points: int = 0
    default_time_zone: str = "Europe/Moscow"

    @property
    def entry_tier(self) -> Tier:
        return self.tiers[0]

    def tier(self, code: str | None) -> Tier:
        return next((tier for tier in self.tiers if tier.code == code), self.entry_tier)

    def tier_for(self, *, nights: int, qualifying_points: int) -> Tier:
        """The highest tier whose nights OR qualifying points are reached."""
        reached = [tier for tier in self.tiers if nights >= tier.nights or qualifying_points >= tier.qualifying_points]
        return max(reached, key=lambda tier: tier.rank)

    def next_tier(self, tier: Tier) -> Tier | None:
        higher = [other for other in self.tiers if other.rank > tier.rank]
        return min(higher, key=lambda other: other.rank) if higher else None

    def base_points(self, *, spend: int, currency: str) -> int:
        """Base points for `spend` minor units; a currency without an earn rate earns nothing."""
        per_point = self.earn_rates.get(currency)
        return spend // per_point if per_point and spend > 0 else 0

    def expiry_for(self, awarded_at: datetime) -> datetime:
        return add_months(awarded_at, self.expiry_months)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` later, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def birthday_in(year: int, birth_date: date) -> date:
    """The day the birthday is celebrated in `year`: 29 February falls on 28 February in non-leap years."""
    if birth_date.month == 2 and birth_date.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return birth_date.replace(year=year)


def _tiers(raw: Any) -> tuple[Tier, ...]:
    if not raw:
        return DEFAULT_TIERS
    tiers = tuple(sorted((tier if isinstance(tier, Tier) else Tier(**tier) for tier in raw), key=lambda t: t.rank))
    if tiers[0].nights or tiers[0].qualifying_points:
        raise ValueError("the entry tier must need no qualification")
    return tiers


def _earn_rates(raw: Any) -> dict[str, int]:
    if isinstance(raw, dict):
        return {str(k): int(v) for k, v in raw.items()}
    rates = {}
    for item in raw or ():
        currency, _, per_point = str(item).partition(":")
        rates[currency.strip().upper()] = int(per_point)
    return rates


def program() -> Program:
    """The club's rules for this application (read from config on each call: cheap, and tests may change it)."""
    config = current_app.config
    qualification = config.get("LOYALTY_QUALIFICATION", ROLLING)
    if qualification not in (ROLLING, CALENDAR):
        raise ValueError(f"LOYALTY_QUALIFICATION must be {ROLLING} or {CALENDAR}")
    return Program(
        tiers=_tiers(config.get("LOYALTY_TIERS")),
        qualification=qualification,
        grace=timedelta(days=config.get("LOYALTY_GRACE_DAYS", 90)),
        expiry_months=config.get("LOYALTY_POINTS_EXPIRY_MONTHS", 24),
        expiring_soon=timedelta(days=config.get("LOYALTY_EXPIRING_SOON_DAYS", 90)),
        earn_rates=_earn_rates(config.get("LOYALTY_EARN_RATES")),
        referrer_points=config.get("LOYALTY_REFERRER_POINTS", 2000),
        referee_points=config.get("LOYALTY_REFEREE_POINTS", 1000),
        birthday_points=config.get("LOYALTY_BIRTHDAY_POINTS", 500),
        goodwill_max_points=config.get("LOYALTY_GOODWILL_MAX_POINTS", 5000),
        default_time_zone=config.get("CHAIN_TIME_ZONE", "Europe/Moscow"),
    )
