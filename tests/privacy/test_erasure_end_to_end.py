"""Done-when: a guest with a full history is erased through the API and appears nowhere in the database, while the
folio still adds up and the points ledger is unchanged; the export shows each part of that history first."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import JSON, Date, String, Text, func, select

from app.bookings.models import Folio, FolioCharge
from app.core.crypto import EncryptedJSON
from app.extensions import db
from app.loyalty.models import PointsEntry
from tests.privacy.conftest import PASSWORD, History


def _texts_of_every_row() -> list[tuple[str, str, Any]]:
    """(table.column, row key, value) for every text, JSON and encrypted column of every table; encrypted columns
    come back decrypted (their type decrypts on read), so their plaintext is scanned too."""
    found = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON | EncryptedJSON | Date)]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)).all():
            for column, value in zip(columns, row, strict=True):
                if value is not None:
                    found.append((f"{table.name}.{column.name}", value))
    return found


def _mentions(value: Any, needles: list[str]) -> list[str]:
    text = (value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)).casefold()
    return [needle for needle in needles if needle.casefold() in text]


def _ledger_sum(guest_id: int) -> int:
    return db.session.scalar(select(func.sum(PointsEntry.points)).where(PointsEntry.guest_id == guest_id)) or 0


def test_export_shows_every_part_of_the_history(client, history: History) -> None:
    h = history
    export = client.get("/api/v1/me/export", headers=h.headers)
    assert export.status_code == 200
    data = export.json
    assert data["guest_id"] == h.guest_id
    profile = data["profile"]
    assert (profile["first_name"], profile["last_name"], profile["email"], profile["phone"], profile["city"]) == (
        h.first_name, h.last_name, h.email, h.phone, "Krasnoyarsk")
    assert profile["identity_document"]["number"] == h.document_number
    assert "password_hash" not in profile
    assert data["preferences"]["allergies"] == ["peanuts"] and "lifts" in data["preferences"]["notes"]
    assert [(m["relation"], m["first_name"]) for m in data["family"]] == [("child", h.child_name)]
    assert [(r["purpose"], r["granted"]) for r in data["consents"]["ledger"]] == [
        ("children_birthdays", True), ("marketing_push", True)]
    assert data["consents"]["reconsent_required"] == []
    assert [link["hotel_id"] for link in data["hotel_links"]] == [h.hotel.hotel.id]
    assert data["sessions"][0]["device_name"] == f"{h.first_name}'s phone"
    [booking] = data["bookings"]
    assert booking["id"] == h.stay["id"] and booking["status"] == "checked_out"
    assert booking["folio"]["balance"] == h.folio["balance"]
    assert sum(c["amount"] for c in booking["folio"]["charges"]) == h.folio["balance"]
    assert {c["kind"] for c in booking["folio"]["charges"]} >= {"room_night", "room_service"}
    assert data["survey_answers"][0]["answers"]["overall"] == 4
    assert data["loyalty"]["membership"]["tier"] and data["loyalty"]["balance"] > 0
    assert sum(e["points"] for e in data["loyalty"]["ledger"]) == data["loyalty"]["balance"]
    assert len(data["loyalty"]["qualifying_stays"]) == 1
    order = next(r for r in data["service_requests"] if r["id"] == h.request_id)
    assert order["rating"] == 2 and "cold" in order["rating_comment"]
    assert [t["action"] for t in order["transitions"]][:2] == ["created", "acknowledged"]
    assert h.phone in data["messages"][0]["body"]
    assert data["service_recoveries"][0]["rating"] == 2
    assert data["room_commands"] == []
    assert data["experience_bookings"] == []
    assert [d["token"] for d in data["push_devices"]] == ["fcm-token-privacy-0001-abcdefgh"]
    assert data["inbox"] and all(item["category"] != "offer" for item in data["inbox"])
    assert any(item["deliveries"] for item in data["inbox"])
    assert data["offers"] == []


def test_erased_guest_appears_nowhere_and_the_books_still_balance(client, history: History) -> None:
    h = history
    folio_id = db.session.scalar(select(Folio.id).where(Folio.booking_id == h.stay["id"]))
    ledger_before = _ledger_sum(h.guest_id)
    assert ledger_before > 0
    assert any(_mentions(value, h.needles) for _, value in _texts_of_every_row())  # the scan can find them
    db.session.rollback()

    wrong = client.post("/api/v1/me/erasure", headers=h.headers, json={"password": "not my password"})
    assert wrong.status_code == 401
    erased = client.post("/api/v1/me/erasure", headers={**h.headers, "Idempotency-Key": "erase-1"},
                         json={"password": PASSWORD})
    assert erased.status_code == 200, erased.json
    assert erased.json["guest_id"] == h.guest_id and erased.json["pseudonym"].startswith("erased-")

    db.session.rollback()  # end the test's read snapshot: see what the erasure committed
    leaks = [f"{where}: {_mentions(value, h.needles)}" for where, value in _texts_of_every_row()
             if _mentions(value, h.needles)]
    assert leaks == []
    charges = db.session.scalars(select(FolioCharge.amount).where(FolioCharge.folio_id == folio_id)).all()
    assert sum(charges) == h.folio["balance"] and len(charges) == len(h.folio["charges"])
    assert _ledger_sum(h.guest_id) == ledger_before

    gone = client.get("/api/v1/me", headers=h.headers)
    assert gone.status_code == 401 and gone.json["code"] == "account_erased"
    retried = client.post("/api/v1/me/erasure", headers={**h.headers, "Idempotency-Key": "erase-1"},
                          json={"password": PASSWORD})  # the app lost the first answer: it learns the outcome
    assert retried.status_code == 401 and retried.json["code"] == "account_erased"
    login = client.post("/api/v1/auth/login", json={"login": h.email, "password": PASSWORD})
    assert login.status_code == 401
