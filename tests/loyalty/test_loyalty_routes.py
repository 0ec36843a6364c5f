"""The loyalty club through the API, as the guest app and the staff console use it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.core import clock
from app.core.auth import Role
from app.core.db import unit_of_work
from app.extensions import db
from app.loyalty import services
from app.loyalty.models import PointsEntry
from tests.factories import (
    give_points,
    headers_for,
    make_guest,
    make_hotel,
    make_member,
    make_room,
    make_room_type,
    make_staff,
    make_stay,
)

API = "/api/v1/loyalty"
STAFF_API = "/api/v1/staff/loyalty"


@pytest.fixture
def hotel():
    return make_hotel()


@pytest.fixture
def booking(hotel):
    """An in-house stay of a club member with 1000 points; redemptions point at it."""
    guest = make_guest(hotels=[hotel])
    make_member(guest)
    give_points(guest, 1000)
    return make_stay(guest, make_room(make_room_type(hotel))), guest


def ledger_sum(guest) -> int:
    db.session.commit()
    return db.session.scalar(select(func.coalesce(func.sum(PointsEntry.points), 0))
                             .where(PointsEntry.guest_id == guest.id))


# -- status and enrolment ----------------------------------------------------------------------------------------

def test_a_guest_enrols_and_sees_their_status(client):
    guest = make_guest()
    headers = headers_for(guest)
    before = client.get(API, headers=headers)
    assert before.status_code == 200 and before.json["enrolled"] is False and before.json["tier"] is None
    joined = client.post(f"{API}/enrol", headers=headers, json={})
    assert joined.status_code == 201
    status = client.get(API, headers={**headers, "Accept-Language": "ru"}).json
    assert status["enrolled"] is True and status["balance"] == 0
    assert status["tier"] == {"code": "member", "name": "Участник", "discount_bp": 300, "bonus_bp": 0}
    assert status["progress"]["next_tier"]["code"] == "silver"
    assert status["progress"]["nights_needed"] == 10 and status["progress"]["points_needed"] == 1500
    assert len(status["referral_code"]) == 8
    again = client.post(f"{API}/enrol", headers=headers, json={})
    assert again.status_code == 409 and again.json["code"] == "already_enrolled"


def test_status_shows_points_expiring_soon(client):
    guest = make_guest()
    make_member(guest)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with clock.frozen(start):
        give_points(guest, 100)
    with clock.frozen(start + timedelta(days=400)):
        give_points(guest, 50)
    with clock.frozen(start + timedelta(days=700)):  # the first award lapses on 1 January 2028
        status = client.get(API, headers=headers_for(guest)).json
    assert status["balance"] == 150
    assert status["expiring_points"] == 100
    assert status["expiring_on"].startswith("2028-01-01")


def test_enrolment_with_a_referral_code_and_its_validation(client):
    referrer = make_guest()
    code = make_member(referrer).referral_code
    friend = make_guest()
    bad = client.post(f"{API}/enrol", headers=headers_for(friend), json={"referral_code": "NOPE2345"})
    assert bad.status_code == 422 and bad.json["code"] == "referral_code_invalid"
    for body in ({"referral_code": "!!"}, {"referral_code": 5}, {"surprise": 1}):
        invalid = client.post(f"{API}/enrol", headers=headers_for(friend), json=body)
        assert invalid.status_code == 422 and invalid.json["code"] == "validation_failed", body
    assert client.post(f"{API}/enrol", headers=headers_for(friend), json={"referral_code": code}).status_code == 201


def test_the_referral_code_is_for_members(client):
    guest = make_guest()
    headers = headers_for(guest)
    refused = client.get(f"{API}/referral-code", headers=headers)
    assert refused.status_code == 403 and refused.json["code"] == "loyalty_membership_required"
    code = make_member(guest).referral_code
    assert client.get(f"{API}/referral-code", headers=headers).json == {"referral_code": code}


def test_staff_tokens_and_anonymous_callers_cannot_use_guest_endpoints(client):
    staff = make_staff()
    assert client.get(API, headers=headers_for(staff)).json["code"] == "wrong_account_kind"
    assert client.get(API).status_code == 401


# -- ledger ------------------------------------------------------------------------------------------------------

def test_the_ledger_pages_newest_first_and_is_the_members_own(client):
    guest = make_guest()
    make_member(guest)
    for points in (10, 20, 30):
        give_points(guest, points)
    other = make_guest()
    make_member(other)
    give_points(other, 999)
    headers = headers_for(guest)
    first = client.get(f"{API}/ledger?limit=2", headers=headers).json
    assert [item["points"] for item in first["items"]] == [30, 20]
    assert first["items"][0]["kind"] == "goodwill" and first["items"][0]["title"] == "Points from our team"
    second = client.get(f"{API}/ledger?limit=2&cursor={first['next_cursor']}", headers=headers).json
    assert [item["points"] for item in second["items"]] == [10] and second["next_cursor"] is None
    assert client.get(f"{API}/ledger?cursor=garbage", headers=headers).json["code"] == "invalid_cursor"
    assert client.get(f"{API}/ledger?limit=0", headers=headers).status_code == 422
    assert client.get(f"{API}/ledger?page=2", headers=headers).status_code == 422
    assert client.get(f"{API}/ledger", headers=headers_for(make_guest())).status_code == 403


# -- redemptions -------------------------------------------------------------------------------------------------

def test_a_redemption_spends_points_once_per_idempotency_key(client, booking):
    stay, guest = booking
    headers = {**headers_for(guest), "Idempotency-Key": "redeem-1"}
    body = {"points": 300, "booking_id": stay.id}
    first = client.post(f"{API}/redemptions", headers=headers, json=body)
    assert first.status_code == 201
    assert first.json["points"] == 300 and first.json["balance"] == 700
    assert first.json["reference"] == f"booking:{stay.id}"
    replay = client.post(f"{API}/redemptions", headers=headers, json=body)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert ledger_sum(guest) == 700


def test_a_redemption_beyond_the_balance_is_refused(client, booking):
    stay, guest = booking
    refused = client.post(f"{API}/redemptions", headers=headers_for(guest),
                          json={"points": 1001, "booking_id": stay.id})
    assert refused.status_code == 409
    assert refused.json["code"] == "insufficient_points" and refused.json["balance"] == 1000
    assert ledger_sum(guest) == 1000


@pytest.mark.parametrize("body", [
    {"points": 0, "booking_id": 1}, {"points": -5, "booking_id": 1}, {"points": "10", "booking_id": 1},
    {"points": 10}, {"booking_id": 1}, {"points": 10, "booking_id": 0}, {"points": 10, "booking_id": 1, "x": 1},
    {"points": 1.5, "booking_id": 1}, {"points": 10**12, "booking_id": 1},
])
def test_redemption_bodies_are_validated(client, booking, body):
    _, guest = booking
    response = client.post(f"{API}/redemptions", headers=headers_for(guest), json=body)
    assert response.status_code == 422 and response.json["code"] == "validation_failed"


def test_guests_who_have_not_enrolled_cannot_redeem(client, hotel):
    guest = make_guest()
    response = client.post(f"{API}/redemptions", headers=headers_for(guest), json={"points": 1, "booking_id": 1})
    assert response.status_code == 403 and response.json["code"] == "loyalty_membership_required"


@pytest.mark.slow
def test_parallel_redemptions_never_take_the_balance_below_zero(app, booking):
    stay, guest = booking  # 1000 points; 20 guests-worth of 150-point redemptions race for them
    headers = headers_for(guest)

    def attempt(n: int) -> tuple[int, dict]:
        response = app.test_client().post(f"{API}/redemptions", headers={**headers, "Idempotency-Key": f"race-{n}"},
                                          json={"points": 150, "booking_id": stay.id})
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(attempt, range(20)))

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * 6 + [409] * 14, statuses
    assert all(body["code"] == "insufficient_points" for status, body in results if status == 409)
    assert sorted(body["balance"] for status, body in results if status == 201) == [100, 250, 400, 550, 700, 850]
    assert ledger_sum(guest) == 100
    db.session.commit()
    assert services.balance(guest.id) == 100


# -- offers ------------------------------------------------------------------------------------------------------

def make_offer(**overrides):
    staff = make_staff(Role.CHAIN_ADMIN)
    with unit_of_work():
        return services.create_offer(staff=staff, **{"kind": "offer", "title": {"en": "Offer", "ru": "Предложение"},
                                                     **overrides})


def test_members_see_the_offers_of_their_tier_and_below(client, hotel):
    everyone = make_offer(title={"en": "Late checkout"}, kind="compliment")
    gold = make_offer(title={"en": "Suite upgrade"}, min_tier="gold")
    make_offer(title={"en": "Withdrawn"}, is_active=False)
    make_offer(title={"en": "Over"}, valid_until=clock.now() - timedelta(days=1))
    other_hotel = make_offer(title={"en": "Elsewhere"}, hotel_id=make_hotel().id)
    here = make_offer(title={"en": "Here"}, hotel_id=hotel.id)
    member, vip = make_guest(), make_guest()
    make_member(member)
    make_member(vip, tier="platinum")

    def titles(guest, query=""):
        response = client.get(f"{API}/offers{query}", headers=headers_for(guest))
        assert response.status_code == 200
        return [item["id"] for item in response.json["items"]]

    assert titles(member) == [here.id, other_hotel.id, everyone.id]
    assert titles(vip) == [here.id, other_hotel.id, gold.id, everyone.id]
    assert titles(vip, f"?hotel_id={hotel.id}") == [here.id, gold.id, everyone.id]
    outsider = client.get(f"{API}/offers", headers=headers_for(make_guest()))
    assert outsider.status_code == 403 and outsider.json["code"] == "loyalty_membership_required"
    assert client.get(f"{API}/offers?hotel_id=x", headers=headers_for(member)).status_code == 422


def test_marketers_manage_offers_and_other_roles_cannot(client, hotel):
    marketer = headers_for(make_staff(Role.MARKETER))
    body = {"kind": "offer", "title": {"en": "Spa -20%", "ru": "Спа -20%"}, "min_tier": "silver",
            "valid_until": "2030-01-01T00:00:00+00:00"}
    created = client.post(f"{STAFF_API}/offers", headers=marketer, json=body)
    assert created.status_code == 201 and created.json["min_tier"] == "silver" and created.json["is_active"] is True
    offer_id = created.json["id"]
    assert client.get(f"{STAFF_API}/offers", headers=marketer).json["items"][0]["id"] == offer_id
    patched = client.patch(f"{STAFF_API}/offers/{offer_id}", headers=marketer, json={"is_active": False})
    assert patched.status_code == 200 and patched.json["is_active"] is False
    assert client.patch(f"{STAFF_API}/offers/999999", headers=marketer, json={"is_active": False}).status_code == 404
    for bad in ({**body, "min_tier": "diamond"}, {**body, "kind": "coupon"}, {**body, "title": {"ru": "Только"}},
                {**body, "valid_from": "2031-01-01T00:00:00+00:00"}, {**body, "valid_until": "2030-01-01T00:00"}):
        response = client.post(f"{STAFF_API}/offers", headers=marketer, json=bad)
        assert response.status_code == 422, bad
    unmanaged = client.post(f"{STAFF_API}/offers", headers=marketer, json={**body, "hotel_id": hotel.id})
    assert unmanaged.status_code == 404  # a marketer without that hotel
    desk = headers_for(make_staff(Role.FRONT_DESK, hotels=[hotel]))
    assert client.post(f"{STAFF_API}/offers", headers=desk, json=body).json["code"] == "role_forbidden"
    assert client.get(f"{API}/offers", headers=marketer).json["code"] == "wrong_account_kind"


# -- goodwill ----------------------------------------------------------------------------------------------------

def test_the_front_desk_grants_goodwill_points_and_it_is_audited(client, hotel):
    guest = make_guest(hotels=[hotel])
    make_member(guest)
    desk = make_staff(Role.FRONT_DESK, hotels=[hotel])
    response = client.post(f"{STAFF_API}/goodwill", headers={**headers_for(desk), "Idempotency-Key": "gw-1"},
                           json={"guest_id": guest.id, "points": 700, "reason": "Noisy room on the first night"})
    assert response.status_code == 201
    assert response.json["points"] == 700 and response.json["hotel_id"] == hotel.id
    assert client.get(API, headers=headers_for(guest)).json["balance"] == 700
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "loyalty.goodwill_granted")).one()
    assert (entry.actor_id, entry.subject_id, entry.hotel_id) == (desk.id, guest.id, hotel.id)
    assert entry.detail["reason"] == "Noisy room on the first night" and entry.detail["points"] == 700
    ledger = client.get(f"{API}/ledger", headers=headers_for(guest)).json["items"]
    assert "reason" not in ledger[0] and ledger[0]["kind"] == "goodwill"


def test_goodwill_is_refused_for_guests_out_of_reach_non_members_and_wrong_roles(client, hotel):
    member = make_guest(hotels=[make_hotel()])  # known to another hotel only
    make_member(member)
    desk = headers_for(make_staff(Role.FRONT_DESK, hotels=[hotel]))
    body = {"guest_id": member.id, "points": 100, "reason": "Sorry"}
    assert client.post(f"{STAFF_API}/goodwill", headers=desk, json=body).status_code == 404
    assert client.post(f"{STAFF_API}/goodwill", headers=desk, json={**body, "guest_id": 99999}).status_code == 404
    chain_admin = headers_for(make_staff(Role.CHAIN_ADMIN))
    assert client.post(f"{STAFF_API}/goodwill", headers=chain_admin, json=body).status_code == 201
    outsider = make_guest(hotels=[hotel])
    refused = client.post(f"{STAFF_API}/goodwill", headers=desk, json={**body, "guest_id": outsider.id})
    assert refused.status_code == 409 and refused.json["code"] == "not_a_member"
    too_much = client.post(f"{STAFF_API}/goodwill", headers=chain_admin, json={**body, "points": 5001})
    assert too_much.status_code == 422
    for bad in ({**body, "points": 0}, {**body, "reason": ""}, {"guest_id": member.id, "points": 1}):
        assert client.post(f"{STAFF_API}/goodwill", headers=chain_admin, json=bad).status_code == 422, bad
    housekeeping = headers_for(make_staff(Role.HOUSEKEEPING, hotels=[hotel]))
    assert client.post(f"{STAFF_API}/goodwill", headers=housekeeping, json=body).json["code"] == "role_forbidden"
    guest_token = headers_for(member)
    assert client.post(f"{STAFF_API}/goodwill", headers=guest_token, json=body).json["code"] == "wrong_account_kind"


def test_the_front_desk_reads_a_guests_club_status_audited_and_only_for_guests_it_knows(client, hotel):
    guest = make_guest(hotels=[hotel])
    make_member(guest, tier="gold")
    give_points(guest, 250)
    desk = make_staff(Role.FRONT_DESK, hotels=[hotel])
    response = client.get(f"{STAFF_API}/members/{guest.id}", headers=headers_for(desk))
    assert response.status_code == 200
    assert response.json["tier"]["code"] == "gold" and response.json["balance"] == 250
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "loyalty.read", AuditEntry.subject_id == guest.id)) == 1
    stranger = make_guest(hotels=[make_hotel()])
    assert client.get(f"{STAFF_API}/members/{stranger.id}", headers=headers_for(desk)).status_code == 404
    non_member = make_guest(hotels=[hotel])
    assert client.get(f"{STAFF_API}/members/{non_member.id}", headers=headers_for(desk)).json["enrolled"] is False
    kitchen = headers_for(make_staff(Role.KITCHEN, hotels=[hotel]))
    assert client.get(f"{STAFF_API}/members/{guest.id}", headers=kitchen).status_code == 403
