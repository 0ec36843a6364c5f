"""Idempotency-Key: retries return the first response and create nothing; concurrent duplicates create one record."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.core import clock
from app.core.db import unit_of_work
from app.core.idempotency import IdempotencyRecord
from app.extensions import db
from app.guests.models import Guest
from tests.factories import make_hotel, make_staff


def guest_count() -> int:
    db.session.commit()  # end this session's snapshot so that other sessions' commits are visible
    return db.session.scalar(select(func.count()).select_from(Guest))


@pytest.fixture
def desk(auth_headers):
    hotel = make_hotel()
    return hotel, auth_headers(make_staff(hotels=[hotel]))


def walk_in(client, headers, hotel, key, phone="+79995550011", **extra):
    return client.post("/api/v1/staff/guests", headers={**headers, "Idempotency-Key": key}, json={
        "hotel_id": hotel.id, "first_name": "Pavel", "last_name": "Petrov", "phone": phone, **extra})


def test_a_replay_returns_the_stored_response_and_creates_nothing(client, desk):
    hotel, headers = desk
    first = walk_in(client, headers, hotel, "key-1")
    replay = walk_in(client, headers, hotel, "key-1")
    assert first.status_code == replay.status_code == 201
    assert replay.json == first.json
    assert replay.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert guest_count() == 1


def test_json_key_order_does_not_make_a_different_request(client, desk):
    hotel, headers = desk
    body = f'{{"hotel_id": {hotel.id}, "first_name": "P", "last_name": "Q", "phone": "+79995550011"}}'
    reordered = f'{{"phone": "+79995550011", "last_name": "Q", "first_name": "P", "hotel_id": {hotel.id}}}'
    h = {**headers, "Idempotency-Key": "k", "Content-Type": "application/json"}
    assert client.post("/api/v1/staff/guests", headers=h, data=body).status_code == 201
    assert client.post("/api/v1/staff/guests", headers=h, data=reordered).headers["Idempotent-Replayed"] == "true"


def test_the_same_key_with_another_body_is_refused(client, desk):
    hotel, headers = desk
    walk_in(client, headers, hotel, "key-1")
    other = walk_in(client, headers, hotel, "key-1", phone="+79995550022")
    assert other.status_code == 422 and other.json["code"] == "idempotency_key_reused"
    assert guest_count() == 1


def test_keys_are_scoped_to_the_caller(client, auth_headers, desk):
    hotel, headers = desk
    colleague = auth_headers(make_staff(hotels=[hotel]))
    assert walk_in(client, headers, hotel, "shared-key").status_code == 201
    second = walk_in(client, colleague, hotel, "shared-key", phone="+79995550022")
    assert second.status_code == 201 and "Idempotent-Replayed" not in second.headers
    assert guest_count() == 2


def test_a_refused_request_is_not_stored_and_can_be_retried_with_its_key(client, desk):
    hotel, headers = desk
    bad = walk_in(client, headers, hotel, "key-1", birth_date="not a date")
    assert bad.status_code == 422
    fixed = walk_in(client, headers, hotel, "key-1")
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed.headers


def test_a_malformed_key_is_a_400(client, desk):
    hotel, headers = desk
    response = walk_in(client, headers, hotel, "x" * 256)
    assert response.status_code == 400 and response.json["code"] == "idempotency_key_invalid"


def test_a_key_in_progress_is_refused_until_its_claim_goes_stale(client, desk, app):
    hotel, headers = desk
    # Fingerprint the real request first, then put its claim back as if a request were still running.
    assert walk_in(client, headers, hotel, "busy").status_code == 201
    with unit_of_work():
        record = db.session.scalars(select(IdempotencyRecord)).one()
        record.status_code, record.body, record.locked_at = None, None, clock.now()
        db.session.execute(Guest.__table__.delete())
    in_progress = walk_in(client, headers, hotel, "busy")
    assert in_progress.status_code == 409 and in_progress.json["code"] == "idempotency_key_in_use"
    assert in_progress.headers["Retry-After"]

    with clock.frozen(clock.now() + timedelta(minutes=2)):
        taken_over = walk_in(client, headers, hotel, "busy")
    assert taken_over.status_code == 201 and guest_count() == 1


def test_an_expired_key_starts_afresh(client, desk):
    hotel, headers = desk
    walk_in(client, headers, hotel, "old")
    with clock.frozen(clock.now() + timedelta(hours=25)):
        again = walk_in(client, headers, hotel, "old")
    assert again.status_code == 409 and again.json["code"] == "guest_exists"  # executed again, not replayed


def test_anonymous_register_honours_the_key(client):
    body = {"email": "new@example.com", "password": "long enough pw"}
    first = client.post("/api/v1/auth/register", json=body, headers={"Idempotency-Key": "reg-1"})
    replay = client.post("/api/v1/auth/register", json=body, headers={"Idempotency-Key": "reg-1"})
    assert first.status_code == replay.status_code == 201 and replay.json == first.json
    assert guest_count() == 1


@pytest.mark.slow
def test_fifty_parallel_identical_posts_create_one_record(app, desk):
    hotel, headers = desk

    def post(_: int):
        response = walk_in(app.test_client(), headers, hotel, "storm")
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(post, range(50)))

    statuses = [status for status, _ in results]
    assert set(statuses) <= {201, 409}, statuses
    assert statuses.count(201) >= 1
    assert all(body["code"] == "idempotency_key_in_use" for status, body in results if status == 409)
    bodies = {body["id"] for status, body in results if status == 201}
    assert len(bodies) == 1
    assert guest_count() == 1
