"""privacy: guests.erased_at; guest_preferences.allergies and notes encrypted at rest

Revision ID: b9fc63a25fb9
Revises: f34e1090ee7c
Create Date: 2026-11-23 02:58:56.892255

Existing allergies and notes are encrypted with the first key of DATA_ENCRYPTION_KEYS (the app's config, as the
release step runs `flask db upgrade` inside the app), in the format of app.core.crypto.EncryptedJSON: Fernet over
the JSON text of the value.
"""
import json

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import Fernet, MultiFernet
from flask import current_app

# revision identifiers, used by Alembic.
revision = 'b9fc63a25fb9'
down_revision = 'f34e1090ee7c'
branch_labels = None
depends_on = None

_preferences = sa.table("guest_preferences", sa.column("guest_id", sa.BigInteger()),
                        sa.column("allergies", sa.Text()), sa.column("notes", sa.Text()))


def _keyring() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in current_app.config["DATA_ENCRYPTION_KEYS"]])


def _rewrite(convert) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(_preferences.c.guest_id, _preferences.c.allergies, _preferences.c.notes))
    for guest_id, allergies, notes in rows.all():
        connection.execute(_preferences.update().where(_preferences.c.guest_id == guest_id)
                           .values(**convert(allergies, notes)))


def upgrade():
    with op.batch_alter_table('guest_preferences', schema=None) as batch_op:
        batch_op.alter_column('allergies', existing_type=sa.JSON(), type_=sa.Text(), existing_nullable=False,
                              postgresql_using='allergies::text')

    with op.batch_alter_table('guests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(), nullable=True))

    keyring = _keyring()

    def encrypt(allergies, notes):
        return {"allergies": keyring.encrypt(json.dumps(json.loads(allergies or "[]")).encode()).decode(),
                "notes": None if notes is None else keyring.encrypt(json.dumps(notes, ensure_ascii=False).encode())
                .decode()}

    _rewrite(encrypt)


def downgrade():
    keyring = _keyring()

    def decrypt(allergies, notes):
        return {"allergies": keyring.decrypt(allergies.encode()).decode() if allergies else "[]",
                "notes": None if notes is None else json.loads(keyring.decrypt(notes.encode()))}

    _rewrite(decrypt)

    # Not in batch mode: on SQLite that recreates `guests`, and dropping the old table would cascade to every row
    # that references it (foreign keys are on). SQLite >= 3.35 drops a column in place.
    op.drop_column('guests', 'erased_at')

    with op.batch_alter_table('guest_preferences', schema=None) as batch_op:
        batch_op.alter_column('allergies', existing_type=sa.Text(), type_=sa.JSON(), existing_nullable=False,
                              postgresql_using='allergies::json')
