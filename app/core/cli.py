"""`flask keys rotate`: re-encrypt every encrypted column under the first key of DATA_ENCRYPTION_KEYS."""

import click
from flask.cli import AppGroup
from sqlalchemy import Text, cast, literal, select, update

from app.core.crypto import EncryptedJSON, rotate
from app.core.db import unit_of_work
from app.extensions import db

keys_cli = AppGroup("keys", help="Manage the keys of data encrypted at rest.")


@keys_cli.command("rotate")
def rotate_keys() -> None:
    """Re-encrypt all encrypted fields with the newest key; afterwards the old keys may be removed."""
    total = 0
    for table in db.metadata.sorted_tables:
        primary_key = next(iter(table.primary_key.columns))
        for column in (c for c in table.columns if isinstance(c.type, EncryptedJSON)):
            with unit_of_work() as session:
                # Read and write the ciphertext as plain text, so that EncryptedJSON neither decrypts nor re-wraps it.
                rows = session.execute(select(primary_key, cast(column, Text)).where(column.is_not(None))).all()
                for row_id, token in rows:
                    session.execute(update(table).where(primary_key == row_id)
                                    .values({column.name: literal(rotate(token), Text())}))
                total += len(rows)
    click.echo(f"re-encrypted {total} values")
