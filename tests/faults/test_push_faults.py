"""FCM failing for a while (500, 503, 429, or not answering at all): deliveries back off, then all arrive, once each.

The real firebase-admin library talks HTTP to the local FCM-compatible server (app/push/dev_fcm_server.py). The
single-device rules (Retry-After honoured, giving up after PUSH_MAX_ATTEMPTS, a crash mid-send never resending,
concurrent senders) are in tests/push/test_push_services.py; these tests fail FCM for a whole audience.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.core import clock, events
from app.core.db import unit_of_work
from app.extensions import db
from app.push import fcm as push_fcm
from app.push import jobs
from app.push.dev_fcm_server import FcmServer
from app.push.models import Delivery
from tests.factories import make_guest, make_push_device

NOON_MOSCOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _audience(tokens: list[str]) -> None:
    """A guest with a device for each token, and a transactional push for every one (queued and tried at once)."""
    for token in tokens:
        guest = make_guest()
        make_push_device(guest, token=token)
        with unit_of_work():
            events.record("room.ready", guest_id=guest.id, subject_id=guest.id)
    jobs.queue_event_notifications()


def _statuses() -> dict[str, int]:
    return dict(db.session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())


def _delay_of(token_index: int) -> timedelta:
    delivery = db.session.scalars(select(Delivery).order_by(Delivery.id).offset(token_index).limit(1)).one()
    db.session.refresh(delivery)
    return delivery.next_attempt_at - clock.now()


def test_a_mixed_fcm_outage_backs_off_then_delivers_everything_once(app, fcm):
    base = app.config["PUSH_RETRY_BASE_SECONDS"]
    tokens = [f"fcm-outage-{n:02d}-abcdefghij" for n in range(6)]
    for token in tokens[0:2]:
        fcm.state.answer(token, "internal", times=3)
    for token in tokens[2:4]:
        fcm.state.answer(token, "unavailable", times=3)
    for token in tokens[4:6]:
        fcm.state.answer(token, "quota", times=1, retry_after=45)
    with clock.frozen(NOON_MOSCOW) as advance:
        _audience(tokens)
        delays = [_delay_of(0)]
        for _ in range(2):  # the next failing attempts, each once the previous back-off has passed
            advance(delays[-1] + timedelta(seconds=1))
            jobs.send_pending_pushes()
            delays.append(_delay_of(0))
        assert delays == [timedelta(seconds=base), timedelta(seconds=2 * base), timedelta(seconds=4 * base)]
        assert sorted(fcm.state.tokens()) == tokens[4:6]  # the quota-limited ones went once Retry-After had passed
        assert _statuses() == {"pending": 4, "sent": 2}
        advance(delays[-1] + timedelta(seconds=1))
        jobs.send_pending_pushes()
        for _ in range(3):  # later runs find nothing more to send
            advance(timedelta(hours=1))
            jobs.send_pending_pushes()
    assert sorted(fcm.state.tokens()) == sorted(tokens)  # nothing lost, nothing twice
    assert _statuses() == {"sent": 6}


def test_fcm_not_answering_at_all_is_retried_until_it_returns(app, fcm):
    """Connections refused (FCM unreachable): every delivery waits, and goes exactly once when FCM is back."""
    server = FcmServer(("127.0.0.1", 0)).start()
    port = server.server_address[1]
    app.config["FCM_ENDPOINT"] = server.url
    push_fcm.reset_sender()
    server.stop()
    try:
        with clock.frozen(NOON_MOSCOW) as advance:
            tokens = [f"fcm-unreachable-{n:02d}-abcdefghij" for n in range(4)]
            _audience(tokens)
            for _ in range(2):
                advance(timedelta(minutes=5))
                jobs.send_pending_pushes()
            assert _statuses() == {"pending": 4}
            assert db.session.scalar(select(func.min(Delivery.attempts))) == 3
            server = FcmServer(("127.0.0.1", port)).start()
            for _ in range(3):
                advance(timedelta(minutes=5))
                jobs.send_pending_pushes()
        assert sorted(server.state.tokens()) == sorted(tokens)
        assert _statuses() == {"sent": 4}
    finally:
        server.stop()
        push_fcm.reset_sender()
