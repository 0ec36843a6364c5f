"""Consent re-consent, erasure rules (proof of identity, repeats, the chain administrator's variant) and exports."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from app.core.auth import Role
from app.core.db import unit_of_work
from app.extensions import db
from app.guests.models import Guest
from app.partners.models import ExperienceBooking, WebhookMessage
from app.partners.services.bookings import partner_view
from app.push.services.segments import marketing_consent
from tests.factories import give_consent, headers_for, make_guest, make_hotel, make_staff
from tests.partners.factories import make_offering, make_partner, make_slot


@pytest.fixture
def new_policy(app: Flask) -> Iterator[None]:
    """The marketing push policy text changes: its version moves on, the others stay."""
    before = dict(app.config["CONSENT_POLICY_VERSIONS"])
    app.config["CONSENT_POLICY_VERSIONS"]["marketing_push"] = "2027-03"
    yield
    app.config["CONSENT_POLICY_VERSIONS"] = before


def _marketable(guest_id: int) -> bool:
    return db.session.scalar(select(Guest.id).where(Guest.id == guest_id, marketing_consent())) is not None


# -- consent ledger and re-consent ---------------------------------------------------------------------------------

def test_a_new_policy_version_asks_again_and_marketing_waits_for_the_new_grant(client, app, new_policy) -> None:
    guest = make_guest()
    give_consent(guest, "marketing_push")  # given under 2026-11
    give_consent(guest, "profiling")
    headers = headers_for(guest)
    overview = client.get("/api/v1/me/consents", headers=headers).json
    assert overview["reconsent_required"] == ["marketing_push"]
    state = {s["purpose"]: s for s in overview["current"]}
    assert state["marketing_push"]["granted"] and state["marketing_push"]["reconsent_required"]
    assert state["marketing_push"]["current_policy_version"] == "2027-03"
    assert not state["profiling"]["reconsent_required"]
    assert not _marketable(guest.id)

    again = client.post("/api/v1/me/consents", headers=headers, json={"purpose": "marketing_push", "granted": True})
    assert again.status_code == 201 and again.json["reconsent_required"] == []
    assert [(r["purpose"], r["policy_version"]) for r in again.json["history"]][:2] == [
        ("marketing_push", "2027-03"), ("profiling", "2026-11")]  # append-only: the old grant is still there
    db.session.rollback()
    assert _marketable(guest.id)


def test_a_withdrawal_under_an_old_version_needs_no_reconsent(client, new_policy) -> None:
    guest = make_guest()
    give_consent(guest, "marketing_push", granted=False)
    overview = client.get("/api/v1/me/consents", headers=headers_for(guest)).json
    assert overview["reconsent_required"] == []


def test_merging_does_not_refresh_an_outdated_grant(client, new_policy) -> None:
    hotel = make_hotel()
    source, target = make_guest(hotels=[hotel]), make_guest(hotels=[hotel])
    give_consent(source, "marketing_push")
    give_consent(target, "marketing_push")
    desk = headers_for(make_staff(Role.FRONT_DESK, hotels=[hotel]))
    merged = client.post("/api/v1/staff/guests/merge", headers=desk,
                         json={"source_id": source.id, "target_id": target.id})
    assert merged.status_code == 200
    state = {s["purpose"]: s for s in merged.json["consents"]}
    assert state["marketing_push"]["granted"] is False


# -- erasure -------------------------------------------------------------------------------------------------------

def test_erasure_needs_the_password_or_a_fresh_code_login(client) -> None:
    guest = make_guest()
    headers = headers_for(guest)
    missing = client.post("/api/v1/me/erasure", headers=headers, json={})
    assert missing.status_code == 403 and missing.json["code"] == "current_password_required"
    walk_in = make_guest(password=None)
    refused = client.post("/api/v1/me/erasure", headers=headers_for(walk_in), json={})
    assert refused.status_code == 403 and refused.json["code"] == "recent_login_required"
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # nothing was erased


def test_code_login_guest_erases_with_a_fresh_code_session(client, app) -> None:
    client.post("/api/v1/auth/code", json={"phone": "+79995550777"})
    code = app.extensions["code_sender"].last_code("+79995550777")
    tokens = client.post("/api/v1/auth/code/verify", json={"phone": "+79995550777", "code": code}).json
    erased = client.post("/api/v1/me/erasure", headers={"Authorization": f"Bearer {tokens['access_token']}"},
                         json={})
    assert erased.status_code == 200 and erased.json["already_erased"] is False


def test_chain_admin_erases_on_request_repeats_harmlessly_and_it_is_audited(client) -> None:
    hotel = make_hotel()
    guest = make_guest(hotels=[hotel], phone="+79995550888")
    guest_headers = headers_for(guest)
    admin = headers_for(make_staff(Role.CHAIN_ADMIN))
    manager = headers_for(make_staff(Role.HOTEL_MANAGER, hotels=[hotel]))
    assert client.post(f"/api/v1/staff/guests/{guest.id}/erasure", headers=manager).status_code == 403
    assert client.get(f"/api/v1/staff/guests/{guest.id}/export", headers=manager).status_code == 403
    exported = client.get(f"/api/v1/staff/guests/{guest.id}/export", headers=admin)
    assert exported.status_code == 200 and exported.json["profile"]["phone"] == "+79995550888"

    first = client.post(f"/api/v1/staff/guests/{guest.id}/erasure", headers={**admin, "Idempotency-Key": "e1"})
    replay = client.post(f"/api/v1/staff/guests/{guest.id}/erasure", headers={**admin, "Idempotency-Key": "e1"})
    again = client.post(f"/api/v1/staff/guests/{guest.id}/erasure", headers=admin)
    assert first.status_code == replay.status_code == again.status_code == 200
    assert replay.json == first.json and first.json["already_erased"] is False
    assert again.json["already_erased"] is True and again.json["pseudonym"] == first.json["pseudonym"]
    assert client.get("/api/v1/me", headers=guest_headers).status_code == 401
    assert client.get("/api/v1/staff/guests/999999/export", headers=admin).status_code == 404

    after = client.get(f"/api/v1/staff/guests/{guest.id}/export", headers=admin).json
    assert after["profile"]["phone"] is None and after["profile"]["last_name"] == first.json["pseudonym"]
    actions = [e["action"] for e in client.get(
        f"/api/v1/staff/audit?subject_kind=guest&subject_id={guest.id}", headers=admin).json["items"]]
    assert actions.count("guest.erased") == 1 and "guest.exported" in actions


def test_erasure_pseudonymises_experience_bookings_and_what_partners_were_sent(client) -> None:
    hotel = make_hotel()
    partner = make_partner(hotels=[hotel])
    slot = make_slot(make_offering(partner))
    guest = make_guest(hotels=[hotel], first_name="Olesya", last_name="Brightwater", phone="+79995550999")
    with unit_of_work():
        booking = ExperienceBooking(
            guest_id=guest.id, hotel_id=hotel.id, partner_id=partner.id, offering_id=slot.offering_id,
            slot_id=slot.id, starts_at=slot.starts_at, party_size=2, language="en", payment="at_partner",
            currency="RUB", unit_price=1000, total_amount=2000, commission_bp=1500, commission_amount=300,
            lead_name="Olesya Brightwater", share_contact=True, contact_phone=guest.phone, contact_email=guest.email)
        db.session.add(booking)
        db.session.flush()
        db.session.add(WebhookMessage(msg_id="msg_test", partner_id=partner.id, event_type="experience_booking.created",
                                      body=json.dumps({"type": "experience_booking.created",
                                                       "data": partner_view(booking)})))
    admin = headers_for(make_staff(Role.CHAIN_ADMIN))
    erased = client.post(f"/api/v1/staff/guests/{guest.id}/erasure", headers=admin).json
    db.session.rollback()
    db.session.expire_all()
    kept = db.session.get(ExperienceBooking, booking.id)
    assert (kept.lead_name, kept.contact_phone, kept.contact_email) == (erased["pseudonym"], None, None)
    assert kept.total_amount == 2000 and kept.commission_amount == 300
    body = db.session.scalar(select(WebhookMessage.body).where(WebhookMessage.msg_id == "msg_test"))
    assert "Olesya" not in body and "+79995550999" not in body and erased["pseudonym"] in body


def test_the_export_is_for_the_guest_only(client) -> None:
    assert client.get("/api/v1/me/export").status_code == 401
    staff = headers_for(make_staff(Role.FRONT_DESK))
    assert client.get("/api/v1/me/export", headers=staff).status_code == 403


def test_managers_browse_the_access_audit_by_actor_and_time(client) -> None:
    hotel = make_hotel()
    guest = make_guest(hotels=[hotel])
    desk = make_staff(Role.FRONT_DESK, hotels=[hotel])
    other_desk = make_staff(Role.FRONT_DESK, hotels=[hotel])
    manager = headers_for(make_staff(Role.HOTEL_MANAGER, hotels=[hotel]))
    assert client.get(f"/api/v1/staff/guests/{guest.id}", headers=headers_for(desk)).status_code == 200
    assert client.get(f"/api/v1/staff/guests/{guest.id}", headers=headers_for(other_desk)).status_code == 200
    mine = client.get(f"/api/v1/staff/audit?actor_kind=staff&actor_id={desk.id}", headers=manager)
    assert [(e["action"], e["actor_id"]) for e in mine.json["items"]] == [("guest.read", desk.id)]
    page = client.get("/api/v1/staff/audit?action=guest.read&limit=1", headers=manager).json
    assert len(page["items"]) == 1 and page["next_cursor"]
    future = client.get("/api/v1/staff/audit?since=2100-01-01T00:00:00Z", headers=manager).json
    assert future["items"] == []
    naive = client.get("/api/v1/staff/audit?since=2100-01-01T00:00:00", headers=manager)
    assert naive.status_code == 422
