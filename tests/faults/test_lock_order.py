"""Lock order under concurrency (PostgreSQL): what bench/run-load found deadlocking stays fixed.

A guest creating a request inserts a row that points at the booking, so until commit the guest's transaction holds
a KEY SHARE lock on the booking row (PostgreSQL's foreign-key check), then records an event (the event lock). A
staff member completing another request of that stay holds the event lock and posts the charge, which locks the
booking. With FOR UPDATE the two waited for each other; post_charge now takes FOR NO KEY UPDATE, which a KEY SHARE
lock does not block. The test holds the guest's lock in a second connection and posts a charge meanwhile, with a
lock timeout so that a regression fails instead of hanging.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.bookings.services.folio import post_charge
from app.core.db import unit_of_work
from app.extensions import db
from tests.factories import make_guest, make_hotel, make_room, make_room_type, make_stay


@pytest.fixture
def postgresql_only():
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row lock modes are PostgreSQL's")


def test_posting_a_charge_does_not_wait_for_rows_being_inserted_for_the_stay(postgresql_only):
    stay = make_stay(make_guest(), make_room(make_room_type(make_hotel())))
    with db.engine.connect() as guest_transaction:
        guest_transaction.execute(text("SELECT id FROM bookings WHERE id = :id FOR KEY SHARE"), {"id": stay.id})
        with unit_of_work():
            db.session.execute(text("SET LOCAL lock_timeout = '5s'"))
            charge = post_charge(booking_id=stay.id, kind="room_service", amount=50000, source="request:1",
                                 description={"en": "Tea"})
        guest_transaction.rollback()
    assert charge.id is not None
