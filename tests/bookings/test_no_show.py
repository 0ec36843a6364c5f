"""The night audit: a booking nobody checked in becomes a no-show the morning after arrival, in the hotel's time.

The job runs as the scheduler runs it (app.bookings.jobs.record_no_shows); the guest sees the outcome through the
API: the booking's status and fee, the closed folio, the nights back on sale, a push in the inbox.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial

from sqlalchemy import select

from app.bookings import jobs
from app.bookings.models import Booking
from app.bookings.services import no_show
from app.core import clock
from app.core.events import events_after
from app.extensions import db
from app.push import jobs as push_jobs
from tests.bookings.conftest import book, booked_count, transaction_held_open
from tests.factories import headers_for, make_guest


def _at(moment: str, advance) -> None:
    advance(datetime.fromisoformat(moment).replace(tzinfo=UTC) - clock.now())


def _booking(client, guest, booking_id: int) -> dict:
    return client.get(f"/api/v1/bookings/{booking_id}", headers=headers_for(guest)).json


def test_a_guest_who_never_arrives_is_a_no_show_at_the_audit_hour_of_their_hotel(client, chain, time_machine):
    resort, ski = chain["resort"], chain["ski"]  # Moscow (UTC+3) and Novokuznetsk (UTC+7)
    guest = make_guest()
    by_the_sea = book(client, guest, resort, check_in="2027-01-11", check_out="2027-01-13").json
    in_the_snow = book(client, guest, ski, check_in="2027-01-11", check_out="2027-01-13").json
    arrives_today = book(client, guest, ski, check_in="2027-01-12", check_out="2027-01-14").json

    _at("2027-01-12T00:59:00", time_machine)  # 03:59 by the sea, 07:59 in the snow
    assert jobs.record_no_shows() == 1
    assert _booking(client, guest, by_the_sea["id"])["status"] == "confirmed"  # may still arrive tonight
    assert _booking(client, guest, arrives_today["id"])["status"] == "confirmed"
    missed = _booking(client, guest, in_the_snow["id"])
    assert missed["status"] == "no_show" and missed["cancellation_fee"] == in_the_snow["price"]["nights"][0]["total"]

    _at("2027-01-12T01:00:00", time_machine)  # 04:00 by the sea
    assert jobs.record_no_shows() == 1
    assert jobs.record_no_shows() == 0  # nothing twice
    closed = _booking(client, guest, by_the_sea["id"])
    assert closed["status"] == "no_show" and closed["cancellation_fee"] > 0
    folio = client.get(f"/api/v1/stays/{by_the_sea['id']}/folio", headers=headers_for(guest)).json
    assert folio["status"] == "closed" and folio["balance"] == closed["cancellation_fee"]
    assert [(charge["kind"], charge["amount"]) for charge in folio["charges"]] == [("fee", closed["cancellation_fee"])]
    # The arrival night was held and is paid for; the next one is on sale again.
    assert booked_count(resort.room_type.id, "2027-01-11") == 1
    assert booked_count(resort.room_type.id, "2027-01-12") == 0

    for action in ("check-in", "cancel"):
        late = client.post(f"/api/v1/bookings/{by_the_sea['id']}/actions/{action}", headers=headers_for(guest))
        assert late.status_code == 409
    no_shows = [event for event in events_after(0, limit=100) if event.type == "booking.no_show"]
    assert {event.subject_id for event in no_shows} == {by_the_sea["id"], in_the_snow["id"]}
    push_jobs.queue_event_notifications()
    inbox = client.get("/api/v1/me/inbox", headers=headers_for(guest)).json["items"]
    assert [item["title"] for item in inbox].count("We missed you") == 2


def test_checked_in_and_cancelled_bookings_are_left_alone(client, chain, time_machine):
    resort, guest = chain["resort"], make_guest()
    stayed = book(client, guest, resort, check_in="2027-01-10", check_out="2027-01-12").json
    cancelled = book(client, guest, resort, check_in="2027-01-10", check_out="2027-01-12").json
    assert client.post(f"/api/v1/bookings/{stayed['id']}/actions/check-in",
                       headers=headers_for(guest)).status_code == 200
    client.post(f"/api/v1/bookings/{cancelled['id']}/actions/cancel", headers=headers_for(guest))

    _at("2027-01-11T12:00:00", time_machine)
    assert jobs.record_no_shows() == 0
    assert _booking(client, guest, stayed["id"])["status"] == "in_house"
    assert _booking(client, guest, cancelled["id"])["status"] == "cancelled"


def test_a_check_in_racing_the_audit_waits_for_it_and_is_refused(app, client, chain, time_machine):
    """The audit has closed the booking but not committed yet when the guest taps check-in (PostgreSQL lets the
    check-in read the booking meanwhile): the check-in must wait and see the no-show, not check in over it."""
    guest = make_guest()
    booking = book(client, guest, chain["resort"], check_in="2027-01-11", check_out="2027-01-13").json
    _at("2027-01-12T01:00:00", time_machine)
    db.session.remove()

    def check_in() -> tuple[int, str]:
        with app.app_context():
            response = app.test_client().post(f"/api/v1/bookings/{booking['id']}/actions/check-in",
                                              headers=headers_for(guest))
            return response.status_code, response.json.get("code")

    audit = partial(no_show.record_no_show, booking_id=booking["id"], now=clock.now(), audit_hour=4)
    with ThreadPoolExecutor(1) as pool, transaction_held_open(app, audit) as audited:
        checking_in = pool.submit(check_in)
        time.sleep(0.3)  # the check-in is under way, waiting for the audit's transaction
    assert audited.result() is True and checking_in.result() == (409, "booking_not_checkable")
    stored = db.session.scalar(select(Booking).where(Booking.id == booking["id"]))
    assert (stored.status, stored.room_id) == ("no_show", None)
