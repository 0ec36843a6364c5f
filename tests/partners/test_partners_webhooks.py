"""Webhooks to a real local HTTP receiver, verified the way the Standard Webhooks description tells a receiver to."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.core import clock
from app.extensions import db
from app.partners.clients import AddressNotAllowed, WebhookClient, public_addresses
from app.partners.jobs import send_partner_webhooks
from app.partners.models import WebhookMessage
from config import ProductionConfig
from tests.factories import headers_for, make_guest, make_hotel
from tests.partners.factories import make_offering, make_partner, make_slot, partner_headers

API = "/api/v1"
SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


# -- a receiver written from https://www.standardwebhooks.com/ (not from app.partners.clients) ------------------

class InvalidSignature(Exception):
    pass


def verify(secret: str, headers: dict[str, str], body: bytes, *, now: int, tolerance: int = 300) -> dict:
    """Verify like the spec says: base64 HMAC-SHA256 of "{id}.{timestamp}.{body}" keyed with the base64-decoded
    secret after "whsec_"; any of the space-separated "v1,<sig>" may match; the timestamp must be recent."""
    msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(now - int(timestamp)) > tolerance:
        raise InvalidSignature("timestamp outside tolerance")
    key = base64.b64decode(secret.split("_", 1)[1])
    expected = base64.b64encode(hmac.new(key, msg_id.encode() + b"." + timestamp.encode() + b"." + body,
                                         hashlib.sha256).digest()).decode()
    for candidate in headers["webhook-signature"].split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            return json.loads(body)
    raise InvalidSignature("no matching signature")


class Receiver:
    """A threaded HTTP server on an ephemeral port that records requests and answers from a script of statuses."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []  # answered in order; 204 once exhausted
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def distinct_ids(self) -> set[str]:
        return {headers["webhook-id"] for headers, _ in self.requests}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def shop(client, receiver):
    """A partner with a registered endpoint, a slot, and a guest who books paying at the partner."""
    hotel = make_hotel()
    partner = make_partner(hotels=[hotel])
    slot = make_slot(make_offering(partner), capacity=10)
    key = partner_headers(partner)
    endpoint = client.post(f"{API}/partner/webhooks", json={"url": receiver.url}, headers=key)
    assert endpoint.status_code == 201 and endpoint.json["secret"].startswith("whsec_")
    guest = make_guest()

    def book() -> dict:
        response = client.post(f"{API}/experience-bookings", headers=headers_for(guest), json={
            "hotel_id": hotel.id, "slot_id": slot.id, "party_size": 1, "language": "en", "payment": "at_partner"})
        assert response.status_code == 201, response.json
        return response.json

    return {"key": key, "endpoint": endpoint.json, "guest": guest, "book": book}


def now_ts() -> int:
    return int(clock.now().timestamp())


def test_new_and_cancelled_bookings_arrive_signed_once_each(client, receiver, shop):
    booking = shop["book"]()
    assert receiver.requests == []  # nothing is sent inside the booking's transaction
    assert send_partner_webhooks() == 1
    headers, body = receiver.requests[0]
    event = verify(shop["endpoint"]["secret"], headers, body, now=now_ts())
    assert event["type"] == "experience_booking.created" and event["data"]["id"] == booking["id"]
    assert event["data"]["lead_name"] and event["data"]["contact"] is None
    assert "guest_id" not in event["data"] and "voucher_code" not in event["data"]
    assert headers["webhook-id"].startswith("msg_")
    with pytest.raises(InvalidSignature):
        verify("whsec_" + base64.b64encode(b"x" * 32).decode(), headers, body, now=now_ts())
    with pytest.raises(InvalidSignature):
        verify(shop["endpoint"]["secret"], headers, body.replace(b"en", b"ru"), now=now_ts())

    assert send_partner_webhooks() == 0  # delivered: never sent again
    client.post(f"{API}/experience-bookings/{booking['id']}/actions/cancel", headers=headers_for(shop["guest"]))
    send_partner_webhooks()
    cancelled = verify(shop["endpoint"]["secret"], *receiver.requests[1], now=now_ts())
    assert cancelled["type"] == "experience_booking.cancelled" and cancelled["data"]["status"] == "cancelled"
    assert len(receiver.requests) == 2 and len(receiver.distinct_ids()) == 2


def test_during_a_rotation_both_secrets_sign_and_the_old_one_expires(client, receiver, shop):
    old = shop["endpoint"]["secret"]
    rotated = client.post(f"{API}/partner/webhooks/{shop['endpoint']['id']}/actions/rotate-secret",
                          headers=shop["key"])
    assert rotated.status_code == 200
    new = rotated.json["secret"]
    assert new != old
    shop["book"]()
    send_partner_webhooks()
    headers, body = receiver.requests[0]
    assert len(headers["webhook-signature"].split(" ")) == 2
    verify(old, headers, body, now=now_ts())
    verify(new, headers, body, now=now_ts())

    with clock.frozen(clock.now() + timedelta(hours=25)):
        shop["book"]()
        send_partner_webhooks()
        headers, body = receiver.requests[1]
        verify(new, headers, body, now=now_ts())
        with pytest.raises(InvalidSignature):
            verify(old, headers, body, now=now_ts())


def test_a_failing_receiver_is_retried_with_back_off_under_the_same_id(client, receiver, shop):
    receiver.statuses = [500, 503]
    with clock.frozen(clock.now()) as advance:
        shop["book"]()
        assert send_partner_webhooks() == 1
        assert send_partner_webhooks() == 0  # not due yet: back-off
        advance(timedelta(seconds=5))
        assert send_partner_webhooks() == 1
        advance(timedelta(seconds=299))
        assert send_partner_webhooks() == 0
        advance(timedelta(seconds=1))
        assert send_partner_webhooks() == 1
        advance(timedelta(days=2))
        assert send_partner_webhooks() == 0  # delivered: no more

        assert len(receiver.requests) == 3
        assert len(receiver.distinct_ids()) == 1  # one event: the receiver de-duplicates by webhook-id
        assert len({body for _, body in receiver.requests}) == 1
        for headers, body in receiver.requests:
            verify(shop["endpoint"]["secret"], headers, body, now=int(headers["webhook-timestamp"]))

    log = client.get(f"{API}/partner/webhooks/deliveries", headers=shop["key"]).json["items"]
    assert len(log) == 1
    delivery = log[0]
    assert delivery["status"] == "succeeded" and delivery["attempts"] == 3
    assert delivery["msg_id"] == receiver.requests[0][0]["webhook-id"]
    assert [attempt["status_code"] for attempt in delivery["log"]] == [500, 503, 204]
    assert delivery["event_type"] == "experience_booking.created"


def test_after_the_last_retry_a_delivery_fails_and_can_be_sent_again(app, client, receiver, shop, monkeypatch):
    monkeypatch.setitem(app.config, "PARTNER_WEBHOOK_RETRY_SECONDS", [1, 1])
    receiver.statuses = [500, 500, 500]
    with clock.frozen(clock.now()) as advance:
        shop["book"]()
        for _ in range(5):
            send_partner_webhooks()
            advance(timedelta(seconds=1))
    failed = client.get(f"{API}/partner/webhooks/deliveries", headers=shop["key"],
                        query_string={"status": "failed"}).json["items"]
    assert len(failed) == 1 and failed[0]["attempts"] == 3 and len(receiver.requests) == 3

    retried = client.post(f"{API}/partner/webhooks/deliveries/{failed[0]['id']}/actions/retry", headers=shop["key"])
    assert retried.json["status"] == "pending"
    send_partner_webhooks()
    assert len(receiver.requests) == 4 and len(receiver.distinct_ids()) == 1
    foreign = partner_headers(make_partner(city="Sochi"))
    assert client.get(f"{API}/partner/webhooks/deliveries", headers=foreign).json["items"] == []
    assert client.post(f"{API}/partner/webhooks/deliveries/{failed[0]['id']}/actions/retry",
                       headers=foreign).status_code == 404


def test_an_unreachable_receiver_is_logged_and_retried(client, receiver, shop):
    receiver.server.shutdown()
    receiver.server.server_close()  # nothing listens on the port any more
    shop["book"]()
    send_partner_webhooks()
    delivery = client.get(f"{API}/partner/webhooks/deliveries", headers=shop["key"]).json["items"][0]
    assert delivery["status"] == "pending" and delivery["last_status_code"] is None
    assert delivery["last_error"] and delivery["attempts"] == 1


def test_without_an_endpoint_nothing_is_queued_and_a_removed_endpoint_gets_nothing(client, receiver, shop):
    removed = client.delete(f"{API}/partner/webhooks/{shop['endpoint']['id']}", headers=shop["key"])
    assert removed.status_code == 204
    assert client.get(f"{API}/partner/webhooks", headers=shop["key"]).json == []
    shop["book"]()
    send_partner_webhooks()
    assert receiver.requests == []
    assert db.session.query(WebhookMessage).count() == 0


def test_a_webhook_url_must_be_http_or_https(client, shop):
    for url in ("ftp://example.com/x", "not a url", "javascript:alert(1)"):
        response = client.post(f"{API}/partner/webhooks", json={"url": url}, headers=shop["key"])
        assert response.status_code == 422, url


# -- no webhooks into the chain's own network (SSRF) --------------------------------------------------------------

def test_in_production_a_webhook_to_a_private_address_is_refused_and_nothing_is_sent(app, client, receiver, shop,
                                                                                   monkeypatch):
    monkeypatch.setitem(app.config, "PARTNER_WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False)  # production's default
    assert ProductionConfig.PARTNER_WEBHOOK_ALLOW_PRIVATE_ADDRESSES is False
    shop["book"]()
    send_partner_webhooks()
    assert receiver.requests == []  # the local receiver (127.0.0.1) never got a connection
    delivery = client.get(f"{API}/partner/webhooks/deliveries", headers=shop["key"]).json["items"][0]
    assert delivery["status"] == "pending" and delivery["last_status_code"] is None
    assert "not a public address" in delivery["last_error"]


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hooks", "http://localhost:9/hooks", "http://10.1.2.3/hooks", "http://192.168.0.10/hooks",
    "http://169.254.169.254/latest/meta-data/", "http://100.64.0.1/hooks", "http://0.0.0.0:9/hooks",
    "http://[::1]:9/hooks", "http://[::ffff:10.0.0.1]/hooks", "https://127.0.0.1:9/hooks",
])
def test_the_guarded_client_never_connects_to_non_public_addresses(url):
    result = WebhookClient(timeout=1).send(url=url, msg_id="msg_1", body="{}", secrets=(SECRET,), timestamp=0)
    assert result.status_code is None and "not a public address" in (result.error or "")


def test_public_addresses_pass_the_check():
    assert public_addresses("93.184.216.34", 443)  # an address literal: no DNS needed
    with pytest.raises(AddressNotAllowed):
        public_addresses("10.0.0.1", 80)
