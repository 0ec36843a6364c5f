"""Factories: make_hotel(), make_room_type(), make_room(), make_staff(), make_guest(), each committed, overridable."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import count
from typing import Any

from app.bookings.models import Booking, Folio
from app.core import clock
from app.core.auth import PrincipalKind, Role
from app.core.db import unit_of_work
from app.extensions import db
from app.guests.models import Guest, GuestHotelLink, GuestSource
from app.hotels.models import Chain, Hotel, Room, RoomType, Season
from app.identity import services as identity
from app.identity.services import ClientInfo
from app.staff.models import StaffMember

_seq = count(1)
PASSWORD = "correct horse battery"


def make_chain(**overrides: Any) -> Chain:
    n = next(_seq)
    with unit_of_work():
        chain = Chain(**{"code": f"chain{n}", "name": f"Chain {n}", **overrides})
        db.session.add(chain)
    return chain


def make_hotel(**overrides: Any) -> Hotel:
    n = next(_seq)
    chain_id = overrides.pop("chain_id", None) or make_chain().id
    values = {
        "chain_id": chain_id, "code": f"hotel{n}", "name": {"en": f"Hotel {n}", "ru": f"Отель {n}"},
        "city": "Sochi", "country": "RU", "time_zone": "Europe/Moscow", "currency": "RUB",
    }
    with unit_of_work():
        hotel = Hotel(**{**values, **overrides})
        hotel.seasons = [Season(kind="high", start_month=4, start_day=15, end_month=10, end_day=15)]
        db.session.add(hotel)
    return hotel


def make_room_type(hotel: Hotel, **overrides: Any) -> RoomType:
    n = next(_seq)
    values = {
        "hotel_id": hotel.id, "code": f"type{n}", "name": {"en": f"Room type {n}", "ru": f"Тип номера {n}"},
        "max_occupancy": 2, "bed_type": "double", "size_m2": 25, "amenities": ["wifi"],
        "photos": [f"https://example.com/rooms/{n}.jpg"],
    }
    with unit_of_work():
        room_type = RoomType(**{**values, **overrides})
        db.session.add(room_type)
    return room_type


def make_room(room_type: RoomType, **overrides: Any) -> Room:
    n = next(_seq)
    values = {"hotel_id": room_type.hotel_id, "room_type_id": room_type.id, "number": str(100 + n), "floor": 1,
              "features": []}
    with unit_of_work():
        room = Room(**{**values, **overrides})
        db.session.add(room)
    return room


def make_staff(role: Role = Role.FRONT_DESK, hotels: list[Hotel] | None = None, **overrides: Any) -> StaffMember:
    n = next(_seq)
    with unit_of_work():
        staff = StaffMember(**{"email": f"staff{n}@example.com", "full_name": f"Staff {n}", "role": role.value,
                               **overrides})
        staff.hotels = [db.session.merge(hotel) for hotel in hotels or []]
        identity.set_password(staff, PASSWORD)
        db.session.add(staff)
    return staff


def make_guest(hotels: list[Hotel] | None = None, password: str | None = PASSWORD, **overrides: Any) -> Guest:
    n = next(_seq)
    with unit_of_work():
        guest = Guest(**{"email": f"guest{n}@example.com", "first_name": "Anna", "last_name": f"Guest{n}",
                         "language": "en", "source": GuestSource.APP.value, **overrides})
        if password:
            identity.set_password(guest, password)
        db.session.add(guest)
        db.session.flush()
        for hotel in hotels or []:
            db.session.add(GuestHotelLink(guest_id=guest.id, hotel_id=hotel.id, reason="booking"))
    return guest


def headers_for(account: Guest | StaffMember) -> dict[str, str]:
    kind = PrincipalKind.STAFF if isinstance(account, StaffMember) else PrincipalKind.GUEST
    with unit_of_work():
        pair = identity.open_session(kind=kind, principal_id=account.id, method="password", client=ClientInfo())
    return {"Authorization": f"Bearer {pair.access_token}"}


# -- bookings ------------------------------------------------------------------------------------------------------

def make_stay(guest: Guest, room: Room, *, status: str = "in_house", check_in: date | None = None, nights: int = 3,
              **overrides: Any) -> Booking:
    """A booking of `room` for `guest`, by default checked in today (an in-house stay with an open folio)."""
    n = next(_seq)
    arrival = check_in or clock.now().date()
    values = {
        "reference": f"T{n:07d}", "guest_id": guest.id, "hotel_id": room.hotel_id, "room_type_id": room.room_type_id,
        "room_id": room.id, "check_in": arrival, "check_out": arrival + timedelta(days=nights), "status": status,
        "currency": "RUB", "total_amount": 0, "checked_in_at": clock.now() if status == "in_house" else None,
    }
    with unit_of_work():
        booking = Booking(**{**values, **overrides})
        db.session.add(booking)
        db.session.flush()
        db.session.add(Folio(booking_id=booking.id, currency=booking.currency))
        db.session.merge(GuestHotelLink(guest_id=guest.id, hotel_id=room.hotel_id, reason="booking"))
    return booking


# -- loyalty -------------------------------------------------------------------------------------------------------

def make_member(guest: Guest, *, tier: str | None = None, referral_code: str | None = None) -> Any:
    """Enrol `guest` in the loyalty club (through the service), optionally placing them straight in `tier`."""
    from app.loyalty import services as loyalty
    from app.loyalty.models import LoyaltyMember

    with unit_of_work():
        loyalty.enrol(guest_id=guest.id, referral_code=referral_code)
        member = db.session.get(LoyaltyMember, guest.id)
        if tier:
            member.tier = tier
    return member


def give_points(guest: Guest, points: int, *, key: str | None = None) -> Any:
    """Award `points` to a member now (a goodwill-like award without staff), expiring after the program's period."""
    from app.loyalty.models import EntryKind
    from app.loyalty.services.ledger import award

    with unit_of_work():
        return award(guest_id=guest.id, kind=EntryKind.GOODWILL, points=points, dedupe_key=key)


# -- push (app/push) -----------------------------------------------------------------------------------------------

def make_push_device(guest: Guest, *, token: str | None = None, **overrides: Any) -> Any:
    """A registered device of `guest` (seen now) with a unique FCM-looking token."""
    from app.push.models import Device

    n = next(_seq)
    with unit_of_work():
        device = Device(**{"guest_id": guest.id, "token": token or f"fcm-token-{n:06d}-abcdefghij", "platform": "ios",
                           "language": guest.language, "last_seen_at": clock.now(), **overrides})
        db.session.add(device)
    return device


def give_consent(guest: Guest, purpose: str = "marketing_push", granted: bool = True) -> None:
    """Record a consent decision as the app would (the latest record per purpose counts)."""
    from app.guests.models import ConsentRecord

    with unit_of_work():
        db.session.add(ConsentRecord(guest_id=guest.id, purpose=purpose, granted=granted, policy_version="2026-11",
                                     source="app"))


# -- requests ------------------------------------------------------------------------------------------------------

def make_catalog_item(hotel: Hotel, type: str = "room_service", **overrides: Any) -> Any:
    """A catalogue item of `hotel` (by default a dish at 500.00 served around the clock)."""
    from app.requests.models import CatalogItem

    n = next(_seq)
    values = {"hotel_id": hotel.id, "type": type, "code": f"item{n}", "name": {"en": f"Item {n}", "ru": f"Товар {n}"},
              "price": 50000 if type in ("room_service", "laundry") else 0}
    with unit_of_work():
        item = CatalogItem(**{**values, **overrides})
        db.session.add(item)
    return item


# -- iot ---------------------------------------------------------------------------------------------------------

def make_room_device(room: Room, kind: str, key: str | None = None, **overrides: Any) -> Any:
    """A device registered in `room` (topics from the hotel code and room number), committed."""
    from app.iot.models import Device
    from app.iot.topics import device_topic, room_topic

    with unit_of_work():
        hotel = db.session.get(Hotel, room.hotel_id)
        base = room_topic(hotel.code, room.number)
        key = key or kind
        device = Device(**{"hotel_id": room.hotel_id, "room_id": room.id, "key": key, "kind": kind,
                           "name": {"en": kind.title(), "ru": kind}, "room_topic": base,
                           "topic": device_topic(base, key), **overrides})
        db.session.add(device)
    return device


# -- proof (fuzzer, authorisation matrix, fault tests) ----------------------------------------------------------------

def make_world(client: Any, *, label: str = "a") -> Any:
    """One hotel with everything a guest and its staff touch, made through the API where a client would make it.

    A checked-in guest with a stay, a folio charge, a room-service request, a message, a room device and a command,
    a push device, a loyalty membership and an excursion booking; the hotel's manager and a front-desk clerk; a
    partner selling at the hotel. Returns a namespace of ids and ready headers (`guest_headers`, `manager_headers`,
    `desk_headers`, `partner_headers`), used by tests/fuzz and tests/security.
    """
    from types import SimpleNamespace

    from tests.partners.factories import make_offering, make_partner, make_slot, partner_headers

    hotel = make_hotel(code=f"world-{label}-{next(_seq)}")
    room_type = make_room_type(hotel)
    room = make_room(room_type)
    guest = make_guest(hotels=[hotel])
    stay = make_stay(guest, room)
    manager = make_staff(Role.HOTEL_MANAGER, hotels=[hotel])
    desk = make_staff(Role.FRONT_DESK, hotels=[hotel])
    marketer = make_staff(Role.MARKETER, hotels=[hotel])
    admin = make_staff(Role.CHAIN_ADMIN)
    item = make_catalog_item(hotel)
    light = make_room_device(room, "light")
    push_device = make_push_device(guest)
    make_member(guest)
    partner = make_partner(hotels=[hotel])
    offering = make_offering(partner)
    slot = make_slot(offering)
    world = SimpleNamespace(
        hotel_id=hotel.id, room_type_id=room_type.id, room_id=room.id, guest_id=guest.id, stay_id=stay.id,
        booking_id=stay.id, manager_id=manager.id, desk_id=desk.id, catalog_item_id=item.id, room_device_id=light.id,
        push_device_id=push_device.id, partner_id=partner.id, offering_id=offering.id, slot_id=slot.id,
        guest_headers=headers_for(guest), manager_headers=headers_for(manager), desk_headers=headers_for(desk),
        partner_headers=partner_headers(partner), marketer_headers=headers_for(marketer),
        admin_headers=headers_for(admin),
        staff_emails={"manager": manager.email, "desk": desk.email, "marketer": marketer.email},  # console logins
    )
    _world_activity(client, world)
    return world


def _world_activity(client: Any, world: Any) -> None:
    """What the guest and staff have done by now: each call as the app makes it, checked to have worked."""

    def post(path: str, body: dict, headers: dict[str, str], key: str) -> dict:
        response = client.post(f"/api/v1{path}", json=body, headers={**headers, "Idempotency-Key": key})
        assert response.status_code in (200, 201), (path, response.status_code, response.get_json())
        return response.get_json()

    guest, manager, partner, marketer = (world.guest_headers, world.manager_headers, world.partner_headers,
                                         world.marketer_headers)
    world.endpoint_id = post("/partner/webhooks", {"url": "http://127.0.0.1:9/hook"}, partner, "world-hook")["id"]
    world.member_id = post("/me/family", {"relation": "child", "first_name": "Kid"}, guest, "world-family")["id"]
    world.request_id = post("/requests", {"stay_id": world.stay_id, "type": "room_service",
                                          "items": [{"item_id": world.catalog_item_id, "quantity": 1}]},
                            guest, "world-request")["id"]
    world.message_id = post(f"/stays/{world.stay_id}/messages", {"body": "Hello"}, guest, "world-message")["id"]
    world.command_id = post(f"/stays/{world.stay_id}/room/commands",
                            {"device_id": world.room_device_id, "values": {"on": True}}, guest, "world-command")["id"]
    world.experience_booking_id = post(
        "/experience-bookings", {"hotel_id": world.hotel_id, "slot_id": world.slot_id, "party_size": 1,
                                 "language": "en", "payment": "room_folio"}, guest, "world-excursion")["id"]
    world.voucher_code = client.get(f"/api/v1/experience-bookings/{world.experience_booking_id}",
                                    headers=guest).get_json()["voucher_code"]
    world.delivery_id = _first_id(client.get("/api/v1/partner/webhooks/deliveries", headers=partner))
    world.segment_id = post("/marketing/segments", {"hotel_id": world.hotel_id, "name": "All"}, marketer,
                            "world-segment")["id"]
    world.campaign_id = post("/marketing/campaigns", {"segment_id": world.segment_id, "name": "Spring",
                                                      "title": {"en": "Hi"}, "body": {"en": "Come"}},
                             marketer, "world-campaign")["id"]
    world.offer_id = post("/staff/loyalty/offers", {"kind": "offer", "title": {"en": "Tea"}, "min_tier": "silver",
                                                    "hotel_id": world.hotel_id}, marketer, "world-offer")["id"]
    world.alert_id = _first_id(client.get(f"/api/v1/staff/alerts?hotel_id={world.hotel_id}", headers=manager))
    _world_recovery(client, world, post)
    from app.push.services.inbox import queue_event_notifications

    with unit_of_work():
        queue_event_notifications()
    world.notification_id = _first_id(client.get("/api/v1/me/inbox", headers=guest))
    world.session_id = _first_id(client.get("/api/v1/auth/sessions", headers=guest))


def _world_recovery(client: Any, world: Any, post: Any) -> None:
    """A second request, done and rated badly: a service-recovery follow-up for the manager."""
    done = post("/requests", {"stay_id": world.stay_id, "type": "room_service",
                              "items": [{"item_id": world.catalog_item_id, "quantity": 2}]},
                world.guest_headers, "world-request-2")["id"]
    for action in ("acknowledge", "start", "complete"):
        post(f"/staff/requests/{done}/actions/{action}", {}, world.manager_headers, f"world-{action}")
    post(f"/requests/{done}/actions/rate", {"rating": 1}, world.guest_headers, "world-rate")
    world.done_request_id = done
    world.recovery_id = _first_id(client.get(f"/api/v1/staff/service-recoveries?hotel_id={world.hotel_id}",
                                             headers=world.manager_headers))


def _first_id(response: Any) -> int:
    """The id of the first item of a list answer (a bare list or a page with `items`)."""
    body = response.get_json()
    assert response.status_code == 200 and body, (response.status_code, body)
    return (body["items"] if isinstance(body, dict) else body)[0]["id"]


def world_path_ids(world: Any, path: str) -> dict[str, Any]:
    """The world's own resource for each path parameter that the OpenAPI path template `path` names."""
    import re

    by_name = {
        "hotel_id": world.hotel_id, "room_type_id": world.room_type_id, "room_id": world.room_id,
        "stay_id": world.stay_id, "guest_id": world.guest_id, "request_id": world.request_id,
        "message_id": world.message_id, "command_id": world.command_id, "session_id": world.session_id,
        "offering_id": world.offering_id, "slot_id": world.slot_id, "partner_id": world.partner_id,
        "item_id": world.catalog_item_id, "member_id": world.member_id, "notification_id": world.notification_id,
        "alert_id": world.alert_id, "recovery_id": world.recovery_id, "campaign_id": world.campaign_id,
        "segment_id": world.segment_id, "offer_id": world.offer_id, "endpoint_id": world.endpoint_id,
        "delivery_id": world.delivery_id, "code": world.voucher_code, "scene": "sleep",
    }
    by_name["booking_id"] = world.booking_id if path.startswith("/api/v1/bookings") else world.experience_booking_id
    by_name["device_id"] = world.push_device_id if path.startswith("/api/v1/me") else world.room_device_id
    return {name: by_name[name] for name in re.findall(r"\{([^}]+)\}", path) if name in by_name}
