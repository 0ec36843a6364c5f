"""A room preparation needs the guest's allergies and notes: staff see them, but no copy of them is plain text."""

from __future__ import annotations

from sqlalchemy import select, text

from app.core.auth import Role
from app.extensions import db
from app.requests.models import ServiceRequest
from tests.factories import headers_for, make_staff
from tests.privacy.conftest import PASSWORD, History


def _preparation_id(guest_id: int) -> int:
    return db.session.scalars(select(ServiceRequest.id).where(
        ServiceRequest.guest_id == guest_id, ServiceRequest.type == "housekeeping")).one()


def _stored(request_id: int) -> tuple[str, str | None]:
    details, private = db.session.execute(text(
        "SELECT details, private_details FROM service_requests WHERE id = :id"), {"id": request_id}).one()
    return str(details), private


def test_housekeeping_sees_the_allergies_which_are_stored_encrypted_and_in_no_event(client, history: History):
    h = history
    request_id = _preparation_id(h.guest_id)
    housekeeper = headers_for(make_staff(Role.HOUSEKEEPING, hotels=[h.hotel.hotel]))
    shown = client.get(f"/api/v1/staff/requests/{request_id}", headers=housekeeper).json["details"]
    assert shown["kind"] == "room_preparation"
    assert shown["preferences"]["allergies"] == ["peanuts"] and "near lifts" in shown["preferences"]["notes"]
    assert shown["preferences"]["pillow"] == "hypoallergenic"

    details, private = _stored(request_id)
    assert "peanuts" not in details and "lifts" not in details and "hypoallergenic" in details
    assert private is not None and private.startswith("gAAAA") and "peanuts" not in private  # a Fernet token
    payloads = db.session.execute(text("SELECT payload FROM domain_events")).scalars().all()
    assert payloads and not [p for p in payloads if "peanuts" in str(p) or "near lifts" in str(p)]


def test_erasure_drops_the_encrypted_copy(client, history: History):
    h = history
    request_id = _preparation_id(h.guest_id)
    db.session.rollback()
    erased = client.post("/api/v1/me/erasure", headers={**h.headers, "Idempotency-Key": "erase-prep"},
                         json={"password": PASSWORD})
    assert erased.status_code == 200, erased.json
    db.session.rollback()
    assert _stored(request_id)[1] is None
