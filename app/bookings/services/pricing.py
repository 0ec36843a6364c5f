"""Prices, night by night: base -> season -> public price -> discounts (direct, tier, promo; capped) -> tax.

Stacking rule, the one a guest can check with a calculator: every discount is a percentage OF THE PUBLIC PRICE,
they add up in a fixed order (app-only direct discount, then loyalty tier, then promo code), and their sum never
exceeds the hotel's cap; the discount that crosses the cap is cut to fit and marked `capped`. Tax is then added on
the net price. All amounts are integer minor units of the hotel's currency, rounded half up per night.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select

from app.bookings import catalogue
from app.bookings.catalogue import HotelView, PlanView, RoomTypeView
from app.bookings.models import PromoCode
from app.core import clock
from app.core.errors import NotFound, Unprocessable
from app.extensions import db

DIRECT, TIER, PROMO = "direct", "tier", "promo"
DEFAULT_POLICY = {"direct_discount_bp": 1000, "max_discount_bp": 3000, "tax_bp": 0, "tax_name": None,
                  "free_cancellation_hours": 48, "late_cancellation_fee_nights": 1}


def share(amount: int, basis_points: int) -> int:
    """`basis_points` / 10000 of `amount`, rounded half up (integer arithmetic: no float ever touches money)."""
    return (amount * basis_points + 5000) // 10000


@dataclass
class Discount:
    code: str  # direct | tier | promo
    basis_points: int
    amount: int
    capped: bool = False


@dataclass
class NightPrice:
    night: date
    season: str
    base: int
    season_adjustment: int
    public_price: int
    discounts: list[Discount]
    net: int
    tax: int
    total: int


@dataclass
class Quote:
    hotel_id: int
    room_type_id: int
    rate_plan_id: int
    check_in: date
    check_out: date
    currency: str
    nights: list[NightPrice]
    promo_code: str | None = None
    tier: str | None = None
    totals: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        public = sum(n.public_price for n in self.nights)
        net = sum(n.net for n in self.nights)
        tax = sum(n.tax for n in self.nights)
        self.totals = {"public": public, "discounts": public - net, "net": net, "tax": tax, "total": net + tax}

    @property
    def total(self) -> int:
        return self.totals["total"]

    def snapshot(self) -> dict[str, Any]:
        """JSON-safe copy stored on the booking: the price the guest accepted, explained."""
        data = asdict(self)
        for night in data["nights"]:
            night["night"] = night["night"].isoformat()
        data["check_in"], data["check_out"] = self.check_in.isoformat(), self.check_out.isoformat()
        return data


@dataclass(frozen=True)
class StayRequest:
    hotel_id: int
    room_type_id: int
    check_in: date
    check_out: date
    adults: int = 1
    children: int = 0
    rate_plan_id: int | None = None
    promo_code: str | None = None


def stay_nights(check_in: date, check_out: date) -> list[date]:
    return [check_in + timedelta(days=i) for i in range((check_out - check_in).days)]


def price_nights(*, hotel: HotelView, plan: PlanView, nights: list[date], tier_bp: int = 0,
                 promo: PromoCode | None = None, direct: bool = True) -> list[NightPrice]:
    """Price each night from the catalogue's copy of the hotel (seasons, policy) and the plan; `direct=False`
    leaves out the app-only direct discount (a booking made at the front desk)."""
    policy = hotel.policy
    priced = []
    for night in nights:
        price = night_price(base_price=plan.base_price, adjustments_bp=plan.season_adjustments_bp,
                            season=hotel.season_on(night), direct_bp=policy.direct_discount_bp if direct else 0,
                            cap_bp=policy.max_discount_bp, tax_bp=policy.tax_bp, tier_bp=tier_bp,
                            promo_bp=promo.discount_bp if promo else 0)
        priced.append(replace(price, night=night, discounts=[replace(d) for d in price.discounts]))
    return priced


@lru_cache(maxsize=4096)
def _night_price(base_price: int, adjustment_bp: int, season: str, direct_bp: int, cap_bp: int, tax_bp: int,
                 tier_bp: int, promo_bp: int) -> NightPrice:
    public = share(base_price, adjustment_bp)
    discounts = _stack(public, [(DIRECT, direct_bp), (TIER, tier_bp), (PROMO, promo_bp)], cap_bp=cap_bp)
    net = public - sum(d.amount for d in discounts)
    tax = share(net, tax_bp)
    return NightPrice(night=date.min, season=season, base=base_price, season_adjustment=public - base_price,
                      public_price=public, discounts=discounts, net=net, tax=tax, total=net + tax)


def night_price(*, base_price: int, adjustments_bp: dict[str, int], season: str, direct_bp: int, cap_bp: int,
                tax_bp: int, tier_bp: int = 0, promo_bp: int = 0) -> NightPrice:
    """One night's price in `season` (its `night` field is a placeholder): the one rule every price goes through.

    Memoised: a chain has few distinct (price, season, discounts) combinations. The result is shared: don't mutate.
    """
    return _night_price(base_price, adjustments_bp.get(season, 10000), season, direct_bp, cap_bp, tax_bp,
                        tier_bp, promo_bp)


def _stack(public: int, requested: list[tuple[str, int]], *, cap_bp: int) -> list[Discount]:
    discounts, room_left = [], cap_bp
    for code, basis_points in requested:
        if basis_points <= 0 or room_left <= 0:
            continue
        applied = min(basis_points, room_left)
        room_left -= applied
        discounts.append(Discount(code=code, basis_points=applied, amount=share(public, applied),
                                  capped=applied < basis_points))
    return discounts


def quote(stay: StayRequest, *, tier: str | None = None, tier_bp: int = 0, member: bool = False,
          direct: bool = True) -> Quote:
    """Explain the price of a stay night by night; refuses impossible stays with field errors. `direct`: with
    the app-only direct discount (every booking but the front desk's).

    Hotel, room type, plans, policy and seasons come from the catalogue copy (app/bookings/catalogue.py), as of this
    transaction's stamp.
    """
    hotel, room_type = hotel_and_room_type(stay.hotel_id, stay.room_type_id)
    if stay.adults + stay.children > room_type.max_occupancy:
        raise Unprocessable(f"This room type sleeps at most {room_type.max_occupancy}.", code="too_many_guests",
                            errors={"adults": [f"At most {room_type.max_occupancy} guests in this room type."]})
    plan = room_type.plan_by_id(stay.rate_plan_id)
    if plan is None:
        raise NotFound("No bookable rate for this room type.", code="no_rate_plan")
    promo = find_promo(stay.promo_code, hotel_id=hotel.id, member=member) if stay.promo_code else None
    nights = price_nights(hotel=hotel, plan=plan, nights=stay_nights(stay.check_in, stay.check_out),
                          tier_bp=tier_bp, promo=promo, direct=direct)
    return Quote(hotel_id=hotel.id, room_type_id=room_type.id, rate_plan_id=plan.id, check_in=stay.check_in,
                 check_out=stay.check_out, currency=hotel.currency, nights=nights,
                 promo_code=promo.code if promo else None, tier=tier if tier_bp else None)


def hotel_and_room_type(hotel_id: int, room_type_id: int) -> tuple[HotelView, RoomTypeView]:
    """An active hotel and one of its room types from the catalogue copy, or 404."""
    hotel = catalogue.current().hotels.get(hotel_id)
    room_type = hotel.room_type(room_type_id) if hotel is not None else None
    if hotel is None or room_type is None:
        raise NotFound("No such room type in this hotel.")
    return hotel, room_type


def find_promo(code: str, *, hotel_id: int, member: bool) -> PromoCode:
    """A promo code valid today for this hotel (or chain-wide); members-only codes need a member."""
    promo = db.session.scalar(select(PromoCode).where(func.upper(PromoCode.code) == code.strip().upper()))
    today = clock.now().date()
    usable = (
        promo is not None and promo.is_active and promo.hotel_id in (None, hotel_id)
        and (promo.valid_from is None or promo.valid_from <= today)
        and (promo.valid_until is None or today <= promo.valid_until)
        and (promo.max_redemptions is None or promo.redemptions < promo.max_redemptions)
        and (member or not promo.members_only)
    )
    if not usable:
        raise Unprocessable("This promo code is not valid for this stay.", code="promo_code_invalid",
                            errors={"promo_code": ["Not valid for this stay."]})
    return promo
