"""Retention jobs enforce the inventory's periods: each deletes or blanks only what is past its period, and twice
is the same as once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.core import clock
from app.core.db import unit_of_work
from app.core.events import DomainEvent, record
from app.extensions import db
from app.identity.models import AuthSession, LoginCode, RefreshToken
from app.partners.models import WebhookDelivery, WebhookEndpoint, WebhookMessage
from app.privacy import jobs
from app.push.models import Notification, PushCursor
from app.requests.models import ServiceRequest, StayMessage
from tests.factories import make_guest, make_hotel, make_room, make_room_type, make_stay
from tests.partners.factories import make_partner

NOW = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with clock.frozen(NOW) as advance:
        yield advance


def _count(model, *conditions) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


def _stay_with_texts(room, guest, *, checked_out: datetime):
    stay = make_stay(guest, room, status="checked_out", check_in=(checked_out - timedelta(days=2)).date(),
                     nights=2, checked_out_at=checked_out)
    with unit_of_work():
        db.session.add(StayMessage(booking_id=stay.id, hotel_id=stay.hotel_id, guest_id=guest.id, author_kind="guest",
                                   body="Please call me on +79990001122"))
        db.session.add(ServiceRequest(
            hotel_id=stay.hotel_id, booking_id=stay.id, guest_id=guest.id, room_id=room.id, room_number=room.number,
            type="room_service", department="kitchen", status="done", currency="RUB", created_by_kind="guest",
            details={"items": [{"code": "tea", "amount": 100}], "notes": "my name is Vasilisa"},
            total_amount=100, acknowledge_due_at=NOW, complete_due_at=NOW, due_at=NOW, is_open=False,
            rating=5, rating_comment="Vasilisa loved it"))
    return stay


def test_message_and_request_texts_go_after_the_period_but_the_requests_stay(app) -> None:
    room = make_room(make_room_type(make_hotel()))
    guest = make_guest()
    old = _stay_with_texts(room, guest, checked_out=NOW - timedelta(days=181))
    recent = _stay_with_texts(room, guest, checked_out=NOW - timedelta(days=179))
    for _ in range(2):
        jobs.drop_old_stay_texts()
    db.session.rollback()
    bodies = dict(db.session.execute(select(StayMessage.booking_id, StayMessage.body)).all())
    assert bodies == {old.id: "", recent.id: "Please call me on +79990001122"}
    requests = {r.booking_id: r for r in db.session.scalars(select(ServiceRequest))}
    assert requests[old.id].details == {"items": [{"code": "tea", "amount": 100}]}
    assert (requests[old.id].rating, requests[old.id].rating_comment, requests[old.id].total_amount) == (5, None, 100)
    assert requests[recent.id].details["notes"] and requests[recent.id].rating_comment


def test_ended_sessions_and_spent_codes_are_purged_live_ones_kept() -> None:
    def session(expires: datetime, revoked: datetime | None = None) -> int:
        with unit_of_work():
            row = AuthSession(principal_kind="guest", principal_id=1, method="password", ip="10.0.0.1",
                              created_at=NOW - timedelta(days=90), last_seen_at=NOW, expires_at=expires,
                              revoked_at=revoked)
            db.session.add(row)
            db.session.flush()
            db.session.add(RefreshToken(session_id=row.id, jti=f"jti-{row.id}", issued_at=NOW, expires_at=expires))
        return row.id

    expired = session(NOW - timedelta(days=31))
    revoked = session(NOW + timedelta(days=10), revoked=NOW - timedelta(days=31))
    live = session(NOW + timedelta(days=10))
    recently_ended = session(NOW - timedelta(days=5))
    with unit_of_work():
        db.session.add_all([
            LoginCode(destination="+79990001122", code_hash="x" * 64, expires_at=NOW - timedelta(days=2)),
            LoginCode(destination="a@example.com", code_hash="y" * 64, expires_at=NOW + timedelta(minutes=5))])
    for _ in range(2):
        jobs.purge_stale_credentials()
    assert set(db.session.scalars(select(AuthSession.id))) == {live, recently_ended}
    assert _count(RefreshToken, RefreshToken.session_id.in_([expired, revoked])) == 0
    assert list(db.session.scalars(select(LoginCode.destination))) == ["a@example.com"]


def test_old_events_go_only_once_push_has_read_past_them(frozen) -> None:
    frozen(-timedelta(days=500))
    with unit_of_work():
        events = [record("booking.created", guest_id=1, subject_id=n) for n in range(3)]
        db.session.flush()  # record() leaves the INSERT to the next flush when nobody subscribes to the type
        ids = [event.id for event in events]
    frozen(timedelta(days=500))
    with unit_of_work():
        recent_event = record("booking.created", guest_id=1, subject_id=9)
        db.session.flush()
        recent = recent_event.id
        db.session.add(PushCursor(name="events", last_event_id=ids[1]))
    jobs.purge_old_events()
    assert list(db.session.scalars(select(DomainEvent.id).order_by(DomainEvent.id))) == [ids[1], ids[2], recent]
    with unit_of_work():
        db.session.get(PushCursor, "events").last_event_id = recent
    for _ in range(2):
        jobs.purge_old_events()
    assert _count(DomainEvent) == 1


def test_read_offers_leave_the_inbox_after_the_period() -> None:
    guest = make_guest()

    def notification(key: str, category: str, opened: datetime | None) -> None:
        with unit_of_work():
            db.session.add(Notification(guest_id=guest.id, category=category, dedupe_key=key, title={"en": "t"},
                                        body={"en": "b"}, push_state="queued", push_after=NOW - timedelta(days=200),
                                        attribution_ends_at=NOW, opened_at=opened))

    notification("old-read-offer", "offer", NOW - timedelta(days=91))
    notification("recent-read-offer", "offer", NOW - timedelta(days=10))
    notification("unread-offer", "offer", None)
    notification("old-read-booking", "booking", NOW - timedelta(days=300))
    for _ in range(2):
        jobs.purge_read_offers()
    assert sorted(db.session.scalars(select(Notification.dedupe_key))) == [
        "old-read-booking", "recent-read-offer", "unread-offer"]


def test_webhook_messages_go_after_the_period_unless_still_pending() -> None:
    partner = make_partner()
    with unit_of_work():
        endpoint = WebhookEndpoint(partner_id=partner.id, url="https://partner.example/hook")
        db.session.add(endpoint)
        for name, age, status in (("old-done", 100, "succeeded"), ("old-pending", 100, "pending"),
                                  ("new-done", 10, "succeeded")):
            message = WebhookMessage(msg_id=name, partner_id=partner.id, event_type="experience_booking.created",
                                     body='{"data": {"lead_name": "Vasilisa"}}', created_at=NOW - timedelta(days=age))
            db.session.add(WebhookDelivery(message=message, endpoint=endpoint, status=status, next_attempt_at=NOW))
    for _ in range(2):
        jobs.purge_old_webhook_messages()
    assert sorted(db.session.scalars(select(WebhookMessage.msg_id))) == ["new-done", "old-pending"]
    assert _count(WebhookDelivery) == 2
