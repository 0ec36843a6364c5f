"""Chain admins and hotel managers manage partners, offerings and partner API keys."""

from __future__ import annotations

from app.core.auth import Role
from app.extensions import db
from app.partners.models import ExperienceBooking
from tests.factories import headers_for, make_guest, make_hotel, make_room, make_room_type, make_staff, make_stay
from tests.partners.factories import make_offering, make_partner, make_slot

API = "/api/v1"
OFFERING = {
    "title": {"en": "Tea plantation tour", "ru": "Тур на чайную плантацию"},
    "description": {"en": "Tasting included"}, "meeting_point": {"en": "Main entrance"},
    "price": 320000, "duration_minutes": 240, "languages": ["ru", "en"], "tags": ["nature", "food"],
    "min_age": 6, "max_party_size": 8, "free_cancellation_hours": 48, "commission_bp": 2000,
}


def test_a_hotel_manager_adds_a_partner_an_offering_and_a_key_the_partner_then_uses(client):
    hotel = make_hotel()
    manager = headers_for(make_staff(Role.HOTEL_MANAGER, hotels=[hotel]))
    created = client.post(f"{API}/admin/partners", headers=manager, json={
        "name": "Sochi Tours", "kind": "tour_operator", "currency": "RUB", "hotel_ids": [hotel.id]})
    assert created.status_code == 201, created.json
    partner = created.json
    assert partner["commission_bp"] == 1500 and partner["hotel_ids"] == [hotel.id]

    offering = client.post(f"{API}/admin/partners/{partner['id']}/offerings", headers=manager, json=OFFERING)
    assert offering.status_code == 201, offering.json
    assert offering.json["currency"] == "RUB" and offering.json["effective_commission_bp"] == 2000

    issued = client.post(f"{API}/admin/partners/{partner['id']}/api-keys", headers=manager,
                         json={"name": "Sochi Tours booking system"})
    assert issued.status_code == 201
    key = {"X-API-Key": issued.json["api_key"]}
    mine = client.get(f"{API}/partner/offerings", headers=key).json["items"]
    assert [o["id"] for o in mine] == [offering.json["id"]]
    assert client.get(f"{API}/service-accounts/me", headers=key).json["partner_id"] == partner["id"]

    listed = client.get(f"{API}/hotels/{hotel.id}/experiences", headers={"Accept-Language": "ru"}).json["items"]
    assert [o["title"] for o in listed] == ["Тур на чайную плантацию"]

    withdrawn = client.patch(f"{API}/admin/offerings/{offering.json['id']}", headers=manager,
                             json={"is_active": False})
    assert withdrawn.status_code == 200
    assert client.get(f"{API}/hotels/{hotel.id}/experiences").json["items"] == []

    deactivated = client.patch(f"{API}/admin/partners/{partner['id']}", headers=manager, json={"is_active": False})
    assert deactivated.status_code == 200
    assert client.get(f"{API}/partner/offerings", headers=key).status_code == 403


def test_managers_see_only_partners_of_their_hotels_and_city_partners_are_for_chain_admins(client):
    mine, theirs = make_hotel(), make_hotel()
    manager = headers_for(make_staff(Role.HOTEL_MANAGER, hotels=[mine]))
    foreign = make_partner(hotels=[theirs])
    assert client.get(f"{API}/admin/partners/{foreign.id}", headers=manager).status_code == 404
    assert client.patch(f"{API}/admin/partners/{foreign.id}", headers=manager, json={"name": "x"}).status_code == 404
    assert client.post(f"{API}/admin/partners/{foreign.id}/api-keys", headers=manager,
                       json={"name": "k"}).status_code == 404
    assert client.patch(f"{API}/admin/offerings/{make_offering(foreign).id}", headers=manager,
                        json={"price": 1}).status_code == 404
    assert client.get(f"{API}/admin/partners", headers=manager).json["items"] == []

    other_hotel = client.post(f"{API}/admin/partners", headers=manager, json={
        "name": "X", "kind": "spa", "currency": "RUB", "hotel_ids": [theirs.id]})
    assert other_hotel.status_code == 422
    city_only = client.post(f"{API}/admin/partners", headers=manager, json={
        "name": "X", "kind": "spa", "currency": "RUB", "city": "Sochi"})
    assert city_only.status_code == 422 and city_only.json["code"] == "partner_scope_required"

    admin = headers_for(make_staff(Role.CHAIN_ADMIN))
    city_partner = client.post(f"{API}/admin/partners", headers=admin, json={
        "name": "Sochi Transfers", "kind": "transfer", "currency": "RUB", "city": "Sochi"})
    assert city_partner.status_code == 201
    assert len(client.get(f"{API}/admin/partners", headers=admin).json["items"]) == 2


def test_other_roles_and_guests_cannot_administer_partners(client):
    hotel = make_hotel()
    for account in (make_staff(Role.FRONT_DESK, hotels=[hotel]), make_staff(Role.CONCIERGE, hotels=[hotel]),
                    make_guest()):
        response = client.post(f"{API}/admin/partners", headers=headers_for(account), json={
            "name": "X", "kind": "spa", "currency": "RUB", "hotel_ids": [hotel.id]})
        assert response.status_code == 403


def test_offering_input_is_validated(client):
    hotel = make_hotel()
    manager = headers_for(make_staff(Role.HOTEL_MANAGER, hotels=[hotel]))
    partner = make_partner(hotels=[hotel])
    url = f"{API}/admin/partners/{partner.id}/offerings"
    for bad in ({"price": -1}, {"price": 1.5}, {"languages": []}, {"tags": ["gambling"]},
                {"title": {"ru": "Только русский"}}, {"min_age": 18, "max_age": 12}, {"surprise": 1}):
        response = client.post(url, headers=manager, json={**OFFERING, **bad})
        assert response.status_code == 422, bad


def test_a_commission_change_applies_to_new_bookings_only(client):
    hotel = make_hotel()
    partner = make_partner(hotels=[hotel], commission_bp=1000)
    offering = make_offering(partner, price=10000)
    slot = make_slot(offering)
    guest = make_guest()
    make_stay(guest, make_room(make_room_type(hotel)))
    body = {"hotel_id": hotel.id, "slot_id": slot.id, "party_size": 1, "language": "en", "payment": "at_partner"}
    first = client.post(f"{API}/experience-bookings", headers=headers_for(guest), json=body).json
    manager = headers_for(make_staff(Role.HOTEL_MANAGER, hotels=[hotel]))
    client.patch(f"{API}/admin/offerings/{offering.id}", headers=manager, json={"commission_bp": 2500})
    second = client.post(f"{API}/experience-bookings", headers=headers_for(guest), json=body).json
    rates = [db.session.get(ExperienceBooking, b["id"]).commission_amount for b in (first, second)]
    assert rates == [1000, 2500]
