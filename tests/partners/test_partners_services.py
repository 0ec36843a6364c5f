"""Rules: the last place under concurrent bookings, statement totals, commission, vouchers, signing, interests."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from app.core import clock
from app.core.auth import Role
from app.extensions import db
from app.partners.clients import sign
from app.partners.models import ExperienceBooking, ExperienceSlot
from app.partners.services import vouchers
from app.partners.services.bookings import commission
from app.partners.services.interests import interests_from
from tests.factories import headers_for, make_guest, make_hotel, make_room, make_room_type, make_staff, make_stay
from tests.partners.factories import make_offering, make_partner, make_slot, partner_headers

API = "/api/v1"


# -- the last place ----------------------------------------------------------------------------------------------

def _race(app, hotel, slot, guests, party_size):
    """Every guest books at the same moment (a barrier releases the threads together)."""
    headers = [headers_for(guest) for guest in guests]
    barrier = threading.Barrier(len(guests))

    def attempt(index: int):
        client = app.test_client()
        barrier.wait()
        response = client.post(f"{API}/experience-bookings", headers={**headers[index],
                                                                      "Idempotency-Key": f"race-{index}"}, json={
            "hotel_id": hotel.id, "slot_id": slot.id, "party_size": party_size, "language": "en",
            "payment": "room_folio"})
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(max_workers=len(guests)) as pool:
        return list(pool.map(attempt, range(len(guests))))


@pytest.mark.slow
@pytest.mark.parametrize(("capacity", "party_size", "winners"), [(3, 1, 3), (5, 2, 2)])
def test_concurrent_bookings_never_oversell_a_slot(app, capacity, party_size, winners):
    hotel = make_hotel()
    room_type = make_room_type(hotel)
    slot = make_slot(make_offering(make_partner(hotels=[hotel]), price=1000), capacity=capacity)
    guests = [make_guest() for _ in range(8)]
    stays = [make_stay(guest, make_room(room_type)) for guest in guests]

    results = _race(app, hotel, slot, guests, party_size)

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * winners + [409] * (len(guests) - winners), results
    assert {body["code"] for status, body in results if status == 409} == {"sold_out"}
    db.session.expire_all()
    assert db.session.get(ExperienceSlot, slot.id).booked == winners * party_size
    assert db.session.query(ExperienceBooking).count() == winners
    charged = [stay.id for stay in stays if db.session.get(type(stay), stay.id).folio.charges]
    assert len(charged) == winners  # only winners are charged, each once


# -- statements --------------------------------------------------------------------------------------------------

def test_monthly_statement_matches_hand_computed_totals(client):
    """July 2026, partner commission 15 %, one offering at 10 % of its own:
    1. A x2, room  500 000, commission 75 000
    2. B x3, partner 3 x 99 999 = 299 997, commission 29 999.7 -> 30 000 (half up)
    3. A x1, partner 250 000 on 31 July 23:30 UTC, commission 37 500
    excluded: a cancelled July booking, a declined one, and one on 1 August 00:00 UTC.
    gross 1 049 997; commission 142 500; net 907 497; hotel collected 500 000; partner 549 997;
    the hotel pays the partner 500 000 - 142 500 = 357 500."""
    with clock.frozen(datetime(2026, 6, 20, 9, 0, tzinfo=UTC)):
        hotel = make_hotel()
        partner = make_partner(hotels=[hotel], commission_bp=1500)
        a = make_offering(partner, price=250000)
        b = make_offering(partner, price=99999, commission_bp=1000)
        early = make_slot(a, starts_at=datetime(2026, 7, 5, 8, 0, tzinfo=UTC))
        b_slot = make_slot(b, starts_at=datetime(2026, 7, 10, 8, 0, tzinfo=UTC))
        last_minute = make_slot(a, starts_at=datetime(2026, 7, 31, 23, 30, tzinfo=UTC))
        august = make_slot(a, starts_at=datetime(2026, 8, 1, 0, 0, tzinfo=UTC))
        guest = make_guest()
        make_stay(guest, make_room(make_room_type(hotel)))
        key = partner_headers(partner)

        def book(slot, party_size, payment):
            response = client.post(f"{API}/experience-bookings", headers=headers_for(guest), json={
                "hotel_id": hotel.id, "slot_id": slot.id, "party_size": party_size, "language": "en",
                "payment": payment})
            assert response.status_code == 201, response.json
            return response.json["id"]

        book(early, 2, "room_folio")
        book(b_slot, 3, "at_partner")
        book(last_minute, 1, "at_partner")
        book(august, 1, "at_partner")
        cancelled = book(early, 1, "room_folio")
        declined = book(early, 1, "at_partner")
        client.post(f"{API}/experience-bookings/{cancelled}/actions/cancel", headers=headers_for(guest))
        client.post(f"{API}/partner/bookings/{declined}/actions/decline", headers=key, json={})

        statement = client.get(f"{API}/partner/statements", query_string={"month": "2026-07"}, headers=key).json
    assert {k: statement[k] for k in ("month", "currency", "bookings", "places", "gross", "commission",
                                      "net_to_partner", "collected_by_hotel", "collected_by_partner",
                                      "payable_to_partner")} == {
        "month": "2026-07", "currency": "RUB", "bookings": 3, "places": 6, "gross": 1049997, "commission": 142500,
        "net_to_partner": 907497, "collected_by_hotel": 500000, "collected_by_partner": 549997,
        "payable_to_partner": 357500,
    }
    assert [(line["total_amount"], line["commission_amount"], line["payment"]) for line in statement["lines"]] == [
        (500000, 75000, "room_folio"), (299997, 30000, "at_partner"), (250000, 37500, "at_partner")]

    manager = make_staff(Role.HOTEL_MANAGER, hotels=[hotel])
    staff_view = client.get(f"{API}/admin/partners/{partner.id}/statements", query_string={"month": "2026-07"},
                            headers=headers_for(manager)).json
    assert staff_view == statement
    outsider = make_staff(Role.HOTEL_MANAGER, hotels=[make_hotel()])
    assert client.get(f"{API}/admin/partners/{partner.id}/statements", query_string={"month": "2026-07"},
                      headers=headers_for(outsider)).status_code == 404
    for bad in ("2026-13", "July", "2026-7", ""):
        assert client.get(f"{API}/partner/statements", query_string={"month": bad}, headers=key).status_code == 422


# -- small rules -------------------------------------------------------------------------------------------------

def test_commission_rounds_half_up_in_minor_units():
    assert commission(299997, 1000) == 30000
    assert commission(5, 1000) == 1  # 0.5 -> 1
    assert commission(4, 1000) == 0
    assert commission(250000, 1500) == 37500


def test_voucher_codes_are_signed_with_the_configured_key(app, monkeypatch):
    code = vouchers.voucher_code(42)
    assert vouchers.booking_id_from(code) == 42
    assert vouchers.booking_id_from(code.lower()) == 42
    monkeypatch.setitem(app.config, "VOUCHER_SIGNING_KEY", "another key entirely, of some length")
    assert vouchers.booking_id_from(code) is None  # made with another key: a forgery
    assert vouchers.booking_id_from("EXP-99999999999999999999-" + "A" * 20) is None


def test_signature_matches_the_standard_webhooks_example():
    # The example of the Standard Webhooks reference libraries.
    assert sign(msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp=1614265330, body='{"test": 2432232314}',
                secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_interests_come_from_diet_notes_and_children():
    assert interests_from(diet=["Vegetarian", "low-salt"], notes="Любим вино и море; not the season",
                          has_child=False) == {"vegetarian", "wine", "sea"}
    assert interests_from(diet=[], notes="party barbecue in the city", has_child=True) == {"kids", "family"}
    assert interests_from(diet=["gluten-free"], notes=None, has_child=False) == {"gluten_free"}


def test_a_slot_in_the_past_or_too_far_ahead_is_refused(client):
    partner = make_partner(hotels=[make_hotel()])
    offering = make_offering(partner)
    key = partner_headers(partner)
    for when in (clock.now() - timedelta(minutes=1), clock.now() + timedelta(days=500)):
        response = client.post(f"{API}/partner/slots", headers=key, json={
            "offering_id": offering.id, "starts_at": when.isoformat(), "capacity": 5})
        assert response.status_code == 422
