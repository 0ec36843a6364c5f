"""Push through the API as the app and the marketing desk use it; pushes go through firebase-admin to a local server."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from app.core import clock, events
from app.core.auth import Role
from app.core.db import unit_of_work
from app.extensions import db
from app.hotels.models import Hotel
from app.hotels.services.seasons import build_calendar
from app.push import jobs
from app.push.models import Device
from tests.factories import (
    give_consent,
    make_guest,
    make_hotel,
    make_member,
    make_push_device,
    make_room,
    make_room_type,
    make_staff,
    make_stay,
)

TOKEN = "fcm-token-abcdefghijklmnop"


def _register(client, headers, token=TOKEN, **extra):
    return client.post("/api/v1/me/devices", json={"token": token, "platform": "android", "language": "ru", **extra},
                       headers=headers)


# -- devices -----------------------------------------------------------------------------------------------------

def test_guest_registers_lists_and_removes_a_device(client, auth_headers):
    headers = auth_headers(make_guest())
    created = _register(client, headers, app_version="2.4.1")
    assert created.status_code == 201
    assert created.json["platform"] == "android" and created.json["language"] == "ru"
    assert created.json["app_version"] == "2.4.1"
    assert [d["id"] for d in client.get("/api/v1/me/devices", headers=headers).json] == [created.json["id"]]

    assert client.delete(f"/api/v1/me/devices/{created.json['id']}", headers=headers).status_code == 204
    assert client.get("/api/v1/me/devices", headers=headers).json == []


def test_registering_a_known_token_refreshes_it_and_moves_it_to_the_new_account(client, auth_headers):
    first, second = auth_headers(make_guest()), auth_headers(make_guest())
    device_id = _register(client, first).json["id"]
    again = _register(client, second, language="en")
    assert again.json["id"] == device_id and again.json["language"] == "en"
    assert client.get("/api/v1/me/devices", headers=first).json == []
    assert len(client.get("/api/v1/me/devices", headers=second).json) == 1


def test_another_guests_device_is_not_found(client, auth_headers):
    device = make_push_device(make_guest())
    response = client.delete(f"/api/v1/me/devices/{device.id}", headers=auth_headers(make_guest()))
    assert response.status_code == 404 and response.json["code"] == "not_found"


def test_device_fields_are_validated(client, auth_headers):
    response = client.post("/api/v1/me/devices", json={"token": "short", "platform": "nokia", "extra": 1},
                           headers=auth_headers(make_guest()))
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"token", "platform", "extra"}


# -- settings and inbox ------------------------------------------------------------------------------------------

def test_notification_settings_default_to_everything_and_can_be_changed(client, auth_headers):
    headers = auth_headers(make_guest())
    assert client.get("/api/v1/me/notification-settings", headers=headers).json == {
        "booking": True, "request": True, "stay": True, "chat": True}
    changed = client.put("/api/v1/me/notification-settings", headers=headers,
                         json={"booking": True, "request": False, "stay": True, "chat": False})
    assert changed.status_code == 200
    assert client.get("/api/v1/me/notification-settings", headers=headers).json["request"] is False


def test_booking_confirmation_is_pushed_in_the_devices_language_and_lands_in_the_inbox(client, auth_headers, fcm):
    guest = make_guest(language="ru")
    headers = auth_headers(guest)
    _register(client, headers)
    with unit_of_work():
        event = events.record("booking.created", hotel_id=None, guest_id=guest.id, subject_id=77)

    jobs.queue_event_notifications()

    [message] = fcm.state.messages
    assert message["token"] == TOKEN
    assert message["notification"]["title"] == "Бронирование подтверждено"
    assert message["data"]["deep_link"] == "app://bookings/77"
    inbox = client.get("/api/v1/me/inbox", headers={**headers, "Accept-Language": "en"}).json["items"]
    assert [(item["category"], item["title"]) for item in inbox] == [("booking", "Booking confirmed")]
    assert message["data"]["notification_id"] == str(inbox[0]["id"])
    assert event.id


def test_guest_reports_an_open_once(client, auth_headers):
    guest = make_guest()
    headers = auth_headers(guest)
    with unit_of_work():
        events.record("room.ready", guest_id=guest.id, subject_id=5)
    jobs.queue_event_notifications()
    item = client.get("/api/v1/me/inbox", headers=headers).json["items"][0]

    first = client.post(f"/api/v1/me/inbox/{item['id']}/actions/open", headers=headers)
    second = client.post(f"/api/v1/me/inbox/{item['id']}/actions/open", headers=headers)
    assert first.status_code == 200 and first.json["opened_at"] == second.json["opened_at"]
    other = client.post(f"/api/v1/me/inbox/{item['id']}/actions/open", headers=auth_headers(make_guest()))
    assert other.status_code == 404


# -- marketing ---------------------------------------------------------------------------------------------------

def _past_guest(hotel, room, *, consent=True, devices=1, **guest_fields):
    guest = make_guest(hotels=[hotel], **guest_fields)
    make_stay(guest, room, status="checked_out", check_in=date(2025, 1, 10), nights=3)
    if consent:
        give_consent(guest)
    for _ in range(devices):
        make_push_device(guest)
    return guest


def test_only_marketers_reach_the_marketing_desk(client, auth_headers):
    hotel = make_hotel()
    response = client.get("/api/v1/marketing/segments", headers=auth_headers(make_staff(Role.FRONT_DESK, [hotel])))
    assert response.status_code == 403 and response.json["code"] == "role_forbidden"
    assert client.get("/api/v1/marketing/segments", headers=auth_headers(make_guest())).status_code == 403


def test_marketer_works_only_with_their_own_hotels(client, auth_headers):
    mine, theirs = make_hotel(), make_hotel()
    headers = auth_headers(make_staff(Role.MARKETER, [mine]))
    other = client.post("/api/v1/marketing/segments", headers=headers, json={"hotel_id": theirs.id, "name": "x"})
    assert other.status_code == 404
    naming = client.post("/api/v1/marketing/segments", headers=headers, json={
        "hotel_id": mine.id, "name": "x", "filters": {"stayed_at_hotel_ids": [theirs.id]}})
    assert naming.status_code == 422 and naming.json["code"] == "hotel_not_yours"
    segment = client.post("/api/v1/marketing/segments", headers=headers, json={"hotel_id": mine.id, "name": "all"})
    foreign = auth_headers(make_staff(Role.MARKETER, [theirs]))
    assert client.get(f"/api/v1/marketing/segments/{segment.json['id']}", headers=foreign).status_code == 404
    assert client.get("/api/v1/marketing/segments", headers=foreign).json["items"] == []


def test_segment_preview_counts_and_samples_without_contact_data(client, auth_headers):
    hotel = make_hotel()
    room = make_room(make_room_type(hotel))
    russian = _past_guest(hotel, room, language="ru", country="RU", city="Sochi")
    _past_guest(hotel, room, language="en")
    headers = auth_headers(make_staff(Role.MARKETER, [hotel]))
    segment = client.post("/api/v1/marketing/segments", headers=headers, json={
        "hotel_id": hotel.id, "name": "Russian speakers", "filters": {"languages": ["ru"], "past_guest": True}})
    assert segment.status_code == 201

    preview = client.post(f"/api/v1/marketing/segments/{segment.json['id']}/preview", headers=headers)
    assert preview.status_code == 200
    assert preview.json["size"] == 1
    assert preview.json["sample"] == [{"id": russian.id, "first_name": "Anna", "language": "ru", "country": "RU",
                                       "city": "Sochi"}]
    assert "@" not in preview.get_data(as_text=True)


def test_segment_by_loyalty_tier_counts_members_of_those_tiers_or_non_members(client, auth_headers):
    hotel = make_hotel()
    room = make_room(make_room_type(hotel))
    gold, platinum, silver = (_past_guest(hotel, room) for _ in range(3))
    outsider = _past_guest(hotel, room)
    make_member(gold, tier="gold")
    make_member(platinum, tier="platinum")
    make_member(silver, tier="silver")
    headers = auth_headers(make_staff(Role.MARKETER, [hotel]))

    def size(filters):
        segment = client.post("/api/v1/marketing/segments", headers=headers,
                              json={"hotel_id": hotel.id, "name": "tiers", "filters": filters})
        assert segment.status_code == 201, segment.json
        preview = client.post(f"/api/v1/marketing/segments/{segment.json['id']}/preview", headers=headers).json
        return {row["id"] for row in preview["sample"]}

    assert size({"loyalty_tiers": ["gold", "platinum"]}) == {gold.id, platinum.id}
    assert size({"loyalty_tiers": ["none"]}) == {outsider.id}
    assert size({"any_of": [{"loyalty_tiers": ["silver"]}, {"loyalty_tiers": ["none"]}]}) == {silver.id, outsider.id}


def test_segment_filters_are_validated(client, auth_headers):
    hotel = make_hotel()
    response = client.post("/api/v1/marketing/segments", headers=auth_headers(make_staff(Role.MARKETER, [hotel])),
                           json={"hotel_id": hotel.id, "name": "x", "filters": {
                               "languages": ["xx"], "preference_tags": ["DROP TABLE"], "loyalty_tiers": ["diamond"],
                               "birthday_within_days": 400}})
    assert response.status_code == 422
    assert set(response.json["errors"]["filters"]) == {"languages", "preference_tags", "loyalty_tiers",
                                                       "birthday_within_days"}


def test_campaign_reaches_each_consenting_guest_of_its_segment_on_every_live_device_once(client, auth_headers, fcm):
    hotel, elsewhere = make_hotel(), make_hotel()
    room, other_room = make_room(make_room_type(hotel)), make_room(make_room_type(elsewhere))
    two_phones = _past_guest(hotel, room, devices=2)
    one_phone = _past_guest(hotel, room)
    no_consent = _past_guest(hotel, room, consent=False)
    withdrew = _past_guest(hotel, room)
    give_consent(withdrew, granted=False)
    stale = _past_guest(hotel, room, devices=0)
    make_push_device(stale, last_seen_at=clock.now() - timedelta(days=400))
    _past_guest(elsewhere, other_room)
    headers = auth_headers(make_staff(Role.MARKETER, [hotel]))
    segment = client.post("/api/v1/marketing/segments", headers=headers,
                          json={"hotel_id": hotel.id, "name": "Former guests", "filters": {"past_guest": True}})
    campaign = client.post("/api/v1/marketing/campaigns", headers=headers, json={
        "segment_id": segment.json["id"], "name": "Autumn", "title": {"en": "Autumn offer", "ru": "Осеннее"},
        "body": {"en": "20% off", "ru": "Скидка 20%"}, "deep_link": "app://offers/autumn"})
    assert campaign.status_code == 201 and campaign.json["status"] == "draft"
    scheduled = client.post(f"/api/v1/marketing/campaigns/{campaign.json['id']}/actions/schedule", headers=headers,
                            json={})
    assert scheduled.json["status"] == "scheduled"

    with clock.frozen(datetime(2026, 12, 1, 9, 0, tzinfo=UTC)):  # noon in Moscow: no quiet hours
        jobs.run_campaigns()
        jobs.run_campaigns()  # a second run finds nothing new to send

    tokens = fcm.state.tokens()
    assert len(tokens) == len(set(tokens)) == 3
    stats = client.get(f"/api/v1/marketing/campaigns/{campaign.json['id']}/stats", headers=headers).json
    assert stats["status"] == "sent"
    assert (stats["targeted"], stats["deliveries"], stats["sent"], stats["inbox_only_no_device"]) == (3, 3, 3, 1)
    assert set(tokens) == _tokens_of(two_phones, one_phone)
    assert not set(tokens) & _tokens_of(no_consent, withdrew)
    assert client.get(f"/api/v1/marketing/campaigns/{campaign.json['id']}", headers=headers).json["run_number"] == 1


def test_campaign_stats_count_opens_and_bookings_within_seven_days(client, auth_headers, fcm):
    hotel = make_hotel()
    room = make_room(make_room_type(hotel))
    guest = _past_guest(hotel, room)
    guest_headers = auth_headers(guest)
    headers = auth_headers(make_staff(Role.MARKETER, [hotel]))
    segment = client.post("/api/v1/marketing/segments", headers=headers, json={"hotel_id": hotel.id, "name": "a"})
    campaign_id = client.post("/api/v1/marketing/campaigns", headers=headers, json={
        "segment_id": segment.json["id"], "name": "x", "title": {"en": "t"}, "body": {"en": "b"}}).json["id"]
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with clock.frozen(start) as advance:
        client.post(f"/api/v1/marketing/campaigns/{campaign_id}/actions/schedule", headers=headers, json={})
        jobs.run_campaigns()
        offer = client.get("/api/v1/me/inbox", headers=guest_headers).json["items"][0]
        client.post(f"/api/v1/me/inbox/{offer['id']}/actions/open", headers=guest_headers)
        advance(timedelta(days=2))
        make_stay(guest, room, status="confirmed", check_in=date(2027, 1, 5))
        advance(timedelta(days=10))
        make_stay(guest, room, status="confirmed", check_in=date(2027, 2, 5))  # too late to count

    stats = client.get(f"/api/v1/marketing/campaigns/{campaign_id}/stats", headers=headers).json
    assert (stats["opened"], stats["bookings_within_7_days"]) == (1, 1)


def test_cancelled_campaign_sends_nothing_more_and_cannot_be_scheduled(client, auth_headers, fcm):
    hotel = make_hotel()
    _past_guest(hotel, make_room(make_room_type(hotel)))
    headers = auth_headers(make_staff(Role.MARKETER, [hotel]))
    segment = client.post("/api/v1/marketing/segments", headers=headers, json={"hotel_id": hotel.id, "name": "a"})
    campaign_id = client.post("/api/v1/marketing/campaigns", headers=headers, json={
        "segment_id": segment.json["id"], "name": "x", "title": {"en": "t"}, "body": {"en": "b"},
        "send_at": "2030-01-01T10:00:00Z"}).json["id"]
    client.post(f"/api/v1/marketing/campaigns/{campaign_id}/actions/schedule", headers=headers, json={})

    cancelled = client.post(f"/api/v1/marketing/campaigns/{campaign_id}/actions/cancel", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    again = client.post(f"/api/v1/marketing/campaigns/{campaign_id}/actions/schedule", headers=headers, json={})
    assert again.status_code == 409 and again.json["code"] == "invalid_state"
    with clock.frozen(datetime(2030, 1, 2, 10, 0, tzinfo=UTC)):
        jobs.run_campaigns()
    assert list(fcm.state.messages) == []


def _tokens_of(*guests):
    return set(db.session.scalars(select(Device.token).where(Device.guest_id.in_([g.id for g in guests]))))


def test_campaign_creation_honours_idempotency_key(client, auth_headers):
    hotel = make_hotel()
    headers = {**auth_headers(make_staff(Role.MARKETER, [hotel])), "Idempotency-Key": "campaign-1"}
    segment = client.post("/api/v1/marketing/segments", headers=headers, json={"hotel_id": hotel.id, "name": "a"})
    body = {"segment_id": segment.json["id"], "name": "x", "title": {"en": "t"}, "body": {"en": "b"}}
    headers["Idempotency-Key"] = "campaign-2"
    first = client.post("/api/v1/marketing/campaigns", headers=headers, json=body)
    second = client.post("/api/v1/marketing/campaigns", headers=headers, json=body)
    assert first.json["id"] == second.json["id"]
    listed = client.get("/api/v1/marketing/campaigns", headers=headers).json["items"]
    assert len(listed) == 1


def test_low_season_suggestions_and_hotel_opt_in(client, auth_headers):
    hotel = make_hotel()
    headers = auth_headers(make_staff(Role.MARKETER, [hotel]))
    assert client.get(f"/api/v1/marketing/hotels/{hotel.id}/settings", headers=headers).json == {
        "hotel_id": hotel.id, "auto_low_season": False, "low_season_weeks_before": None}
    put = client.put(f"/api/v1/marketing/hotels/{hotel.id}/settings", headers=headers,
                     json={"auto_low_season": False, "low_season_weeks_before": 8})
    assert put.status_code == 200 and put.json["low_season_weeks_before"] == 8
    with unit_of_work():
        db.session.get(Hotel, hotel.id).seasons = build_calendar([
            {"kind": "low", "start": (11, 1), "end": (3, 31)}])
    with clock.frozen(datetime(2026, 9, 10, 6, 0, tzinfo=UTC)):  # 7 weeks and a bit before 1 November
        jobs.propose_low_season_campaigns()
        jobs.propose_low_season_campaigns()

    suggestions = client.get("/api/v1/marketing/suggestions", headers=headers).json["items"]
    assert len(suggestions) == 1
    assert suggestions[0]["origin"] == "low_season" and suggestions[0]["status"] == "draft"
    assert suggestions[0]["deep_link"] == f"app://hotels/{hotel.id}/book?check_in=2026-11-01"


# -- room ready --------------------------------------------------------------------------------------------------

def test_room_ready_is_pushed_when_housekeeping_completes_the_room_preparation(client, auth_headers, fcm):
    hotel = make_hotel()
    room = make_room(make_room_type(hotel), number="512")
    guest = make_guest(language="en")
    headers = auth_headers(guest)
    _register(client, headers, language="en")
    booking = make_stay(guest, room, status="confirmed", room_id=None, checked_in_at=None)
    desk = auth_headers(make_staff(Role.FRONT_DESK, [hotel]))
    assert client.post(f"/api/v1/bookings/{booking.id}/actions/check-in", headers=headers).status_code == 200
    [preparation] = client.get("/api/v1/staff/queue?type=housekeeping", headers=desk).json["items"]
    jobs.queue_event_notifications()
    assert not [m for m in fcm.state.messages if m["notification"]["title"] == "Your room is ready"]

    for action in ("start", "complete"):
        done = client.post(f"/api/v1/staff/requests/{preparation['id']}/actions/{action}", json={}, headers=desk)
        assert done.status_code == 200, done.json
    jobs.queue_event_notifications()
    jobs.queue_event_notifications()  # the event is turned into one push, once

    ready = [m for m in fcm.state.messages if m["notification"]["title"] == "Your room is ready"]
    assert len(ready) == 1 and ready[0]["token"] == TOKEN
    assert ready[0]["data"]["deep_link"] == f"app://stays/{booking.id}"
    inbox = client.get("/api/v1/me/inbox?category=stay", headers=headers).json["items"]
    assert [item["title"] for item in inbox] == ["Your room is ready"]


def test_a_completed_repair_request_does_not_announce_the_room_ready(client, auth_headers, fcm):
    hotel = make_hotel()
    room = make_room(make_room_type(hotel))
    guest = make_guest()
    stay = make_stay(guest, room)
    _register(client, auth_headers(guest))
    desk = auth_headers(make_staff(Role.FRONT_DESK, [hotel]))
    with unit_of_work():
        events.record("device.fault", hotel_id=hotel.id, subject_id=1,
                      payload={"room_id": room.id, "kind": "climate", "reason": "reported", "fault": "fan"})
    [repair] = client.get("/api/v1/staff/queue?type=repair", headers=desk).json["items"]
    for action in ("start", "complete"):
        assert client.post(f"/api/v1/staff/requests/{repair['id']}/actions/{action}", json={},
                           headers=desk).status_code == 200
    with unit_of_work():
        assert events.events_after(0, types=["room.ready"]) == []
    assert stay.id


def test_a_front_desk_reply_is_pushed_with_a_link_to_the_stays_thread(client, auth_headers, fcm):
    hotel = make_hotel()
    guest = make_guest(language="en")
    stay = make_stay(guest, make_room(make_room_type(hotel)))
    headers = auth_headers(guest)
    _register(client, headers, language="en")
    asked = client.post(f"/api/v1/stays/{stay.id}/messages", headers=headers, json={"body": "Late checkout?"})
    assert asked.status_code == 201
    desk = auth_headers(make_staff(Role.FRONT_DESK, [hotel]))
    replied = client.post(f"/api/v1/staff/stays/{stay.id}/messages", headers=desk, json={"body": "Until 14:00."})
    assert replied.status_code == 201

    jobs.queue_event_notifications()

    [message] = fcm.state.messages  # the guest's own message notifies nobody
    assert message["notification"]["title"] == "New message from the front desk"
    assert message["data"]["deep_link"] == f"app://stays/{stay.id}/messages"
