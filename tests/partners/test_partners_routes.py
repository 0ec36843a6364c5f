"""Guests browse and book experiences; partners confirm, decline and redeem through their API key."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.core import clock
from app.core.auth import Role
from app.core.db import unit_of_work
from app.core.events import events_after
from app.extensions import db
from app.guests.models import ConsentPurpose, FamilyMember, GuestPreferences
from app.guests.services.profile import record_consent
from app.partners.models import ExperienceSlot, WebhookMessage
from tests.factories import headers_for, make_guest, make_hotel, make_room, make_room_type, make_staff, make_stay
from tests.partners.factories import make_offering, make_partner, make_slot, partner_headers

API = "/api/v1"


@pytest.fixture
def world():
    """A hotel in Sochi with a partner linked to it, an offering with a slot, and a guest in house."""
    hotel = make_hotel(city="Sochi")
    room = make_room(make_room_type(hotel))
    partner = make_partner(hotels=[hotel])
    offering = make_offering(partner, price=250000)
    slot = make_slot(offering, capacity=4)
    guest = make_guest(phone="+79991234567")
    stay = make_stay(guest, room)
    return {"hotel": hotel, "partner": partner, "offering": offering, "slot": slot, "guest": guest, "stay": stay}


def book(client, world, *, party_size=2, payment="room_folio", key=None, **extra):
    body = {"hotel_id": world["hotel"].id, "slot_id": world["slot"].id, "party_size": party_size, "language": "ru",
            "payment": payment, **extra}
    headers = headers_for(world["guest"])
    if key:
        headers["Idempotency-Key"] = key
    return client.post(f"{API}/experience-bookings", json=body, headers=headers)


def folio(client, world):
    return client.get(f"{API}/stays/{world['stay'].id}/folio", headers=headers_for(world["guest"])).json


# -- browsing ----------------------------------------------------------------------------------------------------

def test_guest_browses_experiences_near_the_hotel_with_filters(client, world):
    hotel, partner = world["hotel"], world["partner"]
    city_partner = make_partner(city="sochi", kind="restaurant")  # no hotel link, same city (any case)
    dinner = make_offering(city_partner, price=90000, languages=["ru"])
    make_slot(dinner, starts_at=clock.now() + timedelta(days=5))
    elsewhere = make_offering(make_partner(hotels=[make_hotel(city="Moscow")]))
    make_slot(elsewhere)
    make_offering(partner, is_active=False)

    page = client.get(f"{API}/hotels/{hotel.id}/experiences", headers={"Accept-Language": "ru"}).json
    assert {item["id"] for item in page["items"]} == {world["offering"].id, dinner.id}
    mine = next(item for item in page["items"] if item["id"] == world["offering"].id)
    assert mine["title"].startswith("Экскурсия") and mine["price"] == 250000 and mine["currency"] == "RUB"

    def ids(**query):
        response = client.get(f"{API}/hotels/{hotel.id}/experiences", query_string=query)
        assert response.status_code == 200, response.json
        return {item["id"] for item in response.json["items"]}

    assert ids(language="en") == {world["offering"].id}
    assert ids(max_price=100000) == {dinner.id}
    assert ids(min_price=100000) == {world["offering"].id}
    assert ids(kind="restaurant") == {dinner.id}
    def hotel_day(days_ahead: int) -> str:  # the filter's day is the hotel's (Sochi: UTC+3), not UTC's
        return (clock.now() + timedelta(days=days_ahead)).astimezone(ZoneInfo(hotel.time_zone)).date().isoformat()

    assert ids(date=hotel_day(5)) == {dinner.id}
    assert ids(date=hotel_day(3)) == {world["offering"].id}
    bad = client.get(f"{API}/hotels/{hotel.id}/experiences", query_string={"colour": "red"})
    assert bad.status_code == 422
    assert client.get(f"{API}/hotels/999999/experiences").status_code == 404


def test_a_full_slot_does_not_count_for_the_date_filter(client, world):
    with unit_of_work():
        db.session.get(ExperienceSlot, world["slot"].id).booked = 4
    day = world["slot"].starts_at.date().isoformat()
    response = client.get(f"{API}/hotels/{world['hotel'].id}/experiences", query_string={"date": day})
    assert response.json["items"] == []


def test_recommendations_come_from_the_profile_only_with_consent_to_profiling(client, world):
    hotel, partner, guest = world["hotel"], world["partner"], world["guest"]
    wine = make_offering(partner, tags=["wine", "food"])
    kids = make_offering(partner, tags=["kids"])
    make_offering(partner, tags=["hiking"])
    with unit_of_work():
        db.session.add(GuestPreferences(guest_id=guest.id, diet=["vegetarian"], allergies=["nuts"],
                                        notes="We love local wine"))
        db.session.add(FamilyMember(guest_id=guest.id, relation="child", first_name="Masha"))
    url = f"{API}/hotels/{hotel.id}/experiences"

    without_consent = client.get(url, headers=headers_for(guest)).json["items"]
    assert not any(item["recommended"] for item in without_consent)
    assert client.get(url, query_string={"recommended": "true"}, headers=headers_for(guest)).json["items"] == []

    with unit_of_work():
        record_consent(guest_id=guest.id, purpose=ConsentPurpose.PROFILING, granted=True, source="app")
    items = client.get(url, headers=headers_for(guest)).json["items"]
    assert {item["id"] for item in items if item["recommended"]} == {wine.id, kids.id}
    only = client.get(url, query_string={"recommended": "true"}, headers=headers_for(guest)).json["items"]
    assert {item["id"] for item in only} == {wine.id, kids.id}
    anonymous = client.get(url).json["items"]
    assert not any(item["recommended"] for item in anonymous)


def test_experience_and_its_slots(client, world):
    offering = world["offering"]
    make_slot(offering, starts_at=clock.now() - timedelta(hours=1))  # past: not listed
    make_slot(offering, status="closed")  # closed: not listed
    shown = client.get(f"{API}/experiences/{offering.id}").json
    assert shown["meeting_point"] == "Hotel lobby" and shown["languages"] == ["en", "ru"]
    slots = client.get(f"{API}/experiences/{offering.id}/slots").json["items"]
    assert [(s["id"], s["available"]) for s in slots] == [(world["slot"].id, 4)]
    assert client.get(f"{API}/experiences/999999").status_code == 404


# -- booking and the folio ---------------------------------------------------------------------------------------

def test_booking_to_the_room_posts_one_charge_and_a_replay_creates_nothing(client, world):
    first = book(client, world, key="exp-1")
    assert first.status_code == 201, first.json
    replay = book(client, world, key="exp-1")
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json == first.json
    booking = first.json
    assert booking["status"] == "pending" and booking["total_amount"] == 500000 and booking["stay_id"] == \
        world["stay"].id
    assert booking["voucher_code"].startswith(f"EXP-{booking['id']}-")
    assert booking["title"] == world["offering"].title["en"] and booking["party_size"] == 2

    charges = folio(client, world)["charges"]
    assert [(c["kind"], c["amount"]) for c in charges] == [("excursion", 500000)]
    slot = client.get(f"{API}/experiences/{world['offering'].id}/slots").json["items"][0]
    assert slot["available"] == 2
    assert [e.type for e in events_after(0)] == ["folio.charge_posted", "experience_booking.created"]


def test_charging_the_room_needs_a_stay_in_house_at_that_hotel(client, world):
    other_hotel_guest = make_guest()
    make_stay(other_hotel_guest, make_room(make_room_type(make_hotel(city="Sochi"))))
    not_in_house = make_guest()
    make_stay(not_in_house, make_room(make_room_type(world["hotel"])), status="confirmed")
    for guest in (other_hotel_guest, not_in_house):
        response = book(client, {**world, "guest": guest})
        assert response.status_code == 409 and response.json["code"] == "stay_not_in_house"
    paid_at_partner = book(client, {**world, "guest": not_in_house}, payment="at_partner")
    assert paid_at_partner.status_code == 201 and paid_at_partner.json["stay_id"] is None


def test_booking_rules_language_party_size_and_age_limits(client, world):
    assert book(client, world, language="de").json["code"] == "language_not_offered"
    too_many = book(client, world, party_size=5)
    assert too_many.status_code == 409 and too_many.json["code"] == "sold_out"
    with unit_of_work():
        offering = db.session.merge(world["offering"])
        offering.min_age = 12
    young = book(client, world, participant_ages=[35, 8])
    assert young.status_code == 422 and young.json["code"] == "age_limit"
    assert book(client, world, participant_ages=[35]).status_code == 422  # one age per person
    assert book(client, world, participant_ages=[35, 13]).status_code == 201
    assert book(client, world, party_size=0).status_code == 422
    assert book(client, world, slot_id=999999).status_code == 404


def test_a_slot_of_a_partner_far_away_cannot_be_booked_through_this_hotel(client, world):
    far = make_slot(make_offering(make_partner(hotels=[make_hotel(city="Moscow")])))
    response = book(client, world, slot_id=far.id)
    assert response.status_code == 404


def test_guest_lists_and_reads_only_their_own_bookings(client, world):
    booking = book(client, world).json
    mine = client.get(f"{API}/experience-bookings", headers=headers_for(world["guest"])).json["items"]
    assert [b["id"] for b in mine] == [booking["id"]]
    stranger = make_guest()
    assert client.get(f"{API}/experience-bookings/{booking['id']}", headers=headers_for(stranger)).status_code == 404
    cancel = client.post(f"{API}/experience-bookings/{booking['id']}/actions/cancel", headers=headers_for(stranger))
    assert cancel.status_code == 404


# -- cancellation policy -----------------------------------------------------------------------------------------

def test_cancel_within_the_policy_refunds_the_folio_and_frees_the_places(client, world):
    booking = book(client, world).json
    url = f"{API}/experience-bookings/{booking['id']}/actions/cancel"
    cancelled = client.post(url, headers=headers_for(world["guest"]))
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert cancelled.json["refunded_amount"] == 500000
    account = folio(client, world)
    assert [c["amount"] for c in account["charges"]] == [500000, -500000] and account["balance"] == 0
    assert client.get(f"{API}/experiences/{world['offering'].id}/slots").json["items"][0]["available"] == 4
    again = client.post(url, headers=headers_for(world["guest"]))
    assert again.status_code == 409 and again.json["code"] == "booking_not_cancellable"
    assert len(folio(client, world)["charges"]) == 2


def test_cancel_after_the_deadline_is_refused(client, world):
    booking = book(client, world).json
    deadline = datetime.fromisoformat(booking["free_cancellation_until"])
    assert deadline == world["slot"].starts_at - timedelta(hours=24)
    with clock.frozen(deadline + timedelta(minutes=1)):
        late = client.post(f"{API}/experience-bookings/{booking['id']}/actions/cancel",
                           headers=headers_for(world["guest"]))
    assert late.status_code == 409 and late.json["code"] == "cancellation_window_closed"
    assert folio(client, world)["balance"] == 500000
    with clock.frozen(deadline - timedelta(minutes=1)):
        in_time = client.post(f"{API}/experience-bookings/{booking['id']}/actions/cancel",
                              headers=headers_for(world["guest"]))
    assert in_time.status_code == 200


# -- the partner API ---------------------------------------------------------------------------------------------

def test_partner_sees_only_name_party_language_and_contact_if_agreed(client, world):
    private = book(client, world).json
    shared = book(client, world, share_contact=True, payment="at_partner").json
    headers = partner_headers(world["partner"])
    listed = client.get(f"{API}/partner/bookings", headers=headers).json["items"]
    assert [b["id"] for b in listed] == [shared["id"], private["id"]]
    first = client.get(f"{API}/partner/bookings/{private['id']}", headers=headers).json
    guest = world["guest"]
    assert first["lead_name"] == f"{guest.first_name} {guest.last_name}" and first["party_size"] == 2
    assert first["language"] == "ru" and first["contact"] is None
    assert set(first) == {"id", "offering_id", "slot_id", "starts_at", "lead_name", "party_size", "language",
                          "contact", "status", "payment", "total_amount", "currency", "commission_amount",
                          "redeemed_at", "created_at"}
    second = client.get(f"{API}/partner/bookings/{shared['id']}", headers=headers).json
    assert second["contact"] == {"phone": "+79991234567", "email": guest.email}


def test_partner_confirms_and_declines_with_its_key_and_a_foreign_key_gets_404(client, world):
    one, two = book(client, world, party_size=1).json, book(client, world, party_size=1).json
    headers = partner_headers(world["partner"])
    foreign = partner_headers(make_partner(hotels=[world["hotel"]]))
    for action in ("confirm", "decline"):
        refused = client.post(f"{API}/partner/bookings/{one['id']}/actions/{action}", headers=foreign, json={})
        assert refused.status_code == 404
    assert client.get(f"{API}/partner/bookings/{one['id']}", headers=foreign).status_code == 404
    assert client.get(f"{API}/partner/bookings", headers=foreign).json["items"] == []

    confirmed = client.post(f"{API}/partner/bookings/{one['id']}/actions/confirm", headers=headers)
    assert confirmed.status_code == 200 and confirmed.json["status"] == "confirmed"
    declined = client.post(f"{API}/partner/bookings/{two['id']}/actions/decline", headers=headers,
                           json={"reason": "Boat under repair"})
    assert declined.status_code == 200 and declined.json["status"] == "declined"
    assert [c["amount"] for c in folio(client, world)["charges"]] == [250000, 250000, -250000]
    late = client.post(f"{API}/partner/bookings/{one['id']}/actions/decline", headers=headers, json={})
    assert late.status_code == 409 and late.json["code"] == "booking_not_pending"
    mine = client.get(f"{API}/experience-bookings/{two['id']}", headers=headers_for(world["guest"])).json
    assert mine["status"] == "declined"


def test_a_booking_the_partner_leaves_unanswered_is_declined_for_it_and_the_guest_told(client, world):
    from app.partners import jobs
    from app.push.services.inbox import queue_event_notifications

    guest_headers, partner = headers_for(world["guest"]), partner_headers(world["partner"])
    endpoint = client.post(f"{API}/partner/webhooks", json={"url": "https://partner.example/hook"}, headers=partner)
    assert endpoint.status_code == 201, endpoint.json
    silent = book(client, world, party_size=2).json
    answered = book(client, world, party_size=1).json
    client.post(f"{API}/partner/bookings/{answered['id']}/actions/confirm", headers=partner)
    made_at = datetime.fromisoformat(silent["created_at"])
    assert datetime.fromisoformat(silent["confirm_by"]) == made_at + timedelta(hours=24)  # the slot is in 3 days
    slot_url = f"{API}/experiences/{world['offering'].id}/slots"

    with clock.frozen(made_at + timedelta(hours=23, minutes=59)):
        assert jobs.decline_unanswered_bookings() == 0
    with clock.frozen(made_at + timedelta(hours=24, minutes=1)):
        assert jobs.decline_unanswered_bookings() == 1
        assert jobs.decline_unanswered_bookings() == 0  # once

    mine = client.get(f"{API}/experience-bookings/{silent['id']}", headers=guest_headers).json
    assert mine["status"] == "declined" and mine["declined_at"] and mine["confirm_by"] is None
    other = client.get(f"{API}/experience-bookings/{answered['id']}", headers=guest_headers).json
    assert other["status"] == "confirmed" and other["confirm_by"] is None
    assert [c["amount"] for c in folio(client, world)["charges"]] == [500000, 250000, -500000]
    assert client.get(slot_url).json["items"][0]["available"] == 3  # the two places are free again
    seen = client.get(f"{API}/partner/bookings/{silent['id']}", headers=partner).json
    assert seen["status"] == "declined"
    late = client.post(f"{API}/partner/bookings/{silent['id']}/actions/confirm", headers=partner)
    assert late.status_code == 409 and late.json["code"] == "booking_not_pending"
    told = [(m.event_type, json.loads(m.body)["data"]["id"]) for m in db.session.scalars(
        select(WebhookMessage).where(WebhookMessage.partner_id == world["partner"].id).order_by(WebhookMessage.id))]
    assert told[-1] == ("experience_booking.declined", silent["id"])

    with unit_of_work():
        queue_event_notifications()
    inbox = client.get(f"{API}/me/inbox", headers=guest_headers).json["items"]
    titles = [item["title"] for item in inbox if item["category"] == "booking"]
    assert titles == ["Excursion not available", "Excursion confirmed"]  # newest first


def test_a_pending_booking_waits_for_its_partner_no_later_than_the_start(client, world):
    from app.partners import jobs

    soon = make_slot(world["offering"], starts_at=clock.now() + timedelta(hours=2), capacity=2)
    booking = book(client, {**world, "slot": soon}, party_size=1, payment="at_partner").json
    assert datetime.fromisoformat(booking["confirm_by"]) == soon.starts_at
    with clock.frozen(soon.starts_at - timedelta(minutes=1)):
        assert jobs.decline_unanswered_bookings() == 0
    with clock.frozen(soon.starts_at + timedelta(minutes=1)):
        assert jobs.decline_unanswered_bookings() == 1
    mine = client.get(f"{API}/experience-bookings/{booking['id']}", headers=headers_for(world["guest"])).json
    assert mine["status"] == "declined" and mine["refunded_amount"] == 0  # nothing was charged to the room


def test_partner_endpoints_need_a_partner_key(client, world):
    assert client.get(f"{API}/partner/bookings").status_code == 401
    assert client.get(f"{API}/partner/bookings", headers={"X-API-Key": "hk_nope.nope"}).status_code == 401
    staff = headers_for(make_staff(Role.CHAIN_ADMIN))
    assert client.get(f"{API}/partner/bookings", headers=staff).status_code == 401
    with unit_of_work():
        from app.identity import services as identity

        _, bridge_key = identity.create_api_key(name="bridge", kind=identity.ServiceKind.BRIDGE)
    assert client.get(f"{API}/partner/bookings", headers={"X-API-Key": bridge_key}).status_code == 403


def test_partner_manages_slots_and_capacity_never_drops_below_booked(client, world):
    headers = partner_headers(world["partner"])
    book(client, world, party_size=3)
    slot_url = f"{API}/partner/slots/{world['slot'].id}"
    too_small = client.patch(slot_url, json={"capacity": 2}, headers=headers)
    assert too_small.status_code == 409 and too_small.json["code"] == "capacity_below_booked"
    grown = client.patch(slot_url, json={"capacity": 8}, headers=headers).json
    assert (grown["capacity"], grown["booked"], grown["available"]) == (8, 3, 5)
    closed = client.patch(slot_url, json={"status": "closed"}, headers=headers).json
    assert closed["available"] == 0
    assert book(client, world, party_size=1).json["code"] == "slot_closed"

    starts = (clock.now() + timedelta(days=10)).replace(microsecond=0)
    created = client.post(f"{API}/partner/slots", headers=headers, json={
        "offering_id": world["offering"].id, "starts_at": starts.isoformat(), "capacity": 6})
    assert created.status_code == 201 and created.json["available"] == 6
    naive = client.post(f"{API}/partner/slots", headers=headers, json={
        "offering_id": world["offering"].id, "starts_at": "2030-01-01T10:00:00", "capacity": 6})
    assert naive.status_code == 422
    foreign = partner_headers(make_partner(hotels=[world["hotel"]]))
    assert client.patch(slot_url, json={"capacity": 9}, headers=foreign).status_code == 404
    assert client.post(f"{API}/partner/slots", headers=foreign, json={
        "offering_id": world["offering"].id, "starts_at": starts.isoformat(), "capacity": 6}).status_code == 404
    listed = client.get(f"{API}/partner/slots", headers=headers,
                        query_string={"offering_id": world["offering"].id}).json["items"]
    assert [s["id"] for s in listed] == [world["slot"].id, created.json["id"]]


# -- vouchers ----------------------------------------------------------------------------------------------------

def test_a_voucher_is_verified_and_redeemed_once_and_forgeries_are_refused(client, world):
    booking = book(client, world).json
    code = booking["voucher_code"]
    headers = partner_headers(world["partner"])
    checked = client.get(f"{API}/partner/vouchers/{code}", headers=headers)
    assert checked.status_code == 200 and checked.json["voucher_state"] == "valid"
    assert checked.json["id"] == booking["id"]
    assert client.get(f"{API}/partner/vouchers/{code.lower()}", headers=headers).status_code == 200

    booking_id, signature = booking["id"], code.rsplit("-", 1)[1]
    other = book(client, world, party_size=1).json
    forgeries = [
        f"EXP-{other['id']}-{signature}",  # a real signature moved to another booking
        f"EXP-{booking_id}-{'A' * 20}",  # an invented signature
        code[:-1] + ("A" if code[-1] != "A" else "B"),  # one character changed
        "EXP-1", "hello",
    ]
    for forged in forgeries:
        refused = client.post(f"{API}/partner/vouchers/{forged}/redeem", headers=headers)
        assert refused.status_code == 404 and refused.json["code"] == "voucher_invalid", forged

    redeemed = client.post(f"{API}/partner/vouchers/{code}/redeem", headers=headers)
    assert redeemed.status_code == 200 and redeemed.json["voucher_state"] == "redeemed"
    assert redeemed.json["status"] == "confirmed"
    replayed = client.post(f"{API}/partner/vouchers/{code}/redeem", headers=headers)
    assert replayed.status_code == 409 and replayed.json["code"] == "voucher_already_redeemed"
    foreign = partner_headers(make_partner(hotels=[world["hotel"]]))
    assert client.post(f"{API}/partner/vouchers/{code}/redeem", headers=foreign).status_code == 404
    cancel = client.post(f"{API}/experience-bookings/{booking_id}/actions/cancel", headers=headers_for(world["guest"]))
    assert cancel.status_code == 409  # a used voucher cannot be cancelled


def test_a_cancelled_booking_voucher_is_void(client, world):
    booking = book(client, world).json
    client.post(f"{API}/experience-bookings/{booking['id']}/actions/cancel", headers=headers_for(world["guest"]))
    headers = partner_headers(world["partner"])
    assert client.get(f"{API}/partner/vouchers/{booking['voucher_code']}", headers=headers).json[
        "voucher_state"] == "void"
    refused = client.post(f"{API}/partner/vouchers/{booking['voucher_code']}/redeem", headers=headers)
    assert refused.status_code == 409 and refused.json["code"] == "voucher_not_valid"
