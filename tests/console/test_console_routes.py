"""The console's pages through the test client: login, CSRF, roles, languages, queue actions, marketing forms."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.console import access
from app.console.texts import TEXTS
from app.core import clock
from app.core.auth import PrincipalKind, Role
from app.core.db import unit_of_work
from app.extensions import db
from app.identity.services import revoke_sessions
from app.push.models import Campaign, Segment
from tests.console.conftest import console_login, csrf_of, page_csrf
from tests.factories import headers_for, make_guest, make_hotel, make_room, make_room_type, make_staff, make_stay
from tests.partners.factories import make_offering, make_partner, make_slot


def test_pages_need_a_login(client, world) -> None:
    response = client.get("/console/queue")
    assert response.status_code == 302 and "/console/login" in response.headers["Location"]


def test_staff_logs_in_and_lands_on_the_queue(client, world) -> None:
    response = console_login(client, world.desk)
    assert response.status_code == 303
    home = client.get(response.headers["Location"])
    assert home.status_code == 302 and home.headers["Location"].endswith("/console/queue")
    page = client.get("/console/queue")
    assert page.status_code == 200 and "Daria Desk" in page.text


def test_login_cookie_is_httponly_samesite_and_secure(client, world) -> None:
    response = console_login(client, world.desk)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie and "Path=/console" in cookie


def test_wrong_password_is_refused(client, world) -> None:
    response = console_login(client, world.desk, password="not it at all")
    assert response.status_code == 401 and "Wrong email or password." in response.text
    assert client.get("/console/queue").status_code == 302


def test_a_post_without_the_csrf_token_is_refused(client, world) -> None:
    page = client.get("/console/login")
    assert csrf_of(page.text)
    refused = client.post("/console/login", data={"email": world.desk.email, "password": "correct horse battery"})
    assert refused.status_code == 400 and "form expired" in refused.text
    console_login(client, world.desk)
    request_id = world.order(client)["id"]
    forged = client.post(f"/console/requests/{request_id}/actions/acknowledge", data={"csrf_token": "forged"})
    assert forged.status_code == 400
    assert client.get(f"/api/v1/requests/{request_id}", headers=world.guest_headers).json["status"] == "new"


def test_logout_ends_the_session(client, world) -> None:
    console_login(client, world.desk)
    token = page_csrf(client)
    assert client.post("/console/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/console/queue").status_code == 302


def test_housekeeper_gets_403_on_marketing_and_marketer_on_the_queue(app, client, world) -> None:
    console_login(client, world.housekeeper)
    for path in ("/console/marketing", "/console/marketing/segments/new", "/console/marketing/seasons",
                 "/console/partners"):
        response = client.get(path)
        assert response.status_code == 403 and "does not allow" in response.text, path
    assert client.get("/console/rooms").status_code == 200
    client = app.test_client()
    console_login(client, world.marketer)
    assert client.get("/console/queue").status_code == 403
    assert client.get("/console/marketing").status_code == 200


def test_labels_follow_accept_language_and_the_switch(client, world) -> None:
    console_login(client, world.desk)
    assert "Очередь" in client.get("/console/queue", headers={"Accept-Language": "ru"}).text
    english = client.get("/console/queue", headers={"Accept-Language": "en"}).text
    assert "Queue" in english and "Очередь" not in english
    client.post("/console/language", data={"lang": "ru", "csrf_token": page_csrf(client)})
    assert "Очередь" in client.get("/console/queue", headers={"Accept-Language": "en"}).text


def test_every_label_exists_in_both_languages() -> None:
    assert all(set(entry) == {"en", "ru"} and all(entry.values()) for entry in TEXTS.values())


def test_queue_actions_move_the_request_and_the_guest_sees_it(client, world) -> None:
    request_id = world.order(client)["id"]
    console_login(client, world.desk)
    page = client.get("/console/queue")
    assert f'id="request-{request_id}"' in page.text and "Room service" in page.text
    token = csrf_of(page.text)
    for action in ("acknowledge", "assign"):
        response = client.post(f"/console/requests/{request_id}/actions/{action}", data={"csrf_token": token})
        assert response.status_code == 303
    assert client.get(f"/api/v1/requests/{request_id}", headers=world.guest_headers).json["status"] == "assigned"
    refused = client.post(f"/console/requests/{request_id}/actions/hold", data={"csrf_token": token},
                          follow_redirects=True)
    assert "reason" in refused.text  # a hold needs a reason, as in the API
    client.post(f"/console/requests/{request_id}/actions/complete", data={"csrf_token": token})
    assert client.get(f"/api/v1/requests/{request_id}", headers=world.guest_headers).json["status"] == "done"
    detail = client.get(f"/console/requests/{request_id}")
    assert detail.status_code == 200 and "acknowledged" in detail.text and "Daria Desk" in detail.text


def test_bulk_acknowledge_reports_each_request(client, world) -> None:
    first, second = world.order(client)["id"], world.order(client)["id"]
    console_login(client, world.desk)
    token = page_csrf(client)
    client.post(f"/console/requests/{first}/actions/acknowledge", data={"csrf_token": token})
    response = client.post("/console/requests/bulk", data={"csrf_token": token, "action": "acknowledge",
                                                          "ids": [str(first), str(second)]}, follow_redirects=True)
    assert "Done: 1" in response.text and f"#{first}:" in response.text
    assert client.get(f"/api/v1/requests/{second}", headers=world.guest_headers).json["status"] == "acknowledged"


def test_another_hotels_request_is_not_found(client, world) -> None:
    request_id = world.order(client)["id"]
    stranger = make_staff(Role.FRONT_DESK, hotels=[make_hotel()])
    console_login(client, stranger)
    assert client.get(f"/console/requests/{request_id}").status_code == 404
    client.post(f"/console/requests/{request_id}/actions/acknowledge", data={"csrf_token": page_csrf(client)})
    assert client.get(f"/api/v1/requests/{request_id}", headers=world.guest_headers).json["status"] == "new"


def test_guest_summary_is_shown_to_the_front_desk_only(app, client, world) -> None:
    request_id = world.order(client)["id"]
    console_login(client, world.desk)
    summary = client.get(f"/console/guests/{world.guest.id}")
    assert summary.status_code == 200 and "Anna" in summary.text and f"#{request_id}" in summary.text
    client = app.test_client()
    console_login(client, world.housekeeper)
    assert client.get(f"/console/guests/{world.guest.id}").status_code == 403


def _session_ended_frame_only(response) -> bool:
    return response.status_code == 200 and response.get_data(as_text=True) == "event: session_ended\ndata: {}\n\n"


def test_queue_stream_needs_the_console_login_and_speaks_sse(client, world) -> None:
    assert _session_ended_frame_only(client.get("/console/queue/stream"))  # the page reloads onto the login form
    console_login(client, world.desk)
    world.order(client)
    response = client.get("/console/queue/stream?after=0", buffered=True)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    assert "event: request.created" in response.get_data(as_text=True)
    assert client.get("/console/queue/stream?after=x").status_code == 400


def test_a_console_stream_past_the_process_s_budget_is_refused(app, client, world, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "SSE_MAX_STREAMS", 0)
    console_login(client, world.desk)
    refused = client.get("/console/queue/stream?after=0")
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
    assert client.get("/console/queue").status_code == 200  # the page renders; its script retries the stream


def test_console_stream_ends_when_the_staff_sessions_are_revoked(app, client, world, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "SSE_MAX_SECONDS", 30)
    monkeypatch.setitem(app.config, "SSE_AUTH_CHECK_SECONDS", 0.05)
    console_login(client, world.desk)
    let_in = threading.Event()
    check = access.current_staff_or_none

    def checked() -> object:
        staff = check()
        let_in.set()  # the page's own login check has passed: the stream is running
        return staff

    monkeypatch.setattr(access, "current_staff_or_none", checked)
    with ThreadPoolExecutor(1) as pool:
        reading = pool.submit(client.get, "/console/queue/stream?after=0", buffered=True)
        assert let_in.wait(timeout=15)
        with unit_of_work():
            revoke_sessions(kind=PrincipalKind.STAFF, principal_id=world.desk.id, reason="password_changed")
        response = reading.result(timeout=15)  # ended by the revocation, well before SSE_MAX_SECONDS
    assert response.status_code == 200
    assert response.get_data(as_text=True).endswith("event: session_ended\ndata: {}\n\n")
    assert _session_ended_frame_only(client.get("/console/queue/stream"))


def test_the_pages_background_requests_leave_the_session_ended_message_to_its_next_navigation(client, world) -> None:
    """EventSource and fetch follow redirects: had they been sent to the login page, they would have consumed the
    message there, unseen (a console page test saw the login form without it)."""
    console_login(client, world.desk)
    with unit_of_work():
        db.session.get(type(world.desk), world.desk.id).is_active = False
    assert _session_ended_frame_only(client.get("/console/queue/stream?after=0"))
    assert client.get("/console/queue/rows").status_code == 401
    page = client.get("/console/queue", follow_redirects=True)
    assert page.request.path == "/console/login"
    assert TEXTS["session_ended"]["en"] in page.get_data(as_text=True)


def test_rooms_and_partners_pages_render(client, world) -> None:
    console_login(client, world.desk)
    rooms = client.get("/console/rooms")
    assert rooms.status_code == 200 and 'id="room-305"' in rooms.text and "Occupied" in rooms.text
    partners = client.get("/console/partners")
    assert partners.status_code == 200 and "No excursion bookings today." in partners.text


def test_marketer_builds_a_segment_and_composes_a_campaign(client, world) -> None:
    console_login(client, world.marketer)
    token = page_csrf(client, "/console/marketing")
    bad = client.post("/console/marketing/segments/new", data={"csrf_token": token, "name": "",
                                                               "hotel_id": str(world.hotel.id), "countries": "Russia"})
    assert bad.status_code == 422 and "countries" in bad.text
    made = client.post("/console/marketing/segments/new", data={
        "csrf_token": token, "name": "English speakers", "hotel_id": str(world.hotel.id), "languages": "en"})
    assert made.status_code == 303
    segment_page = client.get(made.headers["Location"])
    assert 'id="segment-size">1<' in segment_page.text
    segment_id = made.headers["Location"].rsplit("/", 1)[1]
    form = {"csrf_token": token, "segment_id": segment_id, "name": "Spa week", "title_en": "Spa week",
            "title_ru": "Неделя спа", "body_en": "Half price", "body_ru": "Полцены"}
    preview = client.post("/console/marketing/campaigns/new", data={**form, "intent": "preview"})
    assert preview.status_code == 200 and "Неделя спа" in preview.text and 'id="campaign-preview"' in preview.text
    saved = client.post("/console/marketing/campaigns/new", data={**form, "intent": "save"})
    assert saved.status_code == 303
    campaign_url = saved.headers["Location"]
    campaign_id = campaign_url.rsplit("/", 1)[1]
    client.post(f"/console/marketing/campaigns/{campaign_id}/schedule", data={"csrf_token": token})
    assert 'id="campaign-status">scheduled<' in client.get(campaign_url).text
    assert client.get("/console/marketing/seasons").status_code == 200


def _once_of(html: str) -> str:
    match = re.search(r'name="once" value="([^"]+)"', html)
    assert match, "the form carries no once key"
    return match.group(1)


def test_a_resubmitted_creation_form_creates_one_segment_and_one_campaign(client, world) -> None:
    console_login(client, world.marketer)
    form_page = client.get("/console/marketing/segments/new")
    token, once = csrf_of(form_page.text), _once_of(form_page.text)
    assert _once_of(client.get("/console/marketing/segments/new").text) != once  # each render is one creation
    segment = {"csrf_token": token, "once": once, "name": "Twice", "hotel_id": str(world.hotel.id), "languages": "en"}
    first = client.post("/console/marketing/segments/new", data=segment)
    again = client.post("/console/marketing/segments/new", data=segment)  # a double-click, a resubmission
    assert first.status_code == again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    with unit_of_work():
        assert db.session.scalar(select(func.count()).select_from(Segment).where(Segment.name == "Twice")) == 1
    changed = client.post("/console/marketing/segments/new", data={**segment, "name": "Other"})
    assert changed.status_code == 422 and "different request" in changed.text
    assert _once_of(changed.text) != once  # the form shown again carries a fresh key

    segment_id = first.headers["Location"].rsplit("/", 1)[1]
    form_page = client.get(f"/console/marketing/campaigns/new?segment_id={segment_id}")
    campaign = {"csrf_token": token, "once": _once_of(form_page.text), "segment_id": segment_id, "name": "Once",
                "title_en": "Spa", "title_ru": "Спа", "body_en": "Half price", "body_ru": "Полцены", "intent": "save"}
    locations = {client.post("/console/marketing/campaigns/new", data=campaign).headers["Location"] for _ in range(3)}
    assert len(locations) == 1
    with unit_of_work():
        assert db.session.scalar(select(func.count()).select_from(Campaign).where(Campaign.name == "Once")) == 1


def test_a_nul_character_in_a_form_field_is_a_422_page(client, world) -> None:
    console_login(client, world.marketer)
    form_page = client.get("/console/marketing/segments/new")
    response = client.post("/console/marketing/segments/new", data={
        "csrf_token": csrf_of(form_page.text), "once": _once_of(form_page.text), "name": "Nul\u0000name",
        "hotel_id": str(world.hotel.id), "languages": "en"})
    assert response.status_code == 422 and "U+0000" in response.text
    with unit_of_work():
        assert db.session.scalar(select(func.count()).select_from(Segment)) == 0


def test_hostile_input_gets_4xx_pages_not_errors(app, client, world) -> None:
    console_login(client, world.marketer)
    token = page_csrf(client, "/console/marketing")
    for path, data in (("/console/marketing/segments/new", {"hotel_id": "9" * 40, "birthday_within_days": "x"}),
                       ("/console/marketing/campaigns/new", {"segment_id": "-1", "send_at": "yesterday"}),
                       ("/console/marketing/campaigns/999999999/schedule", {"send_at": "2026-99-99T10:00"})):
        response = client.post(path, data={"csrf_token": token, **data})
        assert 300 <= response.status_code < 500, (path, response.status_code)
    assert client.get("/console/marketing/segments/9223372036854775807").status_code == 404
    desk = app.test_client()
    console_login(desk, world.desk)
    assert desk.get("/console/queue?hotel_id=99999999999999999999&status=bogus&overdue=2").status_code == 200
    assert desk.get("/console/queue?hotel_id=999999").status_code == 404
    assert desk.get("/console/requests/9223372036854775807").status_code == 404
    assert desk.post("/console/requests/1/actions/explode", data={"csrf_token": page_csrf(desk)}).status_code == 404


def test_login_attempts_are_rate_limited_like_the_api(client, world) -> None:
    token = csrf_of(client.get("/console/login").text)
    statuses = [client.post("/console/login", data={"email": "nobody@example.com", "password": "guess",
                                                    "csrf_token": token}).status_code for _ in range(12)]
    assert statuses[0] == 401 and statuses[-1] == 429


def test_partners_page_lists_todays_excursions_per_partner(client) -> None:
    now = datetime(2026, 7, 1, 7, 0, tzinfo=UTC)  # 10:00 in Sochi
    with clock.frozen(now):
        hotel = make_hotel(city="Sochi")
        partner = make_partner(hotels=[hotel], name="Black Sea Tours")
        offering = make_offering(partner, title={"en": "Dolphin cruise", "ru": "Дельфины"})
        today, tomorrow = (make_slot(offering, starts_at=now + timedelta(hours=hours)) for hours in (5, 26))
        guest = make_guest(first_name="Ivan", last_name="Petrov")
        make_stay(guest, make_room(make_room_type(hotel)))
        for slot in (today, tomorrow):
            booked = client.post("/api/v1/experience-bookings", headers=headers_for(guest), json={
                "hotel_id": hotel.id, "slot_id": slot.id, "party_size": 2, "language": "en", "payment": "room_folio"})
            assert booked.status_code == 201, booked.json
        console_login(client, make_staff(Role.CONCIERGE, hotels=[hotel]))
        page = client.get("/console/partners")
    assert page.status_code == 200 and "Black Sea Tours" in page.text and "Dolphin cruise" in page.text
    assert "15:00" in page.text and page.text.count("<td>Dolphin cruise</td>") == 1  # tomorrow's is not listed
