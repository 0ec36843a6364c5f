"""Loyalty rules at their edges: expiry order, requalification and grace, referrals, birthdays, idempotent earning."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.core import clock
from app.core.db import unit_of_work
from app.core.errors import Conflict
from app.core.events import DomainEvent
from app.extensions import db
from app.loyalty import jobs, services
from app.loyalty.models import LoyaltyMember, PointsAllocation, PointsEntry, QualifyingStay
from tests.factories import give_points, make_guest, make_hotel, make_member

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
RUB_100 = 10_000  # minor units that earn one base point


@pytest.fixture
def hotel():
    return make_hotel()


def complete_stay(guest, hotel, booking_id: int, *, nights: int = 3, spend: int = 300 * RUB_100,
                  currency: str = "RUB") -> int:
    with unit_of_work():
        return services.record_completed_stay(guest_id=guest.id, booking_id=booking_id, hotel_id=hotel.id,
                                              nights=nights, eligible_spend=spend, currency=currency,
                                              completed_at=clock.now())


def redeem(guest, points: int, reference: str = "voucher:1"):
    with unit_of_work():
        return services.redeem(guest_id=guest.id, points=points, reference=reference)


def balance(guest) -> int:
    db.session.commit()
    return services.balance(guest.id)


def ledger_sum(guest) -> int:
    db.session.commit()
    return db.session.scalar(select(func.coalesce(func.sum(PointsEntry.points), 0))
                             .where(PointsEntry.guest_id == guest.id))


def member(guest) -> LoyaltyMember:
    db.session.commit()
    return db.session.get(LoyaltyMember, guest.id, populate_existing=True)


def events_of(event_type: str) -> list[DomainEvent]:
    db.session.commit()
    return list(db.session.scalars(select(DomainEvent).where(DomainEvent.type == event_type)
                                   .order_by(DomainEvent.id)))


# -- earning -----------------------------------------------------------------------------------------------------

def test_a_stay_earns_base_points_plus_the_tier_bonus(hotel):
    guest = make_guest()
    make_member(guest, tier="gold")
    with clock.frozen(T0):
        earned = complete_stay(guest, hotel, 1, nights=2, spend=100_000 * 100)  # 100 000 RUB
    assert earned == 1000 + 250  # 1 point per 100 RUB, gold +25 %
    assert balance(guest) == 1250
    entry = db.session.scalars(select(PointsEntry).where(PointsEntry.guest_id == guest.id)).one()
    assert entry.reference == "booking:1" and entry.detail == {"base": 1000, "bonus": 250, "tier": "gold"}
    assert [e.payload["points"] for e in events_of("loyalty.points_earned")] == [1250]


def test_recording_the_same_stay_twice_earns_once(hotel):
    guest = make_guest()
    make_member(guest)
    with clock.frozen(T0):
        assert complete_stay(guest, hotel, 7) == 300
        assert complete_stay(guest, hotel, 7) == 0
    assert balance(guest) == 300
    assert db.session.scalar(select(func.count()).select_from(QualifyingStay)) == 1


def test_a_non_member_earns_nothing_but_the_stay_counts_towards_the_tier_on_enrolment(hotel):
    guest = make_guest()
    with clock.frozen(T0) as advance:
        assert complete_stay(guest, hotel, 1, nights=12) == 0
        advance(timedelta(days=30))
        make_member(guest)
    assert member(guest).tier == "silver"  # 12 nights within the last 12 months
    assert balance(guest) == 0  # no points for the stay made before joining


def test_a_currency_without_an_earn_rate_earns_no_points_but_the_nights_count(hotel):
    guest = make_guest()
    make_member(guest)
    with clock.frozen(T0):
        assert complete_stay(guest, hotel, 1, nights=10, currency="JPY") == 0
    assert member(guest).tier == "silver"


# -- expiry order ------------------------------------------------------------------------------------------------

def test_redemption_draws_from_the_awards_that_expire_first_and_expiry_takes_exactly_what_is_left():
    guest = make_guest()
    make_member(guest)
    with clock.frozen(T0) as advance:
        first = give_points(guest, 100)
        advance(timedelta(days=30))
        second = give_points(guest, 200)
        advance(timedelta(days=1))
        debit = redeem(guest, 150)
        allocations = {a.award_entry_id: a.points for a in db.session.scalars(
            select(PointsAllocation).where(PointsAllocation.debit_entry_id == debit.id))}
        assert allocations == {first.id: 100, second.id: 50}
        assert debit.balance == 150
    with clock.frozen(first.expires_at + timedelta(hours=1)):
        assert jobs.expire_points() == 0  # the first award was fully spent
        assert balance(guest) == 150
    with clock.frozen(second.expires_at + timedelta(hours=1)):
        assert jobs.expire_points() == 150  # exactly what the partial redemption left
        assert jobs.expire_points() == 0  # running the job again changes nothing
    assert balance(guest) == 0 and ledger_sum(guest) == 0


def test_a_partly_used_award_expires_only_its_remainder_and_later_awards_stay():
    guest = make_guest()
    make_member(guest)
    with clock.frozen(T0) as advance:
        first = give_points(guest, 100)
        advance(timedelta(days=10))
        give_points(guest, 100)
        redeem(guest, 30)
    assert first.expires_at == datetime(2028, 1, 10, 12, 0, tzinfo=UTC)  # 24 months
    with clock.frozen(first.expires_at):
        assert jobs.expire_points() == 70
    assert balance(guest) == 100 and ledger_sum(guest) == 100


def test_lapsed_points_cannot_be_redeemed_even_before_the_expiry_job_ran():
    guest = make_guest()
    make_member(guest)
    with clock.frozen(T0):
        award = give_points(guest, 100)
    with clock.frozen(award.expires_at + timedelta(minutes=1)):
        assert balance(guest) == 0
        with pytest.raises(Conflict) as refused:
            redeem(guest, 50)
        assert refused.value.code == "insufficient_points"


def test_a_redemption_larger_than_the_balance_is_refused_and_changes_nothing():
    guest = make_guest()
    make_member(guest)
    give_points(guest, 100)
    with pytest.raises(Conflict) as refused:
        redeem(guest, 101)
    assert refused.value.code == "insufficient_points" and refused.value.extra == {"balance": 100}
    assert balance(guest) == 100 and ledger_sum(guest) == 100
    assert events_of("loyalty.points_redeemed") == []


def test_a_redemption_records_its_event_for_bookings():
    guest = make_guest()
    make_member(guest)
    give_points(guest, 500)
    done = redeem(guest, 200, reference="voucher:42")
    [event] = events_of("loyalty.points_redeemed")
    assert event.payload == {"points": 200, "reference": "voucher:42"}
    assert event.guest_id == guest.id and event.subject_id == done.id


# -- tiers -------------------------------------------------------------------------------------------------------

def test_tier_follows_earned_nights_not_the_balance(hotel):
    guest = make_guest()
    make_member(guest)
    with clock.frozen(T0) as advance:
        give_points(guest, 50_000)  # a huge balance alone does not make a tier
        assert services.qualified_tier(guest.id, now=clock.now()).code == "member"
        complete_stay(guest, hotel, 1, nights=10, spend=10 * RUB_100)
        assert member(guest).tier == "silver"
        redeem(guest, balance(guest))  # spending everything does not cost the tier
        advance(timedelta(days=1))
        jobs.reevaluate_tiers()
    assert member(guest).tier == "silver" and member(guest).downgrade_due_at is None
    [changed] = events_of("loyalty.tier_changed")
    assert changed.payload == {"from": "member", "to": "silver", "reason": "qualified"}


def test_spend_alone_qualifies_for_a_tier(hotel):
    guest = make_guest()
    make_member(guest)
    with clock.frozen(T0):
        complete_stay(guest, hotel, 1, nights=1, spend=4000 * 100 * 100)  # 400 000 RUB = 4000 base points
    assert member(guest).tier == "gold"


def test_a_tier_is_kept_through_the_grace_period_then_drops(hotel):
    guest = make_guest()
    make_member(guest)
    with clock.frozen(T0) as advance:
        complete_stay(guest, hotel, 1, nights=10)
        advance(timedelta(days=366))  # the stay has left the rolling 12 months
        jobs.reevaluate_tiers()
        assert member(guest).tier == "silver"
        assert member(guest).downgrade_due_at == clock.now() + timedelta(days=90)
        advance(timedelta(days=89))
        jobs.reevaluate_tiers()
        assert member(guest).tier == "silver"
        assert services.tier_discount_bp(guest_id=guest.id) == 500
        advance(timedelta(days=1))
        assert jobs.reevaluate_tiers() == 1
    assert member(guest).tier == "member" and member(guest).downgrade_due_at is None
    assert events_of("loyalty.tier_changed")[-1].payload == {"from": "silver", "to": "member",
                                                             "reason": "grace_period_ended"}


def test_requalifying_during_the_grace_period_keeps_the_tier(hotel):
    guest = make_guest()
    make_member(guest)
    with clock.frozen(T0) as advance:
        complete_stay(guest, hotel, 1, nights=10)
        advance(timedelta(days=366))
        jobs.reevaluate_tiers()
        assert member(guest).downgrade_due_at is not None
        advance(timedelta(days=30))
        complete_stay(guest, hotel, 2, nights=10)
        assert member(guest).downgrade_due_at is None
        advance(timedelta(days=90))
        jobs.reevaluate_tiers()
    assert member(guest).tier == "silver"


def test_calendar_year_qualification_keeps_the_tier_through_the_next_year(app, hotel):
    app.config["LOYALTY_QUALIFICATION"] = "calendar_year"
    try:
        guest = make_guest()
        make_member(guest)
        with clock.frozen(datetime(2026, 12, 20, tzinfo=UTC)) as advance:
            complete_stay(guest, hotel, 1, nights=25)
            assert member(guest).tier == "gold"
            advance(timedelta(days=300))  # October 2027: last year's nights still hold the tier
            jobs.reevaluate_tiers()
            assert member(guest).tier == "gold" and member(guest).downgrade_due_at is None
            advance(timedelta(days=80))  # January 2028: 2026 no longer counts
            jobs.reevaluate_tiers()
            assert member(guest).downgrade_due_at is not None
    finally:
        app.config["LOYALTY_QUALIFICATION"] = "rolling_12_months"


def test_non_members_have_no_tier_and_no_discount():
    guest = make_guest()
    assert services.member_tier(guest_id=guest.id) is None
    assert services.tier_discount_bp(guest_id=guest.id) == 0
    make_member(guest)
    assert services.member_tier(guest_id=guest.id) == "member"
    assert services.tier_discount_bp(guest_id=guest.id) == 300


# -- referrals ---------------------------------------------------------------------------------------------------

def test_a_referral_rewards_both_members_once_on_the_first_completed_stay(hotel):
    referrer, friend = make_guest(), make_guest()
    code = make_member(referrer).referral_code
    make_member(friend, referral_code=code.lower())  # codes are read out: case does not matter
    with clock.frozen(T0) as advance:
        assert balance(referrer) == 0
        complete_stay(friend, hotel, 1)
        assert balance(referrer) == 2000
        assert balance(friend) == 300 + 1000
        advance(timedelta(days=40))
        complete_stay(friend, hotel, 2)
    assert balance(referrer) == 2000  # the second stay rewards nobody again
    assert balance(friend) == 300 + 1000 + 300
    kinds = db.session.scalars(select(PointsEntry.kind).where(PointsEntry.guest_id == friend.id)
                               .order_by(PointsEntry.id)).all()
    assert kinds == ["stay", "welcome", "stay"]


@pytest.mark.parametrize("case", ["unknown", "own", "stayed_before"])
def test_referral_codes_are_refused_for_unknown_codes_self_referral_and_returning_guests(hotel, case):
    referrer = make_guest()
    code = make_member(referrer).referral_code
    guest = referrer if case == "own" else make_guest()
    if case == "stayed_before":
        complete_stay(guest, hotel, 1)
    from app.core.errors import Unprocessable

    with pytest.raises((Unprocessable, Conflict)) as refused, unit_of_work():
        services.enrol(guest_id=guest.id, referral_code="ZZZZZZZZ" if case == "unknown" else code)
    expected = {"unknown": "referral_code_invalid", "own": "already_enrolled", "stayed_before": "referral_not_eligible"}
    assert refused.value.code == expected[case]


# -- birthdays ---------------------------------------------------------------------------------------------------

def test_the_birthday_bonus_comes_on_the_birthday_in_the_guests_own_time_zone():
    far_east = make_guest(birth_date=date(1990, 3, 15), time_zone="Asia/Vladivostok")
    moscow = make_guest(birth_date=date(1985, 3, 15))  # no time zone: the chain's (Europe/Moscow)
    make_member(far_east)
    make_member(moscow)
    # 15:00 UTC on 14 March: already 01:00 on the 15th in Vladivostok, still 18:00 on the 14th in Moscow.
    with clock.frozen(datetime(2026, 3, 14, 15, 0, tzinfo=UTC)) as advance:
        assert jobs.award_birthday_bonuses() == 1
        assert (balance(far_east), balance(moscow)) == (500, 0)
        advance(timedelta(hours=6, minutes=30))  # 00:30 on the 15th in Moscow
        assert jobs.award_birthday_bonuses() == 1
        advance(timedelta(hours=12))
        assert jobs.award_birthday_bonuses() == 0  # once a year
    assert (balance(far_east), balance(moscow)) == (500, 500)
    with clock.frozen(datetime(2027, 3, 15, 9, 0, tzinfo=UTC)):
        assert jobs.award_birthday_bonuses() == 2  # and again next year


def test_leap_day_birthdays_are_celebrated_on_28_february_in_other_years():
    guest = make_guest(birth_date=date(2000, 2, 29))
    make_member(guest)
    with clock.frozen(datetime(2027, 2, 27, 12, 0, tzinfo=UTC)) as advance:
        assert jobs.award_birthday_bonuses() == 0
        advance(timedelta(days=1))  # 28 February 2027, 15:00 in Moscow
        assert jobs.award_birthday_bonuses() == 1
        advance(timedelta(days=1))  # 1 March
        assert jobs.award_birthday_bonuses() == 0
    with clock.frozen(datetime(2028, 2, 28, 12, 0, tzinfo=UTC)) as advance:
        assert jobs.award_birthday_bonuses() == 0  # a leap year: the real day comes tomorrow
        advance(timedelta(days=1))
        assert jobs.award_birthday_bonuses() == 1
    assert balance(guest) == 1000


def test_guests_who_have_not_enrolled_get_no_birthday_bonus():
    make_guest(birth_date=date(1990, 6, 1))
    with clock.frozen(datetime(2026, 6, 1, 12, 0, tzinfo=UTC)):
        assert jobs.award_birthday_bonuses() == 0
