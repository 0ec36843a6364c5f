"""SLA clock, pauses (hold, do-not-disturb), escalation and alert jobs, check-in subscriber, statistics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.core import clock, events
from app.core.auth import Role
from app.core.db import unit_of_work
from app.extensions import db
from app.requests import jobs
from app.requests.models import ServiceRequest, StaffAlert
from tests.factories import headers_for, make_hotel, make_staff

T0 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def queue_item(client, world, rid):
    return client.get(f"/api/v1/staff/requests/{rid}", headers=world.desk_headers).json


def housekeeping(client, world):
    return world.order(client, {"type": "housekeeping", "items": [{"item_id": world.towels.id}]}).json


def set_room_state(client, world, state):
    response = client.put(f"/api/v1/stays/{world.stay.id}/room-status", json={"state": state},
                          headers=world.guest_headers)
    assert response.status_code == 200


# -- SLA targets ---------------------------------------------------------------------------------------------------

def test_the_hotel_manager_edits_sla_targets_and_new_requests_use_them(client, world) -> None:
    url = f"/api/v1/staff/hotels/{world.hotel.id}/sla"
    defaults = {t["request_type"]: t for t in client.get(url, headers=world.desk_headers).json}
    assert defaults["room_service"] == {"request_type": "room_service", "acknowledge_minutes": 5,
                                        "complete_minutes": 45, "manager_after_minutes": 15, "is_default": True}
    body = {"targets": [{"request_type": "room_service", "acknowledge_minutes": 2, "complete_minutes": 20,
                         "manager_after_minutes": 5}]}
    assert client.put(url, json=body, headers=world.desk_headers).status_code == 403
    saved = client.put(url, json=body, headers=world.manager_headers)
    assert saved.status_code == 200
    assert {t["request_type"]: t["is_default"] for t in saved.json}["room_service"] is False
    twice = {"targets": body["targets"] * 2}
    assert client.put(url, json=twice, headers=world.manager_headers).status_code == 422
    with clock.frozen(T0):
        order = world.order(client).json
    detail = queue_item(client, world, order["id"])
    assert (detail["acknowledge_due_at"], detail["complete_due_at"]) == (at(2), at(20))
    client.put(url, json={"targets": []}, headers=world.manager_headers)
    assert all(t["is_default"] for t in client.get(url, headers=world.desk_headers).json)


# -- pauses --------------------------------------------------------------------------------------------------------

def test_hold_pauses_the_clock_and_resume_restarts_it(client, world) -> None:
    with clock.frozen(T0) as advance:
        rid = world.order(client).json["id"]  # acknowledge by T0+5, complete by T0+45
        advance(timedelta(minutes=2))
        world.act(client, rid, "start")
        advance(timedelta(minutes=8))
        held = world.act(client, rid, "hold", {"reason": "waiting for the fish delivery"}).json
        assert (held["status"], held["is_paused"], held["hold_reason"]) == \
            ("on_hold", True, "waiting for the fish delivery")
        assert held["seconds_left"] == 35 * 60
        advance(timedelta(minutes=50))
        assert queue_item(client, world, rid)["seconds_left"] == 35 * 60  # frozen while on hold
        assert jobs.escalate_overdue_requests() == 0
        resumed = world.act(client, rid, "resume").json
    assert (resumed["status"], resumed["is_paused"], resumed["hold_reason"]) == ("in_progress", False, None)
    assert resumed["complete_due_at"] == at(45 + 50) and resumed["paused_seconds"] == 50 * 60
    assert resumed["seconds_left"] == 35 * 60


def test_dnd_pauses_housekeeping_only_and_clearing_it_resumes(client, world) -> None:
    with clock.frozen(T0) as advance:
        cleaning = housekeeping(client, world)["id"]  # acknowledge by T0+10
        order = world.order(client).json["id"]
        advance(timedelta(minutes=4))
        set_room_state(client, world, "dnd")
        paused = queue_item(client, world, cleaning)
        assert (paused["waiting_dnd"], paused["is_paused"], paused["seconds_left"]) == (True, True, 6 * 60)
        assert queue_item(client, world, order)["is_paused"] is False
        assert client.get(f"/api/v1/requests/{cleaning}", headers=world.guest_headers).json["waiting_dnd"] is True
        advance(timedelta(minutes=30))
        assert jobs.escalate_overdue_requests() == 1  # the room-service order only
        assert queue_item(client, world, cleaning)["escalation_level"] == 0
        set_room_state(client, world, "make_up_room")
        resumed = queue_item(client, world, cleaning)
    assert (resumed["waiting_dnd"], resumed["is_paused"]) == (False, False)
    assert resumed["acknowledge_due_at"] == at(10 + 30) and resumed["seconds_left"] == 6 * 60
    detail = [t["action"] for t in resumed["transitions"]]
    assert detail == ["created", "dnd_paused", "dnd_resumed"]
    pauses = [(e.type, e.payload.get("pause")) for e in events.events_after(0, types=["request.held",
                                                                                      "request.resumed"])]
    assert pauses == [("request.held", "dnd"), ("request.resumed", "dnd")]


def test_housekeeping_asked_for_during_dnd_waits_from_the_start(client, world) -> None:
    set_room_state(client, world, "dnd")
    cleaning = housekeeping(client, world)
    assert cleaning["waiting_dnd"] is True
    waiting = client.get("/api/v1/staff/queue?department=housekeeping", headers=world.desk_headers).json["items"]
    assert [(r["id"], r["waiting_dnd"], r["is_paused"]) for r in waiting] == [(cleaning["id"], True, True)]


# -- escalation and alerts -----------------------------------------------------------------------------------------

def test_overdue_requests_escalate_to_the_department_then_the_manager(client, world) -> None:
    with clock.frozen(T0) as advance:
        rid = world.order(client).json["id"]  # acknowledge by T0+5; manager 15 minutes after that
        advance(timedelta(minutes=5))
        assert jobs.escalate_overdue_requests() == 0
        advance(timedelta(minutes=1))
        assert jobs.escalate_overdue_requests() == 1
        assert jobs.escalate_overdue_requests() == 0  # once per level
        first = queue_item(client, world, rid)
        assert (first["escalation_level"], first["sla_breached"], first["overdue"]) == (1, True, True)
        advance(timedelta(minutes=14))
        assert jobs.escalate_overdue_requests() == 1
        assert queue_item(client, world, rid)["escalation_level"] == 2
    escalations = [(e.payload["level"], e.payload["audience"]) for e in events.events_after(
        0, types=["request.escalated"])]
    assert escalations == [(1, "kitchen"), (2, "hotel_manager")]
    alerts = client.get("/api/v1/staff/alerts", headers=world.desk_headers).json
    assert [(a["kind"], a["audience"], a["level"]) for a in alerts] == [
        ("new_request", "kitchen", 0), ("escalation", "kitchen", 1), ("escalation", "hotel_manager", 2)]
    assert [t["action"] for t in queue_item(client, world, rid)["transitions"]] == ["created", "escalated",
                                                                                    "escalated"]


def test_alerts_repeat_until_acknowledged(client, world) -> None:
    with clock.frozen(T0) as advance:
        rid = world.order(client).json["id"]
        advance(timedelta(minutes=4))
        assert jobs.repeat_staff_alerts() == 0
        advance(timedelta(minutes=1))
        assert jobs.repeat_staff_alerts() == 1
        advance(timedelta(minutes=5))
        assert jobs.repeat_staff_alerts() == 1
        [alert] = client.get("/api/v1/staff/alerts", headers=world.desk_headers).json
        assert (alert["kind"], alert["deliveries"]) == ("new_request", 3)
        world.act(client, rid, "acknowledge")  # a new-request alert is settled by acknowledging the request
        advance(timedelta(minutes=40))
        assert jobs.repeat_staff_alerts() == 0
        assert jobs.escalate_overdue_requests() == 1  # the completion deadline (T0+45) has passed
        [escalation] = client.get("/api/v1/staff/alerts", headers=world.desk_headers).json
        advance(timedelta(minutes=5))
        assert jobs.repeat_staff_alerts() == 1
        acked = client.post(f"/api/v1/staff/alerts/{escalation['id']}/actions/acknowledge",
                            headers=world.desk_headers)
        assert acked.status_code == 200 and acked.json["acknowledged_at"]
        advance(timedelta(minutes=60))
        assert jobs.repeat_staff_alerts() == 0
    deliveries = [e.payload["delivery"] for e in events.events_after(0, types=["request.alerted"])]
    assert deliveries == [1, 2, 3, 1, 2]
    stranger = headers_for(make_staff(Role.FRONT_DESK, hotels=[make_hotel()]))
    assert client.get("/api/v1/staff/alerts", headers=stranger).json == []


# -- check-in ------------------------------------------------------------------------------------------------------

def test_check_in_orders_the_room_prepared_from_the_guests_preferences(client, world) -> None:
    preferences = {"pillow": "feather", "room_temperature_c": 21.5}  # allergies never travel in the event
    with unit_of_work():
        events.record("booking.checked_in", hotel_id=world.hotel.id, guest_id=world.guest.id,
                      subject_id=world.stay.id, payload={"room_id": world.room.id, "room_number": "305",
                                                         "preferences": preferences, "language": "ru"})
    [prepared] = client.get("/api/v1/staff/queue?type=housekeeping", headers=world.desk_headers).json["items"]
    assert prepared["details"] == {"kind": "room_preparation", "preferences": preferences, "language": "ru"}
    assert (prepared["room_number"], prepared["created_by_kind"], prepared["department"]) == \
        ("305", "system", "housekeeping")


# -- statistics ----------------------------------------------------------------------------------------------------

def test_statistics_match_hand_computed_values(client, world) -> None:
    cook = make_staff(Role.KITCHEN, hotels=[world.hotel])
    repair = {"type": "repair", "category_id": world.leak.id, "description": "Door lock"}
    laundry = {"type": "laundry", "items": [{"item_id": world.shirt.id}]}
    with clock.frozen(T0) as advance:
        def tick(minutes):
            advance(timedelta(minutes=minutes))

        r1 = world.order(client).json["id"]
        tick(1)
        r2 = world.order(client).json["id"]
        tick(1)
        world.act(client, r1, "assign", {"staff_id": cook.id})  # acknowledged after 120 s
        r3 = world.order(client, repair).json["id"]
        tick(1)
        r4 = housekeeping(client, world)["id"]
        tick(2)
        client.post(f"/api/v1/requests/{r4}/actions/cancel", headers=world.guest_headers)
        tick(1)
        world.act(client, r3, "acknowledge")  # 240 s
        tick(5)
        world.act(client, r2, "acknowledge")  # 600 s: late (5 minutes)
        world.act(client, r2, "assign", {"staff_id": cook.id})
        tick(19)
        world.act(client, r1, "complete")  # 1800 s
        tick(11)
        world.act(client, r2, "complete")  # 2400 s
        tick(24 * 60 - 41)
        r5 = world.order(client, laundry).json["id"]
        tick(1)
        world.act(client, r5, "acknowledge")  # 60 s
        tick(9)  # now the repair (complete by T0+122 min) is overdue and open
        response = client.get(f"/api/v1/staff/stats?hotel_id={world.hotel.id}&date_from=2026-07-01"
                              f"&date_to=2026-07-02", headers=world.desk_headers)
    assert response.status_code == 200
    stats = response.json
    assert (stats["count"], stats["completed"], stats["sla_breached"], stats["sla_breach_rate"]) == (5, 2, 2, 0.5)
    assert stats["time_to_acknowledge"] == {"median_seconds": 180.0, "p90_seconds": 600.0}
    assert stats["time_to_complete"] == {"median_seconds": 2100.0, "p90_seconds": 2400.0}
    assert stats["by_type"] == {"housekeeping": 1, "laundry": 1, "repair": 1, "room_service": 2}
    assert stats["by_status"] == {"acknowledged": 2, "cancelled": 1, "done": 2}
    departments = {d["department"]: d for d in stats["by_department"]}
    assert departments["kitchen"]["time_to_acknowledge"] == {"median_seconds": 360.0, "p90_seconds": 600.0}
    assert (departments["kitchen"]["sla_breach_rate"], departments["maintenance"]["sla_breach_rate"],
            departments["laundry"]["sla_breach_rate"], departments["housekeeping"]["sla_breach_rate"]) == \
        (0.5, 1.0, 0.0, None)
    [by_cook] = stats["by_staff"]
    assert (by_cook["staff_id"], by_cook["count"], by_cook["completed"]) == (cook.id, 2, 2)
    assert by_cook["time_to_complete"] == {"median_seconds": 2100.0, "p90_seconds": 2400.0}
    days = {d["day"]: d for d in stats["by_day"]}
    assert (days["2026-07-01"]["count"], days["2026-07-01"]["sla_breach_rate"]) == (4, 0.6667)
    assert days["2026-07-01"]["time_to_acknowledge"] == {"median_seconds": 240.0, "p90_seconds": 600.0}
    assert (days["2026-07-02"]["count"], days["2026-07-02"]["sla_breach_rate"]) == (1, 0.0)
    assert {r.id for r in db.session.query(ServiceRequest)} == {r1, r2, r3, r4, r5}


def test_statistics_period_is_bounded(client, world) -> None:
    response = client.get("/api/v1/staff/stats?date_from=2026-01-01&date_to=2026-12-31", headers=world.desk_headers)
    assert response.status_code == 422 and response.json["code"] == "invalid_period"
    assert db.session.query(StaffAlert).count() == 0
