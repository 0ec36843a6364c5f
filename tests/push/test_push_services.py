"""Push rules: exactly-once sending through firebase-admin, retries, pruning, quiet hours, caps, birthdays, seasons."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.core import clock, events
from app.core.auth import Role
from app.core.db import unit_of_work
from app.extensions import db
from app.hotels.models import Hotel
from app.hotels.services.seasons import build_calendar
from app.push import fcm as push_fcm
from app.push import jobs, services
from app.push.models import Campaign, Delivery, Device, Notification, PushCursor
from app.push.services.inbox import FEED_CURSOR
from app.push.services.queueing import parse_quiet_hours, quiet_hours_end
from app.push.services.segments import birthday_month_days
from tests.factories import (
    give_consent,
    make_guest,
    make_hotel,
    make_push_device,
    make_room,
    make_room_type,
    make_staff,
    make_stay,
)

NOON_MOSCOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _audience(n, *, hotel=None, consent=True, **guest_fields):
    hotel = hotel or make_hotel()
    room = make_room(make_room_type(hotel))
    guests = []
    for _ in range(n):
        guest = make_guest(hotels=[hotel], **guest_fields)
        make_stay(guest, room, status="checked_out", check_in=date(2025, 2, 1), nights=2)
        if consent:
            give_consent(guest)
        guests.append(guest)
    return hotel, guests


def _campaign(hotel, *, filters=None, trigger="schedule", schedule=True, **fields):
    staff = make_staff(Role.MARKETER, [hotel])
    with unit_of_work():
        segment = services.create_segment(staff=staff, hotel_id=hotel.id, name="s", filters=filters or {})
        campaign = services.create_campaign(staff=staff, segment_id=segment.id, name="c", title={"en": "Offer"},
                                            body={"en": "Come back"}, trigger=trigger, **fields)
        if schedule:
            services.schedule_campaign(staff=staff, campaign_id=campaign.id)
    return campaign


def _statuses():
    return dict(db.session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())


# -- sending: exactly once, retries, dead tokens -----------------------------------------------------------------

def test_a_crash_mid_send_and_a_restart_send_nobody_twice(app, fcm, monkeypatch):
    hotel, guests = _audience(6)
    for guest in guests:
        make_push_device(guest)
    app.config["PUSH_BATCH_SIZE"] = 2
    real_send, calls = push_fcm.sender().send, []

    def send_then_die_on_second_batch(messages):
        results = real_send(messages)
        calls.append(len(messages))
        if len(calls) == 2:
            raise KeyboardInterrupt("scheduler killed after FCM answered, before the results were stored")
        return results

    with clock.frozen(NOON_MOSCOW) as advance:
        _campaign(hotel)
        monkeypatch.setattr(push_fcm.sender(), "send", send_then_die_on_second_batch)
        with pytest.raises(KeyboardInterrupt):
            jobs.run_campaigns()
        monkeypatch.undo()
        app.config["PUSH_BATCH_SIZE"] = 2
        advance(timedelta(seconds=app.config["PUSH_CLAIM_TIMEOUT_SECONDS"] + 1))
        jobs.run_campaigns()  # the restarted scheduler
        jobs.run_campaigns()

    tokens = fcm.state.tokens()
    assert len(tokens) == len(set(tokens)) == 6  # everyone once: the interrupted batch had reached FCM
    assert _statuses() == {"sent": 4, "unknown": 2}  # ...but its outcome is unknown, so it was not resent
    assert db.session.scalar(select(Campaign.status)) == "sent"
    app.config["PUSH_BATCH_SIZE"] = 500


def test_concurrent_senders_send_each_delivery_once(app, fcm):
    hotel, guests = _audience(8)
    for guest in guests:
        make_push_device(guest)
        make_push_device(guest)
    app.config["PUSH_BATCH_SIZE"] = 3
    with clock.frozen(NOON_MOSCOW):
        campaign = _campaign(hotel)
        with unit_of_work():
            services.start_due_campaigns()
        while True:
            with unit_of_work():
                if not services.queue_campaign_chunk(campaign_id=campaign.id):
                    break

        def sender_process():
            with app.app_context():
                jobs.send_pending_pushes()

        threads = [threading.Thread(target=sender_process) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    app.config["PUSH_BATCH_SIZE"] = 500

    tokens = fcm.state.tokens()
    assert len(tokens) == len(set(tokens)) == 16
    assert _statuses() == {"sent": 16}


def test_unregistered_and_malformed_tokens_are_pruned_but_a_bad_payload_keeps_the_token(fcm):
    guest = make_guest()
    dead, malformed, payload, alive = (make_push_device(guest) for _ in range(4))
    fcm.state.answer(dead.token, "unregistered")
    fcm.state.answer(malformed.token, "invalid_token")
    fcm.state.answer(payload.token, "bad_payload")
    with unit_of_work():
        events.record("booking.created", guest_id=guest.id, subject_id=1)

    jobs.queue_event_notifications()

    assert set(db.session.scalars(select(Device.id))) == {payload.id, alive.id}
    assert _statuses() == {"invalid_token": 2, "failed": 1, "sent": 1}
    assert fcm.state.tokens() == [alive.token]


def test_quota_errors_are_retried_after_retry_after(app, fcm):
    guest = make_guest()
    device = make_push_device(guest)
    fcm.state.answer(device.token, "quota", times=1, retry_after=120)
    with clock.frozen(NOON_MOSCOW) as advance:
        with unit_of_work():
            events.record("room.ready", guest_id=guest.id, subject_id=3)
        jobs.queue_event_notifications()
        assert fcm.state.tokens() == [] and _statuses() == {"pending": 1}
        advance(timedelta(seconds=60))
        jobs.send_pending_pushes()
        assert fcm.state.tokens() == []  # Retry-After is respected
        advance(timedelta(seconds=61))
        jobs.send_pending_pushes()
    assert fcm.state.tokens() == [device.token]
    assert db.session.scalar(select(Delivery.attempts)) == 2


def test_server_errors_back_off_and_give_up_after_max_attempts(app, fcm):
    guest = make_guest()
    device = make_push_device(guest)
    fcm.state.answer(device.token, "unavailable")
    app.config["PUSH_MAX_ATTEMPTS"] = 3
    with clock.frozen(NOON_MOSCOW) as advance:
        with unit_of_work():
            events.record("room.ready", guest_id=guest.id, subject_id=3)
        jobs.queue_event_notifications()
        first_retry = db.session.scalar(select(Delivery.next_attempt_at))
        assert first_retry == NOON_MOSCOW + timedelta(seconds=app.config["PUSH_RETRY_BASE_SECONDS"])
        for _ in range(3):
            advance(timedelta(hours=1))
            jobs.send_pending_pushes()
    app.config["PUSH_MAX_ATTEMPTS"] = 8
    assert _statuses() == {"failed": 1}
    assert db.session.scalar(select(Delivery.attempts)) == 3


# -- marketing rules ---------------------------------------------------------------------------------------------

def test_quiet_hours_defer_a_campaign_to_the_guests_morning(fcm):
    hotel, [guest] = _audience(1, time_zone="Asia/Vladivostok")  # UTC+10
    make_push_device(guest)
    late_evening = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)  # 22:30 in Vladivostok
    with clock.frozen(late_evening) as advance:
        _campaign(hotel)
        jobs.run_campaigns()
        assert fcm.state.tokens() == []
        note = db.session.scalar(select(Notification))
        assert note.push_after == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)  # 09:00 local the next day
        advance(timedelta(hours=10, minutes=31))
        jobs.send_pending_pushes()
    assert len(fcm.state.tokens()) == 1


def test_frequency_cap_holds_across_campaigns_but_the_offer_still_lands_in_the_inbox(app, fcm):
    hotel, [guest] = _audience(1)
    make_push_device(guest)
    with clock.frozen(NOON_MOSCOW) as advance:
        for _ in range(3):
            _campaign(hotel)
            jobs.run_campaigns()
            advance(timedelta(days=1))
        assert len(fcm.state.tokens()) == 2  # cap: 2 per 7 days
        states = list(db.session.scalars(select(Notification.push_state).order_by(Notification.id)))
        assert states == ["queued", "queued", "capped"]
        advance(timedelta(days=7))
        _campaign(hotel)
        jobs.run_campaigns()
    assert len(fcm.state.tokens()) == 3


def test_campaigns_need_marketing_consent_but_transactional_pushes_do_not(fcm):
    hotel, [guest] = _audience(1, consent=False)
    make_push_device(guest)
    with clock.frozen(NOON_MOSCOW):
        _campaign(hotel)
        jobs.run_campaigns()
        with unit_of_work():
            events.record("request.completed", guest_id=guest.id, subject_id=9)
        jobs.queue_event_notifications()
    [message] = fcm.state.messages
    assert message["data"]["category"] == "request"


def test_transactional_pushes_follow_the_guests_settings_and_only_staff_replies_notify(fcm):
    guest = make_guest()
    make_push_device(guest)
    with unit_of_work():
        services.replace_settings(guest_id=guest.id, settings={"booking": True, "request": False, "stay": True,
                                                               "chat": True})
        events.record("request.started", guest_id=guest.id, subject_id=1)
        events.record("message.created", guest_id=guest.id, subject_id=2, payload={"author_kind": "guest"})
        events.record("message.created", guest_id=guest.id, subject_id=2, payload={"author_kind": "staff"})
        events.record("folio.charge_posted", guest_id=guest.id, subject_id=3)
    jobs.queue_event_notifications()
    jobs.queue_event_notifications()  # the cursor moved on: nothing twice
    assert [m["data"]["category"] for m in fcm.state.messages] == ["chat"]


def test_the_event_feed_cursor_moves_past_events_that_call_for_no_push(fcm):
    """Devices' state changes and the like are most of the events: the next read must not scan them again."""
    with unit_of_work():
        last = [events.record("device.state_changed", hotel_id=None, subject_id=n) for n in range(3)][-1]
    jobs.queue_event_notifications()
    with unit_of_work():
        assert db.session.get(PushCursor, FEED_CURSOR).last_event_id == last.id
    assert not fcm.state.messages


def test_checkout_reminder_goes_once_on_departure_day_in_hotel_time(fcm):
    hotel = make_hotel(time_zone="Asia/Vladivostok")
    guest = make_guest(hotels=[hotel])
    make_push_device(guest)
    with clock.frozen(datetime(2026, 12, 2, 21, 30, tzinfo=UTC)) as advance:  # 07:30 on 3 December there
        make_stay(guest, make_room(make_room_type(hotel)), check_in=date(2026, 12, 1), nights=2)
        jobs.queue_checkout_reminders()
        assert db.session.scalar(select(func.count()).select_from(Notification)) == 0
        advance(timedelta(minutes=45))  # 08:15
        jobs.queue_checkout_reminders()
        jobs.queue_checkout_reminders()
        jobs.send_pending_pushes()
    assert [m["notification"]["title"] for m in fcm.state.messages] == ["Check-out today"]


def test_recurring_campaign_reaches_its_audience_once_per_run(fcm):
    hotel, [guest] = _audience(1)
    make_push_device(guest)
    with clock.frozen(NOON_MOSCOW) as advance:
        campaign = _campaign(hotel, send_at=NOON_MOSCOW, repeat_every_days=14)
        jobs.run_campaigns()
        jobs.run_campaigns()
        advance(timedelta(days=14))
        jobs.run_campaigns()
    assert len(fcm.state.tokens()) == 2
    row = db.session.get(Campaign, campaign.id)
    assert (row.status, row.run_number, row.send_at) == ("scheduled", 2, NOON_MOSCOW + timedelta(days=28))


# -- birthdays and seasons ---------------------------------------------------------------------------------------

def test_birthday_offer_goes_a_month_ahead_by_the_guests_own_date_across_the_date_line(fcm):
    hotel = make_hotel()
    # 10:30 UTC on 1 May 2027: already 2 May (00:30) in Kiritimati (UTC+14), still 30 April (23:30) in Pago Pago.
    instant = datetime(2027, 5, 1, 10, 30, tzinfo=UTC)
    with clock.frozen(instant) as advance:
        _, [kiritimati] = _audience(1, hotel=hotel, time_zone="Pacific/Kiritimati", birth_date=date(1990, 6, 1))
        _, [pago_pago] = _audience(1, hotel=hotel, time_zone="Pacific/Pago_Pago", birth_date=date(1985, 6, 1))
        _, [other_day] = _audience(1, hotel=hotel, time_zone="Pacific/Kiritimati", birth_date=date(1990, 6, 3))
        for guest in (kiritimati, pago_pago, other_day):
            make_push_device(guest)
        _campaign(hotel, trigger="birthday")
        jobs.send_birthday_offers()
        jobs.send_birthday_offers()
        assert _offered() == {kiritimati.id}  # 1 June is 30 days after 2 May, not after 30 April
        advance(timedelta(days=1, hours=1))  # 2 May 11:30 UTC: 2 May 00:30 in Pago Pago, 3 May in Kiritimati
        jobs.send_birthday_offers()
        assert _offered() == {kiritimati.id, pago_pago.id}
        advance(timedelta(hours=9))  # after the quiet hours of both
        jobs.send_pending_pushes()
    assert len(fcm.state.tokens()) == 2


def _offered():
    return set(db.session.scalars(select(Notification.guest_id).where(Notification.category == "offer")))


def test_29_february_birthdays_are_celebrated_on_28_february_in_common_years():
    assert 229 in birthday_month_days(date(2027, 2, 27), 1)
    assert 229 not in birthday_month_days(date(2028, 2, 27), 1)
    assert birthday_month_days(date(2026, 12, 30), 3) == [101, 102, 1230, 1231]


def test_low_season_campaign_is_proposed_from_each_hotels_own_calendar(app):
    sea = make_hotel()  # low season from 16 October
    ski = make_hotel()  # low season from 1 May
    opted_in = make_hotel()  # low season from 1 November, creates its campaign itself
    with unit_of_work():
        calendars = {sea.id: [(10, 16), (4, 14)], ski.id: [(5, 1), (11, 30)], opted_in.id: [(11, 1), (3, 31)]}
        for hotel_id, (start, end) in calendars.items():
            db.session.get(Hotel, hotel_id).seasons = build_calendar([{"kind": "low", "start": start, "end": end}])
        services.replace_hotel_settings(staff=make_staff(Role.MARKETER, [opted_in]), hotel_id=opted_in.id,
                                        auto_low_season=True, low_season_weeks_before=10)
    with clock.frozen(datetime(2026, 9, 5, 6, 0, tzinfo=UTC)):  # 41 days before 16 October, 57 before 1 Nov
        jobs.propose_low_season_campaigns()
        jobs.propose_low_season_campaigns()

    made = {c.hotel_id: c for c in db.session.scalars(select(Campaign))}
    assert set(made) == {sea.id, opted_in.id}  # the ski hotel's low season is months away
    assert made[sea.id].status == "draft" and made[sea.id].origin == "low_season"
    assert made[opted_in.id].status == "scheduled"
    assert made[sea.id].segment.filters == {"stayed_at_hotel_ids": [sea.id]}


# -- segments ----------------------------------------------------------------------------------------------------

def _segment_ids(hotel, filters, *, also=()):
    staff = make_staff(Role.MARKETER, [hotel, *also])
    with unit_of_work():
        segment = services.create_segment(staff=staff, hotel_id=hotel.id, name="s", filters=filters)
    condition = services.segments.audience_condition(segment)
    return {guest_id for chunk in services.segments.stream_audience(condition, chunk=2) for guest_id in chunk}


def test_segment_filters_are_evaluated_in_the_database():
    hotel, other = make_hotel(), make_hotel()
    with unit_of_work():
        db.session.get(Hotel, hotel.id).seasons = build_calendar([
            {"kind": "high", "start": (6, 1), "end": (8, 31)}, {"kind": "low", "start": (11, 1), "end": (3, 31)}])
        db.session.get(Hotel, other.id).seasons = []  # every day of the year is shoulder season there
    room, other_room = make_room(make_room_type(hotel)), make_room(make_room_type(other))
    with clock.frozen(datetime(2026, 12, 1, 9, 0, tzinfo=UTC)):
        summer = make_guest(hotels=[hotel], language="ru", country="RU", city="Sochi", birth_date=date(1990, 12, 5))
        make_stay(summer, room, status="checked_out", check_in=date(2026, 7, 1))
        winter = make_guest(hotels=[hotel], language="en", country="DE", city="Berlin")
        make_stay(winter, room, status="checked_out", check_in=date(2025, 1, 10))
        both = make_guest(hotels=[hotel, other], language="en")
        make_stay(both, other_room, status="checked_out", check_in=date(2024, 7, 1))
        never = make_guest(hotels=[hotel])  # a walk-in profile, no stay
        with unit_of_work():
            services.replace_settings(guest_id=never.id, settings={k: True for k in
                                                                   ("booking", "request", "stay", "chat")})
        from app.guests.models import GuestPreferences

        with unit_of_work():
            db.session.add(GuestPreferences(guest_id=summer.id, diet=["vegan", "halal"], quiet_room=True))
            db.session.add(GuestPreferences(guest_id=winter.id, diet=["vegetarian"], floor="high"))
        make_push_device(winter)
        give_consent(both)
        give_consent(winter)
        give_consent(winter, granted=False)

        assert _segment_ids(hotel, {}) == {summer.id, winter.id, both.id, never.id}
        assert _segment_ids(hotel, {"past_guest": True}) == {summer.id, winter.id, both.id}
        assert _segment_ids(hotel, {"past_guest": False}) == {never.id}
        assert _segment_ids(hotel, {"stayed_at_hotel_ids": [other.id]}, also=[other]) == {both.id}
        assert _segment_ids(hotel, {"last_stay_before_months": 12}) == {winter.id, both.id}
        assert _segment_ids(hotel, {"stayed_in_season": "high"}) == {summer.id}  # `both`: July at `other` is shoulder
        assert _segment_ids(hotel, {"stayed_in_season": "shoulder"}) == {both.id}
        assert _segment_ids(hotel, {"past_guest": True, "never_stayed_in_season": "low"}) == {summer.id, both.id}
        assert _segment_ids(hotel, {"languages": ["ru"]}) == {summer.id}
        assert _segment_ids(hotel, {"countries": ["DE"], "cities": ["Berlin"]}) == {winter.id}
        assert _segment_ids(hotel, {"birthday_within_days": 7}) == {summer.id}
        assert _segment_ids(hotel, {"preference_tags": ["diet:vegan"]}) == {summer.id}
        assert _segment_ids(hotel, {"preference_tags": ["diet:vegetarian", "quiet_room"]}) == {summer.id, winter.id}
        assert _segment_ids(hotel, {"preference_tags": ["floor:high"]}) == {winter.id}
        assert _segment_ids(hotel, {"has_live_token": True}) == {winter.id}
        assert _segment_ids(hotel, {"marketing_consent": True}) == {both.id}  # winter withdrew it
        assert _segment_ids(hotel, {"any_of": [{"languages": ["ru"]}, {"has_live_token": True}]}) == {
            summer.id, winter.id}
        assert _segment_ids(other, {}) == {both.id}  # a segment stays among its hotel's guests


def test_quiet_hours_window_arithmetic():
    from zoneinfo import ZoneInfo

    start, end = parse_quiet_hours("21:00-09:00")
    moscow = ZoneInfo("Europe/Moscow")  # UTC+3
    assert quiet_hours_end(datetime(2026, 12, 1, 12, 0, tzinfo=UTC), zone=moscow, start=start, end=end) is None
    assert quiet_hours_end(datetime(2026, 12, 1, 19, 0, tzinfo=UTC), zone=moscow, start=start,
                           end=end) == datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    assert quiet_hours_end(datetime(2026, 12, 1, 2, 0, tzinfo=UTC), zone=moscow, start=start,
                           end=end) == datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def test_flask_push_send_sends_the_due_pushes(app, fcm):
    guest = make_guest()
    make_push_device(guest)
    with unit_of_work():
        events.record("booking.created", guest_id=guest.id, subject_id=4)
        services.queue_event_notifications()
    result = app.test_cli_runner().invoke(args=["push", "send"])
    assert result.exit_code == 0 and "sent 1" in result.output
    assert len(fcm.state.tokens()) == 1


def test_sender_threads_give_one_result_per_message_in_order(fcm):
    """The sender's worker threads answer each message at its own place, FCM's errors included."""
    sender = push_fcm.FcmSender(project_id="hotel-test", endpoint=fcm.url, per_call=4)
    try:
        messages = [push_fcm.PushMessage(token=f"order-token-{n:03d}-abcdefghij", title="t", body="b")
                    for n in range(60)]
        for message in messages[::7]:
            fcm.state.answer(message.token, "unregistered")
        results = sender.send(messages)
    finally:
        sender.close()
    assert [result.error for result in results] == ["unregistered" if n % 7 == 0 else None for n in range(60)]
    assert sorted(fcm.state.tokens()) == sorted(m.token for n, m in enumerate(messages) if n % 7)
    assert len({result.message_id for result in results if result.ok}) == 60 - 9


def test_sender_raises_what_the_library_refuses_to_encode_after_trying_every_message(fcm):
    sender = push_fcm.FcmSender(project_id="hotel-test", endpoint=fcm.url, per_call=2)
    good = [push_fcm.PushMessage(token=f"good-token-{n}-abcdefghij", title="t", body="b") for n in range(3)]
    bad = push_fcm.PushMessage(token="bad-data-token-abcdefghij", title="t", body="b", data={"n": 1})  # not a str
    try:
        with pytest.raises(ValueError):
            sender.send([good[0], bad, *good[1:]])
    finally:
        sender.close()
    assert sorted(fcm.state.tokens()) == sorted(m.token for m in good)
