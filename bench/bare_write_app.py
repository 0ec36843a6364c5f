"""The ceiling for request creation on this machine: POST /requests written by hand, with nothing of the app in it.

    DATABASE_URL=sqlite:////path/requests.db gunicorn bench.bare_write_app:app    POST /requests -> 201

bench/run-requests serves it like wsgi:app and bench.hello_app:app, on the SQLite file its part (b) prepared, and
reports its throughput beside theirs: how far the app's own layers (ORM, unit of work, events, idempotency, the
error and security plumbing) are from the least that this Python stack can do for the same write. The issue's
target (0.35 x hello) is measured against it in bench/requests-RESULTS.md.

It does the work `POST /api/v1/requests` does for a room-service order, and no less, so the comparison is fair:
- the bearer token's signature and expiry checked (PyJWT, HS256, the app's key) and its session looked up (one
  SELECT: not revoked, not expired, the guest still allowed in), as every authenticated call does;
- the body validated by a marshmallow schema (stay, type, one to twenty items of 1-99);
- one writer at a time, queued as the app queues them (a thread lock, then an flock beside the database file, then
  BEGIN IMMEDIATE): without it SQLite's busy handler sleeps and the figure would be lower, not fairer;
- in that transaction: the guest's in-house stay with its room and hotel, each catalogue item, the SLA target read;
  the request, its transition, its alert and the two events inserted into the app's own tables; COMMIT;
- the answer: the request as JSON, 201.

What it leaves out, on purpose, is everything an application needs beyond that one happy path: the ORM and its
identity map, problem+json errors, the idempotency mechanism (the bench sends no key), the security headers, the
request id, rate limits, the staff alert fan-out and stream, localisation. SQLite only: the app's PostgreSQL figure
is lower still (one round trip per statement on the same two cores).
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import jwt
from flask import Flask, Response, request
from marshmallow import Schema, ValidationError, fields, validate

from config import DEV_SECRET

DATABASE_PATH = os.environ.get("DATABASE_URL", "").removeprefix("sqlite:///")
JWT_KEY = os.environ.get("JWT_SECRET_KEY", DEV_SECRET)

app = Flask(__name__)


class ItemSchema(Schema):
    item_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=99))


class OrderSchema(Schema):
    stay_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    type = fields.String(required=True, validate=validate.OneOf(["room_service"]))
    items = fields.List(fields.Nested(ItemSchema), required=True, validate=validate.Length(min=1, max=20))
    notes = fields.String(load_default=None, validate=validate.Length(max=500))


ORDER_SCHEMA = OrderSchema()

_local = threading.local()
_writer_thread_lock = threading.Lock()
_writer_file_lock: dict[int, int] = {}  # pid -> descriptor: an flock belongs to the open file, one per process


def _connection() -> sqlite3.Connection:
    connection = getattr(_local, "connection", None)
    if connection is None:
        connection = sqlite3.connect(DATABASE_PATH, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=5000", "synchronous=NORMAL"):
            connection.execute(f"PRAGMA {pragma}")
        _local.connection = connection
    return connection


def _lock_writer() -> None:
    _writer_thread_lock.acquire()
    descriptor = _writer_file_lock.get(os.getpid())
    if descriptor is None:
        descriptor = _writer_file_lock[os.getpid()] = os.open(f"{DATABASE_PATH}.writer-lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(descriptor, fcntl.LOCK_EX)


def _unlock_writer() -> None:
    fcntl.flock(_writer_file_lock[os.getpid()], fcntl.LOCK_UN)
    _writer_thread_lock.release()


def _problem(status: int, code: str) -> Response:
    return Response(json.dumps({"status": status, "code": code}), status, mimetype="application/problem+json")


def _stored(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


@app.get("/healthz")
def healthz() -> Response:  # bench/run-requests waits for it before loading the server
    return Response("ok", mimetype="text/plain")


@app.post("/requests")
def create_request() -> Response:
    header = request.headers.get("Authorization", "")
    try:
        claims = jwt.decode(header.removeprefix("Bearer "), JWT_KEY, algorithms=["HS256"])
        kind, guest_id = claims["sub"].split(":")  # "guest:12"
        guest_id = int(guest_id)
    except (jwt.PyJWTError, KeyError, ValueError):
        return _problem(401, "token_invalid")
    connection = _connection()
    now = datetime.now(UTC)
    session = connection.execute(
        "SELECT s.revoked_at, s.expires_at FROM auth_sessions s JOIN guests g ON g.id = s.principal_id"
        " WHERE s.id = ? AND s.principal_kind = ? AND s.principal_id = ? AND g.is_active = 1"
        " AND g.merged_into_id IS NULL", (claims.get("sid"), kind, guest_id)).fetchone()
    if kind != "guest" or session is None or session[0] is not None or session[1] <= _stored(now):
        return _problem(401, "session_ended")
    try:
        order = ORDER_SCHEMA.load(request.get_json())
    except ValidationError:
        return _problem(422, "validation_failed")

    _lock_writer()
    try:
        connection.execute("BEGIN IMMEDIATE")
        try:
            stay = connection.execute(
                "SELECT b.id, b.hotel_id, b.room_id, b.currency, r.number, h.time_zone FROM bookings b"
                " JOIN rooms r ON r.id = b.room_id JOIN hotels h ON h.id = b.hotel_id"
                " WHERE b.id = ? AND b.guest_id = ? AND b.status = 'in_house'", (order["stay_id"], guest_id)).fetchone()
            if stay is None:
                connection.execute("ROLLBACK")
                return _problem(404, "not_found")
            stay_id, hotel_id, room_id, currency, room_number, _time_zone = stay
            lines = []
            for line in order["items"]:
                item = connection.execute(
                    "SELECT id, code, name, price FROM catalog_items WHERE id = ? AND hotel_id = ? AND type = ?"
                    " AND is_active = 1", (line["item_id"], hotel_id, "room_service")).fetchone()
                if item is None:
                    connection.execute("ROLLBACK")
                    return _problem(422, "unknown_catalog_item")
                lines.append({"item_id": item[0], "code": item[1], "name": item[2], "quantity": line["quantity"],
                              "unit_price": item[3], "amount": item[3] * line["quantity"]})
            target = connection.execute(
                "SELECT acknowledge_minutes, complete_minutes FROM sla_policies WHERE hotel_id = ?"
                " AND request_type = ?", (hotel_id, "room_service")).fetchone() or (5, 45)
            details = {"items": lines, "notes": order["notes"], "deliver_at": None}
            total = sum(line["amount"] for line in lines)
            at, acknowledge_due = _stored(now), _stored(now + timedelta(minutes=target[0]))
            complete_due = _stored(now + timedelta(minutes=target[1]))
            request_id = connection.execute(
                "INSERT INTO service_requests (hotel_id, booking_id, guest_id, room_id, room_number, type, department,"
                " status, details, total_amount, currency, created_by_kind, acknowledge_due_at, complete_due_at,"
                " due_at, is_open, is_paused, paused_seconds, waiting_dnd, sla_breached, escalation_level,"
                " created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1,0,0,0,0,0,?,?)",
                (hotel_id, stay_id, guest_id, room_id, room_number, "room_service", "kitchen", "new",
                 json.dumps(details), total, currency, "guest", acknowledge_due, complete_due, acknowledge_due,
                 at, at)).lastrowid
            connection.execute(
                "INSERT INTO request_transitions (request_id, action, from_status, to_status, actor_kind, actor_id, at)"
                " VALUES (?, 'created', NULL, 'new', 'guest', ?, ?)", (request_id, guest_id, at))
            connection.execute(
                "INSERT INTO domain_events (type, hotel_id, guest_id, subject_id, payload, occurred_at)"
                " VALUES ('request.created', ?, ?, ?, ?, ?)",
                (hotel_id, guest_id, request_id, json.dumps({
                    "request_id": request_id, "type": "room_service", "department": "kitchen", "status": "new",
                    "room_number": room_number, "due_at": acknowledge_due, "actor_kind": "guest",
                    "actor_id": guest_id}), at))
            alert_id = connection.execute(
                "INSERT INTO staff_alerts (hotel_id, request_id, kind, audience, level, created_at, next_at,"
                " deliveries) VALUES (?, ?, 'new_request', 'kitchen', 0, ?, ?, 1)",
                (hotel_id, request_id, at, at)).lastrowid
            connection.execute(
                "INSERT INTO domain_events (type, hotel_id, guest_id, subject_id, payload, occurred_at)"
                " VALUES ('request.alerted', ?, NULL, ?, ?, ?)",
                (hotel_id, request_id, json.dumps({"alert_id": alert_id, "audience": "kitchen"}), at))
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
    finally:
        _unlock_writer()
    answer = {"id": request_id, "stay_id": stay_id, "hotel_id": hotel_id, "room_number": room_number,
              "type": "room_service", "status": "new", "details": details, "total_amount": total,
              "currency": currency, "waiting_dnd": False, "created_at": now.isoformat(), "transitions": []}
    return Response(json.dumps(answer), 201, mimetype="application/json")

