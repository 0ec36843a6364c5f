"""The room API as the guest app and the staff console use it (no broker: commands stay in the outbox)."""

from __future__ import annotations

from app.audit.models import AuditEntry
from app.core.auth import Role
from app.core.db import unit_of_work
from app.extensions import db
from app.iot import services
from tests.factories import headers_for, make_guest, make_staff, make_stay
from tests.iot.conftest import make_iot_room

API = "/api/v1"


def post_command(client, stay, guest, device, values, **headers):
    return client.post(f"{API}/stays/{stay.id}/room/commands", headers={**headers_for(guest), **headers},
                       json={"device_id": device.id, "values": values})


def test_guest_lists_the_devices_of_their_room_with_unknown_availability_without_a_bridge(client, iot_room,
                                                                                         in_house):
    guest, stay = in_house
    response = client.get(f"{API}/stays/{stay.id}/room/devices", headers=headers_for(guest))
    assert response.status_code == 200
    assert {d["kind"] for d in response.json} == {"light", "climate", "curtains", "lock", "indicator", "sensor"}
    with unit_of_work():
        services.record_availability(device_topic=iot_room.devices["light"].topic, online=True)
    light = next(d for d in client.get(f"{API}/stays/{stay.id}/room/devices", headers=headers_for(guest)).json
                 if d["kind"] == "light")
    assert light["available"] is None  # no bridge heartbeat: nobody can vouch for it
    with unit_of_work():
        services.heartbeat(bridge_id="b1")
    light = next(d for d in client.get(f"{API}/stays/{stay.id}/room/devices", headers=headers_for(guest)).json
                 if d["kind"] == "light")
    assert light["available"] is True


def test_guest_command_is_recorded_pending_and_readable(client, iot_room, in_house):
    guest, stay = in_house
    response = post_command(client, stay, guest, iot_room.devices["climate"], {"setpoint_c": 21.5, "power": True})
    assert response.status_code == 201
    assert response.json["status"] == "pending" and response.json["values"] == {"setpoint_c": 21.5, "power": True}
    again = client.get(f"{API}/stays/{stay.id}/room/commands/{response.json['id']}", headers=headers_for(guest))
    assert again.status_code == 200 and again.json["id"] == response.json["id"]


def test_a_guest_cannot_command_another_room_nor_outside_their_stay(client, iot_room, in_house):
    guest, stay = in_house
    other_room = make_iot_room(kinds=["light"])
    assert post_command(client, stay, guest, other_room.devices["light"], {"on": True}).status_code == 404
    stranger = make_guest()
    assert post_command(client, stay, stranger, iot_room.devices["light"], {"on": True}).status_code == 404
    upcoming = make_stay(guest, iot_room.room, status="confirmed")
    early = post_command(client, upcoming, guest, iot_room.devices["light"], {"on": True})
    assert early.status_code == 409 and early.json["code"] == "stay_not_in_house"
    past = make_stay(guest, iot_room.room, status="checked_out")
    late = client.post(f"{API}/stays/{past.id}/room/unlock", headers=headers_for(guest))
    assert late.status_code == 409 and late.json["code"] == "stay_not_in_house"
    after = post_command(client, past, guest, iot_room.devices["light"], {"on": True})
    assert after.status_code == 409 and after.json["code"] == "stay_not_in_house"
    no_such_device = client.post(f"{API}/stays/{stay.id}/room/commands", headers=headers_for(guest),
                                 json={"device_id": 10**9, "values": {"on": True}})
    assert no_such_device.status_code == 404
    roomless = make_stay(guest, make_iot_room(kinds=["light"]).room, room_id=None)
    unassigned = post_command(client, roomless, guest, iot_room.devices["light"], {"on": True})
    assert unassigned.status_code == 409 and unassigned.json["code"] == "no_room_assigned"


def test_invalid_values_and_read_only_devices_are_refused(client, iot_room, in_house):
    guest, stay = in_house
    bad = post_command(client, stay, guest, iot_room.devices["climate"], {"setpoint_c": 40})
    assert bad.status_code == 422 and bad.json["code"] == "invalid_command" and "values" in bad.json["errors"]
    assert post_command(client, stay, guest, iot_room.devices["light"], {}).status_code == 422
    assert post_command(client, stay, guest, iot_room.devices["light"], {"colour": "red"}).status_code == 422
    sensor = post_command(client, stay, guest, iot_room.devices["sensor"], {"on": True})
    assert sensor.status_code == 403 and sensor.json["code"] == "device_not_guest_controlled"


def test_unlock_is_audited_and_refused_when_staff_blocked_the_key(client, iot_room, in_house):
    guest, stay = in_house
    unlock = client.post(f"{API}/stays/{stay.id}/room/unlock", headers=headers_for(guest))
    assert unlock.status_code == 201 and unlock.json["values"] == {"locked": False}
    with unit_of_work():
        entries = db.session.query(AuditEntry).filter_by(action="room.unlock").all()
        assert [(e.actor_kind, e.actor_id, e.subject_id) for e in entries] == [("guest", guest.id, iot_room.room.id)]
    lock = post_command(client, stay, guest, iot_room.devices["lock"], {"locked": True})
    assert lock.status_code == 201
    with unit_of_work():
        [entry] = db.session.query(AuditEntry).filter_by(action="room.lock").all()
        assert (entry.actor_kind, entry.actor_id, entry.detail["command_id"]) == ("guest", guest.id, lock.json["id"])

    desk = make_staff(Role.FRONT_DESK, hotels=[iot_room.hotel])
    assert client.put(f"{API}/staff/stays/{stay.id}/key-block", headers=headers_for(desk),
                      json={"reason": "lost phone"}).status_code == 204
    blocked = client.post(f"{API}/stays/{stay.id}/room/unlock", headers=headers_for(guest))
    assert blocked.status_code == 403 and blocked.json["code"] == "key_blocked"
    sneaky = post_command(client, stay, guest, iot_room.devices["lock"], {"locked": "false"})
    assert sneaky.status_code == 403
    assert client.delete(f"{API}/staff/stays/{stay.id}/key-block", headers=headers_for(desk)).status_code == 204
    assert client.post(f"{API}/stays/{stay.id}/room/unlock", headers=headers_for(guest)).status_code == 201


def test_the_same_idempotency_key_records_one_command(client, iot_room, in_house):
    guest, stay = in_house
    first = post_command(client, stay, guest, iot_room.devices["light"], {"on": True}, **{"Idempotency-Key": "k1"})
    second = post_command(client, stay, guest, iot_room.devices["light"], {"on": True}, **{"Idempotency-Key": "k1"})
    assert first.status_code == second.status_code == 201 and first.json["id"] == second.json["id"]
    assert second.headers["Idempotent-Replayed"] == "true"


def test_scenes_queue_one_command_per_device_and_never_touch_the_lock(client, iot_room, in_house):
    guest, stay = in_house
    response = client.post(f"{API}/stays/{stay.id}/room/scenes/sleep", headers=headers_for(guest))
    assert response.status_code == 201
    assert {(c["device_id"], c["source"]) for c in response.json["commands"]} == {
        (iot_room.devices[kind].id, "scene:sleep") for kind in ("light", "climate", "curtains")}
    unknown = client.post(f"{API}/stays/{stay.id}/room/scenes/party", headers=headers_for(guest))
    assert unknown.status_code == 404 and unknown.json["code"] == "unknown_scene"


def test_the_welcome_scene_follows_the_guests_temperature_light_and_curtains_preferences(client, iot_room, in_house):
    guest, stay = in_house
    headers = headers_for(guest)
    client.put(f"{API}/me/preferences", headers=headers,
               json={"room_temperature_c": 20.5, "light_level": 15, "curtains_position": 0})
    response = client.post(f"{API}/stays/{stay.id}/room/scenes/welcome", headers=headers)
    assert response.status_code == 201
    assert {c["device_id"]: c["values"] for c in response.json["commands"]} == {
        iot_room.devices["climate"].id: {"power": True, "mode": "auto", "setpoint_c": 20.5},
        iot_room.devices["light"].id: {"on": True, "brightness": 15},
        iot_room.devices["curtains"].id: {"position": 0},
    }


def test_staff_see_and_command_rooms_of_their_hotel_only(client, iot_room, in_house):
    _, stay = in_house
    staff = make_staff(Role.MAINTENANCE, hotels=[iot_room.hotel])
    rooms = client.get(f"{API}/staff/rooms", query_string={"hotel_id": iot_room.hotel.id}, headers=headers_for(staff))
    assert rooms.status_code == 200
    [room] = rooms.json
    assert room["occupied"] is True and room["stay_id"] == stay.id and len(room["devices"]) == 6
    command = client.post(f"{API}/staff/rooms/{iot_room.room.id}/commands", headers=headers_for(staff),
                          json={"device_id": iot_room.devices["indicator"].id, "values": {"mode": "none"}})
    assert command.status_code == 201
    assert client.get(f"{API}/staff/room-commands/{command.json['id']}", headers=headers_for(staff)).status_code == 200

    elsewhere = make_staff(Role.MAINTENANCE, hotels=[make_iot_room(kinds=[]).hotel])
    assert client.get(f"{API}/staff/rooms", query_string={"hotel_id": iot_room.hotel.id},
                      headers=headers_for(elsewhere)).status_code == 404
    assert client.post(f"{API}/staff/rooms/{iot_room.room.id}/commands", headers=headers_for(elsewhere),
                       json={"device_id": iot_room.devices["light"].id, "values": {"on": True}}).status_code == 404
    assert client.get(f"{API}/staff/room-commands/{command.json['id']}",
                      headers=headers_for(elsewhere)).status_code == 404


def test_managers_register_devices_with_topics_from_hotel_and_room(client):
    room = make_iot_room(kinds=[])
    manager = make_staff(Role.HOTEL_MANAGER, hotels=[room.hotel])
    body = {"key": "light-bed", "kind": "light", "name": {"en": "Bedside light", "ru": "Ночник"}}
    created = client.post(f"{API}/admin/rooms/{room.room.id}/devices", headers=headers_for(manager), json=body)
    assert created.status_code == 201
    assert created.json["topic"] == f"hotel/{room.hotel.code}/room/{room.room.number}/light-bed"
    duplicate = client.post(f"{API}/admin/rooms/{room.room.id}/devices", headers=headers_for(manager), json=body)
    assert duplicate.status_code == 409 and duplicate.json["code"] == "device_exists"
    bad_key = client.post(f"{API}/admin/rooms/{room.room.id}/devices", headers=headers_for(manager),
                          json={**body, "key": "a/b#"})
    assert bad_key.status_code == 422
    desk = make_staff(Role.FRONT_DESK, hotels=[room.hotel])
    assert client.post(f"{API}/admin/rooms/{room.room.id}/devices", headers=headers_for(desk),
                       json=body).status_code == 403
    assert client.delete(f"{API}/admin/devices/{created.json['id']}", headers=headers_for(manager)).status_code == 204
    assert client.get(f"{API}/admin/rooms/{room.room.id}/devices", headers=headers_for(manager)).json == []
