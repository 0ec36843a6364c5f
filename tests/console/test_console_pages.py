"""The console in a real browser (Playwright driving Debian's Chromium) against the app served over HTTP.

A front-desk clerk sees a guest's request arrive without reloading and works it from the page while the guest
watches its status through the API; a marketer builds a segment, schedules a campaign and reads its results; a
housekeeper is kept out of the marketing desk. Every page visited is saved under var/screenshots/ for review.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.console import queue_routes
from app.core.auth import PrincipalKind, Role
from app.core.db import unit_of_work
from app.extensions import db
from app.identity.services import revoke_sessions
from app.iot import services as iot_services
from app.push import jobs as push_jobs
from app.staff.models import StaffMember
from tests.console.conftest import book_from_today, browser_login, screenshot
from tests.factories import (
    give_consent,
    headers_for,
    make_guest,
    make_push_device,
    make_room,
    make_room_device,
    make_room_type,
    make_staff,
    make_stay,
)

pytestmark = pytest.mark.browser


def guest_status(client, world, request_id: int) -> str:
    return client.get(f"/api/v1/requests/{request_id}", headers=world.guest_headers).json["status"]


def test_front_desk_sees_a_request_arrive_live_and_works_it(browser_page, client, world) -> None:
    page = browser_page
    make_room_device(world.room, "climate", available=True, state={"temperature": 22})
    make_room_device(world.room, "curtains", available=True, fault="motor_stalled")
    make_room_device(world.room, "lock", available=False)
    with unit_of_work():
        iot_services.heartbeat(bridge_id="console-test")  # a live bridge: availability is known
    browser_login(page, world.desk, shot="login")
    expect(page).to_have_url(re.compile(r"/console/queue$"))
    expect(page.locator("#live")).to_have_text("Live")
    expect(page.locator("#queue-rows")).to_contain_text("No open requests.")

    request_id = world.order(client)["id"]  # the guest orders through the API; the page must not be reloaded
    row = page.locator(f"#request-{request_id}")
    expect(row).to_be_visible()
    expect(row.locator(".status")).to_have_text("new")
    expect(row.locator(".sla")).to_have_text(re.compile(r"^\d+:\d\d$"))
    dnd = client.put(f"/api/v1/stays/{world.stay.id}/room-status", json={"state": "dnd"}, headers=world.guest_headers)
    assert dnd.status_code == 200
    expect(row).to_contain_text("Do not disturb")  # the room's state arrives live too
    screenshot(page, "queue")

    row.locator("button[data-action=acknowledge]").click()
    expect(page.locator(f"#request-{request_id} .status")).to_have_text("acknowledged")
    assert guest_status(client, world, request_id) == "acknowledged"
    page.locator(f"#request-{request_id} button[data-action=assign]").click()
    expect(page.locator(f"#request-{request_id} .status")).to_have_text("assigned")
    expect(page.locator(f"#request-{request_id}")).to_contain_text("Daria Desk")

    page.click(f"#request-{request_id} a")
    expect(page.locator("#request-status")).to_have_text("assigned")
    screenshot(page, "request-detail")
    page.click("#guest-link")
    expect(page.locator("h1")).to_contain_text("Anna")
    screenshot(page, "guest-summary")
    page.go_back()
    page.click("button[data-action=complete]")
    expect(page.locator("#request-status")).to_have_text("done")
    assert guest_status(client, world, request_id) == "done"

    page.goto("/console/queue")
    expect(page.locator(f"#request-{request_id}")).to_have_count(0)  # done requests leave the open queue
    page.click(".lang-switch button[value=ru]")
    expect(page.locator("h1")).to_have_text("Очередь")
    screenshot(page, "queue-ru")
    page.click(".lang-switch button[value=en]")

    page.goto("/console/rooms")
    expect(page.locator("#alerts")).to_contain_text("motor_stalled")
    expect(page.locator("#alerts")).to_contain_text("Lock: offline")
    expect(page.locator("#room-305")).to_contain_text("Occupied")
    screenshot(page, "rooms")
    page.goto("/console/partners")
    expect(page.locator("h1")).to_contain_text("Today's excursion bookings")
    screenshot(page, "partners")


def test_front_desk_checks_a_guest_in_and_out_in_the_browser(browser_page, client, resort) -> None:
    page = browser_page
    guest = make_guest(first_name="Ivan", last_name="Petrov")
    booking = book_from_today(client, guest, resort, nights=3)
    browser_login(page, make_staff(Role.FRONT_DESK, hotels=[resort.hotel], full_name="Daria Desk"))
    page.click("header nav >> text=Front desk")
    row = page.locator(f"#stay-{booking['id']}")
    expect(row.locator(".guest")).to_have_text("Ivan Petrov")
    expect(row.locator(".status")).to_have_text("expected")
    screenshot(page, "desk-arrivals")

    row.locator("button[data-action=check-in]").click()
    expect(page.locator(".flash.ok")).to_contain_text(f"{booking['reference']}: checked in")
    expect(row.locator(".status")).to_have_text("in house")
    room = row.locator(".room").inner_text()
    assert room and client.get("/api/v1/stays/current", headers=headers_for(guest)).json["room_number"] == room

    page.click("#list-in_house")
    page.locator(f"#stay-{booking['id']} a", has_text="Open").click()
    expect(page.locator("#stay-room")).to_have_text(room)
    # Leaving on the arrival day: tonight is paid, the two nights after it are credited.
    expect(page.locator("#early")).to_contain_text(booking["price"]["nights"][1]["night"])
    later = sum(night["total"] for night in booking["price"]["nights"][1:])
    expect(page.locator("#to-settle")).to_have_text(f"{(booking['total_amount'] - later) / 100:,.2f} RUB")
    screenshot(page, "desk-stay")
    page.click("button[data-action=checkout]")
    expect(page.locator("#stay-status")).to_have_text("checked out")
    expect(page.locator("#folio tr.credit")).to_have_count(4)  # two nights, each with its tax
    stay = client.get(f"/api/v1/bookings/{booking['id']}", headers=headers_for(guest)).json
    assert stay["status"] == "checked_out" and stay["nights"] == 1
    screenshot(page, "desk-checked-out")


def test_marketer_builds_a_segment_schedules_a_campaign_and_sees_its_results(browser_page, app, client,
                                                                               world) -> None:
    page = browser_page
    give_consent(world.guest)
    make_push_device(world.guest)
    browser_login(page, world.marketer)
    expect(page).to_have_url(re.compile(r"/console/marketing$"))
    screenshot(page, "marketing")

    page.click("#new-segment")
    page.fill("input[name=name]", "English speakers who agreed")
    page.check("input[name=languages][value=en]")
    page.select_option("select[name=marketing_consent]", "yes")
    screenshot(page, "segment-form")
    page.click("#save-segment")
    expect(page.locator("#segment-size")).to_have_text("1")
    screenshot(page, "segment")

    page.click("#compose")
    page.fill("input[name=name]", "Spa week")
    page.fill("input[name=title_en]", "Spa week at Sea Breeze")
    page.fill("input[name=title_ru]", "Неделя спа в «Морском бризе»")
    page.fill("textarea[name=body_en]", "Half price massages until Sunday.")
    page.fill("textarea[name=body_ru]", "Массаж за полцены до воскресенья.")
    page.click("#preview-campaign")
    expect(page.locator("#campaign-preview")).to_contain_text("Неделя спа")
    screenshot(page, "campaign-composer")
    page.click("#save-campaign")
    expect(page.locator("#campaign-status")).to_have_text("draft")
    page.click("#schedule")
    expect(page.locator("#campaign-status")).to_have_text("scheduled")

    app.config["PUSH_QUIET_HOURS"], quiet = "00:00-00:00", app.config["PUSH_QUIET_HOURS"]  # send now, day or night
    try:
        push_jobs.run_campaigns()
    finally:
        app.config["PUSH_QUIET_HOURS"] = quiet
    inbox = client.get("/api/v1/me/inbox", headers=world.guest_headers).json["items"]
    opened = client.post(f"/api/v1/me/inbox/{inbox[0]['id']}/actions/open", headers=world.guest_headers)
    assert opened.status_code == 200
    make_stay(world.guest, make_room(make_room_type(world.hotel)), status="confirmed")  # booked after the push

    page.reload()
    expect(page.locator("#campaign-status")).to_have_text("sent")
    expect(page.locator("#stat-sent")).to_have_text("1")
    expect(page.locator("#stat-opened")).to_have_text("1")
    expect(page.locator("#stat-bookings")).to_have_text("1")
    expect(page.locator("#results-chart rect.bar-sent")).to_have_attribute("data-value", "1")
    screenshot(page, "campaign-results")
    page.goto("/console/marketing/seasons")
    expect(page.locator(f"#seasons-{world.hotel.id} rect.season-high")).to_have_count(1)
    screenshot(page, "seasons")


def test_housekeeper_cannot_open_the_marketing_pages(browser_page, world) -> None:
    page = browser_page
    browser_login(page, world.housekeeper)
    expect(page).to_have_url(re.compile(r"/console/queue$"))
    expect(page.locator("header nav")).not_to_contain_text("Marketing")
    response = page.goto("/console/marketing")
    assert response.status == 403
    expect(page.locator(".message")).to_have_text("Your role does not allow this page.")
    screenshot(page, "forbidden")
    assert page.goto("/console/marketing/campaigns/new").status == 403


def test_a_deactivated_account_is_logged_out_of_the_console(browser_page, world) -> None:
    page = browser_page
    clerk = make_staff(Role.FRONT_DESK, hotels=[world.hotel])
    browser_login(page, clerk)
    expect(page).to_have_url(re.compile(r"/console/queue$"))
    with unit_of_work():
        db.session.get(StaffMember, clerk.id).is_active = False
    # The open queue page finds out by itself (its stream reconnects every SSE_MAX_SECONDS, half a second in
    # tests, and gets a session_ended frame) and reloads onto the login form, which says why. The test does not
    # navigate: a page.goto() of its own would race with that reload.
    expect(page).to_have_url(re.compile(r"/console/login"))
    expect(page.locator(".flash.error")).to_have_text("Your session has ended; log in again.")


def test_an_open_queue_page_goes_to_the_login_when_its_session_is_revoked(browser_page, app, world,
                                                                           monkeypatch) -> None:
    monkeypatch.setitem(app.config, "SSE_MAX_SECONDS", 60)  # the session check, not the stream's end, acts
    monkeypatch.setitem(app.config, "SSE_AUTH_CHECK_SECONDS", 0.2)
    page = browser_page
    clerk = make_staff(Role.FRONT_DESK, hotels=[world.hotel])
    browser_login(page, clerk)
    expect(page.locator("#live")).to_have_text("Live")
    with unit_of_work():
        revoke_sessions(kind=PrincipalKind.STAFF, principal_id=clerk.id, reason="password_changed")
    expect(page).to_have_url(re.compile(r"/console/login"))  # no click, no navigation by the test


def test_a_queue_page_refused_a_stream_tries_again_and_goes_live(browser_page, app, client, world,
                                                                 monkeypatch) -> None:
    # The server had as many streams open as it serves (SSE_MAX_STREAMS): EventSource gives up on a 503, the
    # page's script opens a new stream later, and what happened meanwhile shows without a reload.
    monkeypatch.setitem(app.config, "SSE_MAX_STREAMS", 0)
    monkeypatch.setattr(queue_routes, "STREAMS_BUSY_RETRY_SECONDS", 0.5)
    page = browser_page
    browser_login(page, world.desk)
    expect(page.locator("#live")).to_have_text("Reconnecting…")
    request_id = world.order(client)["id"]  # ordered while the page has no stream

    monkeypatch.setitem(app.config, "SSE_MAX_STREAMS", 2)
    expect(page.locator("#live")).to_have_text("Live")
    expect(page.locator(f"#request-{request_id}")).to_be_visible()
    second = world.order(client)["id"]  # and the stream it opened carries what comes next
    expect(page.locator(f"#request-{second}")).to_be_visible()
