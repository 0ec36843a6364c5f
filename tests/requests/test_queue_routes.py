"""The staff queue (order, filters, pages), its SSE stream, the message thread and the guest summary."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta

from werkzeug.serving import make_server

from app.audit.models import AuditEntry
from app.core import clock, events
from app.core.auth import Role
from app.core.db import unit_of_work
from app.extensions import db
from app.requests import routes as request_routes
from app.requests.services import latest_event_id
from tests.factories import (
    headers_for,
    make_catalog_item,
    make_guest,
    make_hotel,
    make_member,
    make_room,
    make_room_type,
    make_staff,
    make_stay,
)

T0 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


def stream(client, url, headers):
    """Read a whole (bounded) stream; buffered, so the body is produced inside the request's own context."""
    return client.get(url, headers=headers, buffered=True)


def sse_fields(response) -> list[dict]:
    """Each frame of an SSE body as its fields (comments left out)."""
    return [dict(line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":")
                 and ": " in line) for block in response.get_data(as_text=True).split("\n\n")]


def resume_id(response) -> int | None:
    """The Last-Event-ID a browser would reconnect with after this body: the last `id:` it carried."""
    ids = [int(fields["id"]) for fields in sse_fields(response) if "id" in fields]
    return ids[-1] if ids else None


def sse_frames(response) -> list[dict]:
    """The events of an SSE body: [{"id": ..., "event": ..., "data": {...}}] (comments, retry and frames that only
    move the resume point left out)."""
    frames = []
    for fields in sse_fields(response):
        if "event" in fields and "id" in fields:
            frames.append({"id": int(fields["id"]), "event": fields["event"], "data": json.loads(fields["data"])})
    return frames


# -- queue ---------------------------------------------------------------------------------------------------------

def test_queue_is_ordered_by_urgency_filtered_and_paged(client, world) -> None:
    with clock.frozen(T0) as advance:
        cleaning = world.order(client, {"type": "housekeeping", "items": [{"item_id": world.towels.id}]}).json["id"]
        advance(timedelta(minutes=1))
        order = world.order(client).json["id"]  # due T0+6, before the cleaning (T0+10)
        advance(timedelta(minutes=1))
        repair = world.order(client, {"type": "repair", "category_id": world.leak.id,
                                      "description": "Lamp"}).json["id"]
        world.act(client, repair, "start")
        world.act(client, repair, "hold", {"reason": "waiting for parts"})  # paused: last
        advance(timedelta(minutes=3))

        ids, cursor = [], None
        while True:
            page = client.get("/api/v1/staff/queue?limit=1" + (f"&cursor={cursor}" if cursor else ""),
                              headers=world.desk_headers).json
            ids += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert ids == [order, cleaning, repair]

        def queue(query):
            response = client.get(f"/api/v1/staff/queue?{query}", headers=world.desk_headers)
            assert response.status_code == 200, response.json
            return [item["id"] for item in response.json["items"]]

        assert queue("department=kitchen") == [order]
        assert queue("type=repair&status=on_hold") == [repair]
        assert queue("status=new&status=on_hold") == [order, cleaning, repair]
        assert queue("room=305&overdue=true") == []
        advance(timedelta(minutes=2))
        assert queue("overdue=true") == [order]
        assert queue("overdue=false") == [cleaning, repair]
        world.act(client, order, "assign")
        world.act(client, order, "complete")
        assert queue("") == [cleaning, repair]
        assert queue("status=done") == [order]
    assert client.get("/api/v1/staff/queue?cursor=nonsense", headers=world.desk_headers).status_code == 422
    assert client.get("/api/v1/staff/queue?status=lost", headers=world.desk_headers).status_code == 422
    assert client.get("/api/v1/staff/queue", headers=world.guest_headers).status_code == 403


def test_staff_see_only_their_hotels_and_chain_admins_see_all(client, world) -> None:
    mine = world.order(client).json["id"]
    other_hotel = make_hotel()
    other_stay = make_stay(make_guest(), make_room(make_room_type(other_hotel)))
    item = make_catalog_item(other_hotel, "room_service")
    admin = headers_for(make_staff(Role.CHAIN_ADMIN))
    theirs = client.post("/api/v1/staff/requests", headers=admin, json={
        "stay_id": other_stay.id, "type": "room_service", "items": [{"item_id": item.id}]}).json["id"]
    assert [r["id"] for r in client.get("/api/v1/staff/queue", headers=world.desk_headers).json["items"]] == [mine]
    assert {r["id"] for r in client.get("/api/v1/staff/queue", headers=admin).json["items"]} == {mine, theirs}
    both = headers_for(make_staff(Role.HOUSEKEEPING, hotels=[world.hotel, other_hotel]))
    assert {r["id"] for r in client.get("/api/v1/staff/queue", headers=both).json["items"]} == {mine, theirs}
    only_other = client.get(f"/api/v1/staff/queue?hotel_id={other_hotel.id}", headers=both).json["items"]
    assert [r["id"] for r in only_other] == [theirs]


# -- SSE stream ----------------------------------------------------------------------------------------------------

def test_stream_delivers_queue_events_and_resumes_after_last_event_id(client, world) -> None:
    other_hotel = make_hotel()
    admin = headers_for(make_staff(Role.CHAIN_ADMIN))
    other_stay = make_stay(make_guest(), make_room(make_room_type(other_hotel)))
    other_item = make_catalog_item(other_hotel, "room_service")
    first = world.order(client).json["id"]
    client.post("/api/v1/staff/requests", headers=admin, json={
        "stay_id": other_stay.id, "type": "room_service", "items": [{"item_id": other_item.id}]})
    world.act(client, first, "acknowledge")

    response = stream(client, "/api/v1/staff/queue/stream?last_event_id=0&max_events=3", world.desk_headers)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    frames = sse_frames(response)
    assert [f["event"] for f in frames] == ["request.created", "request.alerted", "request.acknowledged"]
    assert [f["data"]["payload"].get("request_id") for f in frames] == [first] * 3
    assert all(f["data"]["hotel_id"] == world.hotel.id for f in frames)
    assert frames[2]["data"]["payload"]["status"] == "acknowledged"
    ids = [f["id"] for f in frames]
    assert ids == sorted(ids)

    second = world.order(client).json["id"]
    resumed = sse_frames(stream(client, "/api/v1/staff/queue/stream", {
        **world.desk_headers, "Last-Event-ID": str(ids[1])}))
    assert resumed[0]["id"] == ids[2]
    assert [(f["event"], f["data"]["payload"].get("request_id")) for f in resumed] == [
        ("request.acknowledged", first), ("request.created", second), ("request.alerted", second)]


def test_a_stream_tells_the_client_to_resume_past_the_events_it_did_not_show(client, world) -> None:
    """Else each reconnect would read again all that was recorded since the last event shown (other hotels', the
    devices' state changes), and a client shown nothing would come back without Last-Event-ID and miss what was
    recorded between its two streams."""
    world.order(client)
    last_shown = sse_frames(stream(client, "/api/v1/staff/queue/stream?last_event_id=0", world.desk_headers))[-1]["id"]
    other_hotel = make_hotel()
    with unit_of_work():
        for _ in range(3):
            events.record("device.state_changed", hotel_id=world.hotel.id, payload={})  # not for the queue
        events.record("request.created", hotel_id=other_hotel.id, payload={})  # not this desk's hotel
    newest = latest_event_id()
    db.session.commit()

    response = stream(client, f"/api/v1/staff/queue/stream?last_event_id={last_shown}", world.desk_headers)
    assert sse_frames(response) == [] and resume_id(response) == newest
    second = world.order(client).json["id"]
    resumed = sse_frames(stream(client, "/api/v1/staff/queue/stream", {
        **world.desk_headers, "Last-Event-ID": str(newest)}))
    assert [(f["event"], f["data"]["payload"]["request_id"]) for f in resumed] == [
        ("request.created", second), ("request.alerted", second)]

    quiet = stream(client, "/api/v1/staff/queue/stream?timeout=0.05", world.desk_headers)
    assert sse_frames(quiet) == [] and resume_id(quiet) == latest_event_id()


def test_an_open_stream_sees_requests_committed_after_it_started(app, client, world, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "SSE_MAX_SECONDS", 10)
    start = latest_event_id()
    db.session.commit()
    with ThreadPoolExecutor(1) as pool:
        reading = pool.submit(stream, app.test_client(), f"/api/v1/staff/queue/stream?last_event_id={start}"
                              "&max_events=2", world.desk_headers)
        created = world.order(client).json["id"]
        frames = sse_frames(reading.result(timeout=30))
    assert [(f["event"], f["data"]["payload"]["request_id"]) for f in frames] == [
        ("request.created", created), ("request.alerted", created)]


def test_an_open_stream_ends_when_its_session_is_logged_out(app, client, world, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "SSE_MAX_SECONDS", 30)
    monkeypatch.setitem(app.config, "SSE_AUTH_CHECK_SECONDS", 0.05)
    created = world.order(client).json["id"]
    started = threading.Event()
    watch = request_routes.still_signed_in

    def watched(**kwargs: object) -> object:
        started.set()  # the stream's request is authenticated and the stream about to run
        return watch(**kwargs)

    monkeypatch.setattr(request_routes, "still_signed_in", watched)
    db.session.commit()
    with ThreadPoolExecutor(1) as pool:
        reading = pool.submit(stream, app.test_client(), "/api/v1/staff/queue/stream?last_event_id=0",
                              world.desk_headers)
        assert started.wait(timeout=15)
        assert client.post("/api/v1/auth/logout", headers=world.desk_headers).status_code == 204
        response = reading.result(timeout=15)  # ended by the logout, well before SSE_MAX_SECONDS
    assert response.status_code == 200
    assert response.get_data(as_text=True).endswith("event: session_ended\ndata: {}\n\n")
    assert created in [f["data"]["payload"].get("request_id") for f in sse_frames(response)]
    assert client.get("/api/v1/staff/queue/stream", headers=world.desk_headers).status_code == 401


@contextmanager
def served(app) -> Iterator[tuple[str, int]]:
    """The app behind werkzeug's threaded server (host, port): real sockets, so a client that leaves is noticed
    by the server at its next write and the response closed, as gunicorn does."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", server.server_port
    finally:
        server.shutdown()
        server.server_close()


def open_stream(address: tuple[str, int], path: str, headers: dict) -> http.client.HTTPResponse:
    """A client that opens a stream and keeps it open, unread (closing the response closes its socket)."""
    connection = http.client.HTTPConnection(*address, timeout=10)
    connection.request("GET", path, headers=headers)
    return connection.getresponse()


def test_streams_beyond_the_process_s_budget_are_refused_until_one_closes(app, client, world, monkeypatch) -> None:
    # Each open stream holds a server thread: past SSE_MAX_STREAMS the API's own requests would have none left.
    monkeypatch.setitem(app.config, "SSE_MAX_STREAMS", 2)
    monkeypatch.setitem(app.config, "SSE_MAX_SECONDS", 5)  # far longer than the test; bounded if it fails
    monkeypatch.setitem(app.config, "SSE_HEARTBEAT_SECONDS", 0.05)  # how soon a write finds a client gone
    path = "/api/v1/staff/queue/stream?last_event_id=0"
    db.session.commit()
    with served(app) as address, ExitStack() as clients:
        first, second = (clients.enter_context(open_stream(address, path, world.desk_headers)) for _ in range(2))
        assert first.status == second.status == 200
        refused = client.get(path + "&timeout=0.5", headers=world.desk_headers, buffered=True)
        assert refused.status_code == 503 and refused.mimetype == "application/problem+json"
        assert refused.json["code"] == "streams_busy" and refused.headers["Retry-After"] == "5"
        assert client.get("/api/v1/staff/queue", headers=world.desk_headers).status_code == 200  # the API answers

        first.close()  # the client left: the server notices at its next write and closes the response
        deadline = time.monotonic() + 4
        while (third := client.get(path + "&timeout=0.05", headers=world.desk_headers, buffered=True)
               ).status_code == 503 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert third.status_code == 200
    monkeypatch.setitem(app.config, "SSE_MAX_STREAMS", 1)
    for _ in range(3):  # streams that end by themselves give their slot back too
        assert stream(client, path + "&timeout=0.05", world.desk_headers).status_code == 200


def test_a_stream_without_last_event_id_starts_now_and_sends_retry(client, world) -> None:
    world.order(client)
    response = stream(client, "/api/v1/staff/queue/stream?timeout=0.05", world.desk_headers)
    body = response.get_data(as_text=True)
    assert body.startswith("retry: ") and sse_frames(response) == []
    bad = client.get("/api/v1/staff/queue/stream", headers={**world.desk_headers, "Last-Event-ID": "x1"})
    assert bad.status_code == 422 and bad.json["code"] == "invalid_last_event_id"
    stranger = headers_for(make_staff(Role.FRONT_DESK, hotels=[make_hotel()]))
    assert client.get(f"/api/v1/staff/queue/stream?hotel_id={world.hotel.id}", headers=stranger).status_code == 404


def test_dnd_changes_and_messages_reach_the_stream(client, world) -> None:
    client.put(f"/api/v1/stays/{world.stay.id}/room-status", json={"state": "dnd"}, headers=world.guest_headers)
    client.post(f"/api/v1/stays/{world.stay.id}/messages", json={"body": "Hello"}, headers=world.guest_headers)
    frames = sse_frames(stream(client, "/api/v1/staff/queue/stream?last_event_id=0", world.desk_headers))
    assert [f["event"] for f in frames] == ["room.dnd_changed", "message.created"]
    assert frames[0]["data"]["payload"]["state"] == "dnd"


# -- messages ------------------------------------------------------------------------------------------------------

def test_message_thread_and_turning_a_message_into_a_request(client, world) -> None:
    url = f"/api/v1/stays/{world.stay.id}/messages"
    asked = client.post(url, json={"body": "Could I get two more towels?"}, headers=world.guest_headers)
    assert asked.status_code == 201 and asked.json["author_kind"] == "guest"
    staff_url = f"/api/v1/staff/stays/{world.stay.id}/messages"
    answer = client.post(staff_url, json={"body": "On their way"}, headers=world.desk_headers)
    assert answer.status_code == 201 and answer.json["author_staff_id"] == world.desk.id
    thread = client.get(url, headers=world.guest_headers).json["items"]
    assert [m["body"] for m in thread] == ["On their way", "Could I get two more towels?"]
    assert client.get(url, headers=headers_for(make_guest())).status_code == 404
    stranger = headers_for(make_staff(Role.FRONT_DESK, hotels=[make_hotel()]))
    assert client.get(staff_url, headers=stranger).status_code == 404

    convert = f"/api/v1/staff/messages/{asked.json['id']}/actions/convert"
    body = {"type": "housekeeping", "items": [{"item_id": world.towels.id, "quantity": 2}]}
    assert client.post(convert, json=body, headers=stranger).status_code == 404
    created = client.post(convert, json=body, headers=world.desk_headers)
    assert created.status_code == 201
    request = created.json
    assert (request["source_message_id"], request["stay_id"], request["created_by_kind"]) == \
        (asked.json["id"], world.stay.id, "staff")
    assert client.get(url, headers=world.guest_headers).json["items"][1]["request_id"] == request["id"]
    again = client.post(convert, json=body, headers=world.desk_headers)
    assert again.status_code == 409 and again.json["code"] == "message_converted"
    own = client.post(f"/api/v1/staff/messages/{answer.json['id']}/actions/convert", json=body,
                      headers=world.desk_headers)
    assert own.status_code == 409 and own.json["code"] == "not_a_guest_message"


# -- guest summary -------------------------------------------------------------------------------------------------

def test_guest_summary_contents_masking_and_audit(client, world) -> None:
    rid = world.order(client).json["id"]
    world.act(client, rid, "assign")
    world.act(client, rid, "complete")
    client.post(f"/api/v1/requests/{rid}/actions/rate", json={"rating": 4, "comment": "Tasty"},
                headers=world.guest_headers)
    client.post(f"/api/v1/stays/{world.stay.id}/messages", json={"body": "Thank you"}, headers=world.guest_headers)
    client.put(f"/api/v1/stays/{world.stay.id}/room-status", json={"state": "dnd"}, headers=world.guest_headers)
    url = f"/api/v1/staff/guests/{world.guest.id}/summary"

    summary = client.get(url, headers=world.desk_headers)
    assert summary.status_code == 200
    data = summary.json
    assert data["guest"]["email"] == world.guest.email and data["guest"]["phone"] == "+79995550011"
    assert (data["current_stay"]["id"], data["current_stay"]["room_number"], data["current_stay"]["room_state"]) \
        == (world.stay.id, "305", "dnd")
    assert [(r["id"], r["status"], r["rating"]) for r in data["recent_requests"]] == [(rid, "done", 4)]
    assert {entry["kind"] for entry in data["timeline"]} == {"booking", "request", "rating", "message"}
    assert data["timeline"] == sorted(data["timeline"], key=lambda e: e["at"], reverse=True)
    assert data["loyalty_tier"] is None
    make_member(world.guest, tier="gold")
    assert client.get(url, headers=world.desk_headers).json["loyalty_tier"] == "gold"

    concierge = client.get(url, headers=headers_for(make_staff(Role.CONCIERGE, hotels=[world.hotel]))).json
    assert concierge["guest"]["email"].startswith(world.guest.email[0] + "***@")
    assert concierge["guest"]["phone"] == "+7******0011"
    assert client.get(url, headers=headers_for(make_staff(Role.HOUSEKEEPING, hotels=[world.hotel]))).status_code \
        == 403
    assert client.get(url, headers=headers_for(make_staff(Role.FRONT_DESK, hotels=[make_hotel()]))).status_code \
        == 404
    reads = db.session.query(AuditEntry).filter_by(action="guest.summary_read", subject_id=world.guest.id).all()
    assert len(reads) == 3 and {entry.hotel_id for entry in reads} == {world.hotel.id}
