"""Service requests through the API, as the guest app and the staff console use them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import marshmallow as ma
import pytest

from app.core import clock
from app.core.auth import Role
from app.core.events import events_after
from app.extensions import db
from app.requests.models import RequestTransition, ServiceRequest
from app.requests.schemas import GuestRequestSchema, dump_guest_request
from tests.factories import (
    headers_for,
    make_catalog_item,
    make_guest,
    make_hotel,
    make_room,
    make_room_type,
    make_staff,
    make_stay,
)

T0 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)  # 12:00 in Moscow


def folio(client, world):
    return client.get(f"/api/v1/stays/{world.stay.id}/folio", headers=world.guest_headers).json


# -- catalogue -----------------------------------------------------------------------------------------------------

def test_catalogue_is_localised_and_managed_by_the_hotel_manager(client, world) -> None:
    menu = client.get(f"/api/v1/hotels/{world.hotel.id}/catalog?type=room_service",
                      headers={"Accept-Language": "ru"}).json
    assert [(item["code"], item["name"], item["price"]) for item in menu] == [("borscht", "Борщ", 45000)]

    created = client.post(f"/api/v1/staff/hotels/{world.hotel.id}/catalog", headers=world.manager_headers, json={
        "type": "room_service", "code": "blini", "name": {"en": "Pancakes", "ru": "Блины"}, "price": 39000,
        "available_from": "07:00", "available_until": "11:00"})
    assert created.status_code == 201
    duplicate = client.post(f"/api/v1/staff/hotels/{world.hotel.id}/catalog", headers=world.manager_headers,
                            json={"type": "room_service", "code": "blini", "name": {"en": "Again"}})
    assert duplicate.status_code == 409 and duplicate.json["code"] == "catalog_code_taken"
    assert client.post(f"/api/v1/staff/hotels/{world.hotel.id}/catalog", headers=world.desk_headers, json={
        "type": "repair", "code": "x", "name": {"en": "X"}}).status_code == 403
    stranger = headers_for(make_staff(Role.HOTEL_MANAGER, hotels=[make_hotel()]))
    assert client.patch(f"/api/v1/staff/catalog/{world.dish.id}", json={"price": 1}, headers=stranger).status_code \
        == 404

    client.patch(f"/api/v1/staff/catalog/{world.dish.id}", json={"is_active": False}, headers=world.manager_headers)
    names = [item["name"] for item in client.get(f"/api/v1/hotels/{world.hotel.id}/catalog").json]
    assert "Pancakes" in names and "Borscht" not in names


def test_room_service_outside_serving_hours_is_refused(client, world) -> None:
    breakfast = make_catalog_item(world.hotel, "room_service", available_from="07:00", available_until="11:00")
    with clock.frozen(T0):  # 12:00 hotel time
        late = world.order(client, {"type": "room_service", "items": [{"item_id": breakfast.id}]})
        assert late.status_code == 422 and late.json["code"] == "outside_serving_hours"
        tomorrow = (T0 + timedelta(hours=22)).isoformat()  # 10:00 hotel time
        ok = world.order(client, {"type": "room_service", "items": [{"item_id": breakfast.id}], "deliver_at": tomorrow})
        assert ok.status_code == 201 and ok.json["details"]["deliver_at"] == tomorrow


# -- each type end to end ------------------------------------------------------------------------------------------

def test_room_service_order_end_to_end_posts_its_charge_once(client, world) -> None:
    created = world.order(client, {"type": "room_service", "items": [{"item_id": world.dish.id, "quantity": 2}],
                                   "notes": "no sour cream"})
    assert created.status_code == 201
    order = created.json
    assert (order["status"], order["total_amount"], order["room_number"]) == ("new", 90000, "305")
    assert order["details"]["items"][0]["amount"] == 90000
    rid = order["id"]
    for action, status in (("acknowledge", "acknowledged"), ("assign", "assigned"), ("start", "in_progress"),
                           ("complete", "done")):
        response = world.act(client, rid, action)
        assert response.status_code == 200 and response.json["status"] == status
    assert world.act(client, rid, "complete").status_code == 409
    bill = folio(client, world)
    assert [(c["kind"], c["amount"]) for c in bill["charges"]] == [("room_service", 90000)]
    seen = client.get(f"/api/v1/requests/{rid}", headers=world.guest_headers).json
    assert seen["status"] == "done" and seen["completed_at"]
    detail = client.get(f"/api/v1/staff/requests/{rid}", headers=world.desk_headers).json
    assert [t["action"] for t in detail["transitions"]] == ["created", "acknowledged", "assigned", "started",
                                                            "completed"]
    assert {t["actor_kind"] for t in detail["transitions"][1:]} == {"staff"}
    assert all(t["at"] for t in detail["transitions"])
    assert [e.type for e in events_after(0, types=["request.created", "request.acknowledged", "request.assigned",
                                                   "request.started", "request.completed"])] == [
        "request.created", "request.acknowledged", "request.assigned", "request.started", "request.completed"]
    assert all(e.hotel_id == world.hotel.id for e in events_after(0))


def test_the_created_request_is_the_schemas_document_and_what_the_guest_reads_back(client, world) -> None:
    # POST /requests writes its answer by hand (dump_guest_request); GuestRequestSchema is the contract.
    created = world.order(client, {"type": "room_service", "items": [{"item_id": world.dish.id, "quantity": 1}],
                                   "notes": "Zimmer — ☕"})
    assert created.status_code == 201
    request = db.session.get(ServiceRequest, created.json["id"])
    assert created.json == GuestRequestSchema().dump(request)
    assert created.json == client.get(f"/api/v1/requests/{request.id}", headers=world.guest_headers).json
    db.session.rollback()
    # A request with every optional field set still matches (dates, rating, reasons).
    request.acknowledged_at = request.started_at = request.completed_at = request.closed_at = clock.now()
    request.hold_reason, request.reject_reason, request.rating, request.rating_comment = "h", "r", 4, "fine"
    assert json.loads(json.dumps(dump_guest_request(request))) == GuestRequestSchema().dump(request)
    db.session.rollback()


def test_a_request_builds_no_schema_objects(client, world, monkeypatch) -> None:
    # Schema classes given to @blp.arguments are instantiated once (app/core/api.py, SharedSchemaParser): webargs
    # built one per request, deep-copying every field.
    body = {"type": "room_service", "items": [{"item_id": world.dish.id, "quantity": 1}]}
    assert world.order(client, body).status_code == 201
    built, original_init = [], ma.Schema.__init__

    def counting_init(self, *args, **kwargs):
        built.append(type(self).__name__)
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(ma.Schema, "__init__", counting_init)
    assert world.order(client, body).status_code == 201
    assert client.get("/api/v1/requests", headers=world.guest_headers).status_code == 200  # query arguments too
    assert built == []


def test_laundry_with_express_uses_express_prices(client, world) -> None:
    with clock.frozen(T0):
        created = world.order(client, {"type": "laundry", "items": [{"item_id": world.shirt.id, "quantity": 3}],
                                       "express": True, "pickup_at": (T0 + timedelta(hours=1)).isoformat()})
    assert created.status_code == 201 and created.json["total_amount"] == 135000
    rid = created.json["id"]
    world.act(client, rid, "assign")
    world.act(client, rid, "complete")
    assert [(c["kind"], c["amount"]) for c in folio(client, world)["charges"]] == [("laundry", 135000)]
    no_express = make_catalog_item(world.hotel, "laundry", express_price=None)
    refused = world.order(client, {"type": "laundry", "items": [{"item_id": no_express.id}], "express": True})
    assert refused.status_code == 422 and refused.json["code"] == "express_unavailable"


def test_repair_and_housekeeping_requests_cost_nothing(client, world) -> None:
    repair = world.order(client, {"type": "repair", "category_id": world.leak.id, "description": "The tap drips",
                                  "location": "bathroom"})
    assert repair.status_code == 201
    assert repair.json["details"]["category"]["code"] == "plumbing" and repair.json["total_amount"] == 0
    housekeeping = world.order(client, {"type": "housekeeping", "items": [{"item_id": world.towels.id}]})
    assert housekeeping.status_code == 201
    for rid in (repair.json["id"], housekeeping.json["id"]):
        world.act(client, rid, "start")
        assert world.act(client, rid, "complete").json["status"] == "done"
    assert folio(client, world)["charges"] == []
    queue = client.get("/api/v1/staff/queue?status=done", headers=world.desk_headers).json["items"]
    assert {(r["type"], r["department"]) for r in queue} == {("repair", "maintenance"),
                                                            ("housekeeping", "housekeeping")}


@pytest.mark.parametrize("body, field", [
    ({"type": "repair", "category_id": 1}, "description"),
    ({"type": "room_service", "items": [{"item_id": 1}], "express": True}, "express"),
    ({"type": "housekeeping"}, "items"),
    ({"type": "laundry", "items": []}, "items"),
])
def test_fields_must_match_the_type(client, world, body, field) -> None:
    response = world.order(client, body)
    assert response.status_code == 422 and field in response.json["errors"]


def test_items_of_another_type_or_hotel_are_refused(client, world) -> None:
    elsewhere = make_catalog_item(make_hotel(), "room_service")
    for item in (world.towels, elsewhere):
        response = world.order(client, {"type": "room_service", "items": [{"item_id": item.id}]})
        assert response.status_code == 422 and response.json["code"] == "unknown_catalog_item"


# -- who may ask for what ------------------------------------------------------------------------------------------

def test_a_guest_orders_only_for_their_own_stay_in_progress(client, world) -> None:
    other = make_guest()
    other_stay = make_stay(other, make_room(make_room_type(world.hotel)))
    body = {"type": "housekeeping", "items": [{"item_id": world.towels.id}]}
    foreign = client.post("/api/v1/requests", json={"stay_id": other_stay.id, **body}, headers=world.guest_headers)
    assert foreign.status_code == 404
    future = make_stay(world.guest, world.room, status="confirmed", check_in=clock.now().date() + timedelta(days=30))
    early = client.post("/api/v1/requests", json={"stay_id": future.id, **body}, headers=world.guest_headers)
    assert early.status_code == 409 and early.json["code"] == "stay_not_in_house"
    mine = world.order(client, body).json
    other_headers = headers_for(other)
    assert client.get(f"/api/v1/requests/{mine['id']}", headers=other_headers).status_code == 404
    assert client.post(f"/api/v1/requests/{mine['id']}/actions/cancel", headers=other_headers).status_code == 404
    assert client.get("/api/v1/requests", headers=other_headers).json["items"] == []
    assert [r["id"] for r in client.get("/api/v1/requests", headers=world.guest_headers).json["items"]] == [mine["id"]]


def test_staff_create_on_a_guests_behalf_only_at_their_hotels(client, world) -> None:
    body = {"stay_id": world.stay.id, "type": "repair", "category_id": world.leak.id, "description": "AC is loud"}
    created = client.post("/api/v1/staff/requests", json=body, headers=world.desk_headers)
    assert created.status_code == 201
    assert (created.json["created_by_kind"], created.json["created_by_staff_id"]) == ("staff", world.desk.id)
    assert created.json["guest_id"] == world.guest.id and created.json["room_number"] == "305"
    stranger = headers_for(make_staff(Role.FRONT_DESK, hotels=[make_hotel()]))
    assert client.post("/api/v1/staff/requests", json=body, headers=stranger).status_code == 404
    marketer = headers_for(make_staff(Role.MARKETER, hotels=[world.hotel]))
    assert client.post("/api/v1/staff/requests", json=body, headers=marketer).status_code == 403
    seen_by_guest = client.get("/api/v1/requests", headers=world.guest_headers).json["items"]
    assert [r["id"] for r in seen_by_guest] == [created.json["id"]]


def test_creation_is_idempotent(client, world) -> None:
    key = {"Idempotency-Key": "order-1"}
    first = world.order(client, headers=key)
    again = world.order(client, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json["id"] == first.json["id"] and again.headers["Idempotent-Replayed"] == "true"
    other = world.order(client, {"type": "housekeeping", "items": [{"item_id": world.towels.id}]}, headers=key)
    assert other.status_code == 422 and other.json["code"] == "idempotency_key_reused"
    assert len(client.get("/api/v1/requests", headers=world.guest_headers).json["items"]) == 1
    assert len(events_after(0, types=["request.created"])) == 1


# -- lifecycle -----------------------------------------------------------------------------------------------------

# (path of actions from new, the action tried next, allowed?)
LIFECYCLE = [
    ([], "acknowledge", True), ([], "assign", True), ([], "start", True), ([], "complete", False),
    ([], "hold", False), ([], "resume", False), ([], "reject", True),
    (["acknowledge"], "acknowledge", False), (["acknowledge"], "start", True), (["acknowledge"], "hold", True),
    (["acknowledge"], "complete", False),
    (["assign"], "assign", True), (["assign"], "complete", True), (["assign"], "reject", True),
    (["start"], "hold", True), (["start"], "complete", True), (["start"], "reject", False),
    (["start"], "acknowledge", False),
    (["start", "hold"], "resume", True), (["start", "hold"], "complete", False), (["start", "hold"], "reject", True),
    (["start", "hold"], "hold", False),
    (["reject"], "acknowledge", False), (["reject"], "resume", False),
    (["start", "complete"], "reject", False), (["start", "complete"], "start", False),
]


@pytest.mark.parametrize("path, action, allowed", LIFECYCLE)
def test_each_transition_is_allowed_or_refused_with_409(client, world, path, action, allowed) -> None:
    rid = world.order(client).json["id"]
    if path and path[0] == "start":
        path = ["acknowledge", *path]
    for step in path:
        body = {"reason": "why"} if step in ("hold", "reject") else None
        assert world.act(client, rid, step, body).status_code == 200, step
    before = db.session.query(RequestTransition).filter_by(request_id=rid).count()
    response = world.act(client, rid, action, {"reason": "why"} if action in ("hold", "reject") else None)
    if allowed:
        assert response.status_code == 200
    else:
        assert response.status_code == 409 and response.json["code"] == "invalid_transition"
        assert db.session.query(RequestTransition).filter_by(request_id=rid).count() == before


def test_guest_cancels_before_work_starts_only(client, world) -> None:
    first = world.order(client).json["id"]
    world.act(client, first, "assign")
    cancelled = client.post(f"/api/v1/requests/{first}/actions/cancel", headers=world.guest_headers)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    second = world.order(client).json["id"]
    world.act(client, second, "start")
    late = client.post(f"/api/v1/requests/{second}/actions/cancel", headers=world.guest_headers)
    assert late.status_code == 409 and late.json["code"] == "invalid_transition"


def test_reject_and_hold_need_a_reason_the_guest_sees(client, world) -> None:
    rid = world.order(client).json["id"]
    assert world.act(client, rid, "reject", {}).status_code == 422
    world.act(client, rid, "reject", {"reason": "Kitchen closed for inspection"})
    seen = client.get(f"/api/v1/requests/{rid}", headers=world.guest_headers).json
    assert (seen["status"], seen["reject_reason"]) == ("rejected", "Kitchen closed for inspection")


def test_assign_to_staff_of_another_hotel_is_refused(client, world) -> None:
    rid = world.order(client).json["id"]
    stranger = make_staff(Role.KITCHEN, hotels=[make_hotel()])
    refused = world.act(client, rid, "assign", {"staff_id": stranger.id})
    assert refused.status_code == 422 and refused.json["code"] == "unknown_assignee"
    cook = make_staff(Role.KITCHEN, hotels=[world.hotel])
    assert world.act(client, rid, "assign", {"staff_id": cook.id}).json["assigned_to_staff_id"] == cook.id


def test_staff_of_another_hotel_cannot_see_or_touch_a_request(client, world) -> None:
    rid = world.order(client).json["id"]
    stranger = headers_for(make_staff(Role.FRONT_DESK, hotels=[make_hotel()]))
    assert client.get(f"/api/v1/staff/requests/{rid}", headers=stranger).status_code == 404
    assert world.act(client, rid, "acknowledge", headers=stranger).status_code == 404
    assert client.get("/api/v1/staff/queue", headers=stranger).json["items"] == []
    assert client.get(f"/api/v1/staff/queue?hotel_id={world.hotel.id}", headers=stranger).status_code == 404


# -- rating and service recovery -----------------------------------------------------------------------------------

def test_rating_once_and_a_low_rating_opens_a_follow_up_for_the_manager(client, world) -> None:
    rid = world.order(client).json["id"]
    early = client.post(f"/api/v1/requests/{rid}/actions/rate", json={"rating": 5}, headers=world.guest_headers)
    assert early.status_code == 409
    world.act(client, rid, "assign")
    world.act(client, rid, "complete")
    rated = client.post(f"/api/v1/requests/{rid}/actions/rate", json={"rating": 2, "comment": "Cold soup"},
                        headers=world.guest_headers)
    assert rated.status_code == 200 and (rated.json["rating"], rated.json["rating_comment"]) == (2, "Cold soup")
    twice = client.post(f"/api/v1/requests/{rid}/actions/rate", json={"rating": 4}, headers=world.guest_headers)
    assert twice.status_code == 409 and twice.json["code"] == "already_rated"
    assert client.post(f"/api/v1/requests/{rid}/actions/rate", json={"rating": 6},
                       headers=world.guest_headers).status_code == 422

    url = f"/api/v1/staff/service-recoveries?hotel_id={world.hotel.id}"
    assert client.get(url, headers=world.desk_headers).status_code == 403
    [recovery] = client.get(url, headers=world.manager_headers).json
    assert (recovery["request_id"], recovery["rating"], recovery["comment"], recovery["status"]) == \
        (rid, 2, "Cold soup", "open")
    alerts = client.get("/api/v1/staff/alerts", headers=world.manager_headers).json
    assert [(a["kind"], a["audience"]) for a in alerts] == [("service_recovery", "hotel_manager")]
    resolved = client.post(f"/api/v1/staff/service-recoveries/{recovery['id']}/actions/resolve",
                           json={"resolution": "Apologised, dinner on the house"}, headers=world.manager_headers)
    assert resolved.status_code == 200 and resolved.json["status"] == "resolved"
    assert client.get("/api/v1/staff/alerts", headers=world.manager_headers).json == []


def test_a_good_rating_opens_no_follow_up(client, world) -> None:
    rid = world.order(client).json["id"]
    world.act(client, rid, "assign")
    world.act(client, rid, "complete")
    client.post(f"/api/v1/requests/{rid}/actions/rate", json={"rating": 5}, headers=world.guest_headers)
    assert client.get(f"/api/v1/staff/service-recoveries?hotel_id={world.hotel.id}",
                      headers=world.manager_headers).json == []


# -- bulk ----------------------------------------------------------------------------------------------------------

def test_bulk_acknowledge_assign_and_close_report_each_request(client, world) -> None:
    ids = [world.order(client).json["id"] for _ in range(3)]
    other = make_hotel()
    foreign = make_stay(make_guest(), make_room(make_room_type(other)))
    foreign_item = make_catalog_item(other, "room_service")
    chain_admin = headers_for(make_staff(Role.CHAIN_ADMIN))
    foreign_id = client.post("/api/v1/staff/requests", headers=chain_admin, json={
        "stay_id": foreign.id, "type": "room_service", "items": [{"item_id": foreign_item.id}]}).json["id"]
    world.act(client, ids[0], "acknowledge")

    acknowledged = client.post("/api/v1/staff/requests/bulk", headers=world.desk_headers,
                               json={"action": "acknowledge", "ids": [*ids, foreign_id]}).json["results"]
    assert [(r["id"], r["ok"], r.get("code")) for r in acknowledged] == [
        (ids[0], False, "invalid_transition"), (ids[1], True, None), (ids[2], True, None),
        (foreign_id, False, "not_found")]
    cook = make_staff(Role.KITCHEN, hotels=[world.hotel])
    assigned = client.post("/api/v1/staff/requests/bulk", headers=world.desk_headers,
                           json={"action": "assign", "ids": ids, "staff_id": cook.id}).json["results"]
    assert all(r["ok"] and r["status"] == "assigned" for r in assigned)
    closed = client.post("/api/v1/staff/requests/bulk", headers=world.desk_headers,
                         json={"action": "close", "ids": ids}).json["results"]
    assert [r["status"] for r in closed] == ["done"] * 3
    assert sorted(c["source"] if "source" in c else c["amount"] for c in folio(client, world)["charges"]) == \
        [90000] * 3
    again = client.post("/api/v1/staff/requests/bulk", headers=world.desk_headers,
                        json={"action": "close", "ids": ids}).json["results"]
    assert {r["code"] for r in again} == {"invalid_transition"}
    assert len(folio(client, world)["charges"]) == 3
