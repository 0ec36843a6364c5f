"""Encryption at rest with rotatable keys."""

from cryptography.fernet import Fernet
from sqlalchemy import text

from app.core import crypto
from app.extensions import db
from tests.factories import make_guest

DOCUMENT = {"type": "passport", "number": "4509123456", "issuing_country": "RU", "expires_on": "2031-05-01"}


def stored_token(guest_id: int) -> str:
    db.session.commit()
    return db.session.execute(text("SELECT identity_document FROM guests WHERE id = :id"), {"id": guest_id}).scalar()


def test_rotation_re_encrypts_under_the_new_key_and_old_keys_can_go(app, monkeypatch):
    guest = make_guest(identity_document=DOCUMENT)
    old_key = app.config["DATA_ENCRYPTION_KEYS"][0]
    new_key = Fernet.generate_key().decode()
    before = stored_token(guest.id)

    monkeypatch.setitem(app.config, "DATA_ENCRYPTION_KEYS", [new_key, old_key])
    crypto.init_keyring(app)
    result = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0 and "re-encrypted 1 values" in result.output

    after = stored_token(guest.id)
    assert after != before and Fernet(new_key.encode()).decrypt(after.encode())
    monkeypatch.setitem(app.config, "DATA_ENCRYPTION_KEYS", [new_key])
    crypto.init_keyring(app)
    try:
        db.session.expire_all()
        assert db.session.get(type(guest), guest.id).identity_document == DOCUMENT
    finally:
        monkeypatch.undo()
        crypto.init_keyring(app)
