"""Health data in preferences is encrypted at rest: new writes, rows that existed before the migration, and key
rotation; the room is still prepared from it."""

from __future__ import annotations

import json

from cryptography.fernet import Fernet
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from app import create_app
from app.core import crypto
from app.extensions import db
from app.guests.models import GuestPreferences
from tests.factories import headers_for, make_guest
from tests.test_migrations import empty_database_url  # noqa: F401  (fixture)

PRIVACY_REVISION = "b9fc63a25fb9"


def _stored(guest_id: int) -> tuple[str, str]:
    db.session.commit()
    return tuple(db.session.execute(text("SELECT allergies, notes FROM guest_preferences WHERE guest_id = :id"),
                                    {"id": guest_id}).one())


def test_allergies_and_notes_are_ciphertext_in_the_database_and_rotate(client, app, monkeypatch) -> None:
    guest = make_guest()
    saved = client.put("/api/v1/me/preferences", headers=headers_for(guest),
                       json={"allergies": ["penicillin"], "notes": "asthma, no feather pillows"})
    assert saved.status_code == 200 and saved.json["allergies"] == ["penicillin"]
    allergies, notes = _stored(guest.id)
    assert "penicillin" not in allergies and "asthma" not in notes

    new_key = Fernet.generate_key().decode()
    monkeypatch.setitem(app.config, "DATA_ENCRYPTION_KEYS", [new_key, *app.config["DATA_ENCRYPTION_KEYS"]])
    crypto.init_keyring(app)
    result = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0 and "re-encrypted 2 values" in result.output
    rotated = _stored(guest.id)
    assert json.loads(Fernet(new_key.encode()).decrypt(rotated[1].encode())) == "asthma, no feather pillows"
    monkeypatch.setitem(app.config, "DATA_ENCRYPTION_KEYS", [new_key])
    crypto.init_keyring(app)
    try:
        db.session.expire_all()
        assert db.session.get(GuestPreferences, guest.id).allergies == ["penicillin"]
    finally:
        monkeypatch.undo()
        crypto.init_keyring(app)


def test_the_migration_encrypts_existing_rows_and_its_downgrade_restores_them(empty_database_url) -> None:  # noqa: F811
    migrated = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with migrated.app_context():
        upgrade(revision="f34e1090ee7c")
        with db.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO guests (id, language, source, is_active, search_text, failed_login_count, created_at,"
                " updated_at) VALUES (1, 'en', 'app', true, '', 0, '2026-01-01', '2026-01-01')"))
            connection.execute(text(
                "INSERT INTO guest_preferences (guest_id, allergies, diet, notes, updated_at)"
                " VALUES (1, '[\"nuts\"]', '[]', 'gluten-free please', '2026-01-01')"))
        upgrade(revision=PRIVACY_REVISION)
        with db.engine.connect() as connection:
            allergies, notes = connection.execute(text("SELECT allergies, notes FROM guest_preferences")).one()
        assert "nuts" not in allergies and "gluten" not in notes
        # Decrypted by hand: the ORM model may have columns that later migrations add.
        assert json.loads(crypto.decrypt(allergies)) == ["nuts"]
        assert json.loads(crypto.decrypt(notes)) == "gluten-free please"
        db.session.remove()
        downgrade(revision="f34e1090ee7c")
        with db.engine.connect() as connection:
            allergies, notes = connection.execute(text("SELECT allergies, notes FROM guest_preferences")).one()
        assert (json.loads(allergies) if isinstance(allergies, str) else allergies, notes) == (
            ["nuts"], "gluten-free please")
        downgrade(revision="base")
        db.engine.dispose()
