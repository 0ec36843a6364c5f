"""Which tables hold personal data, for the data inventory (docs/privacy.md) and its test.

A table holds personal data when it points at a guest through foreign keys (directly or through another such
table). These hold it without a foreign key, so they are named here.
"""

from __future__ import annotations

from sqlalchemy import JSON, Date, MetaData, String, Table, Text

from app.core.crypto import EncryptedJSON

UNLINKED_PERSONAL_TABLES = {
    "auth_sessions": "principal_id is a guest (or staff) id by kind",
    "login_codes": "destination is a guest's phone or email",
    "idempotency_records": "stored responses of a guest's own calls",
    "domain_events": "guest_id is a plain column; payloads describe the guest's actions",
    "audit_entries": "subject_id names the guest whose data staff read",
    "partner_webhook_messages": "bodies carry the lead name and shared contacts",
    "iot_commands": "issued_by names the guest as guest:<id>",
}
CONTENT_TYPES = (String, Text, JSON, EncryptedJSON, Date)


def personal_tables(metadata: MetaData) -> list[Table]:
    """guests, every table reaching it through foreign keys, and UNLINKED_PERSONAL_TABLES."""
    found = {"guests"} | set(UNLINKED_PERSONAL_TABLES)
    grew = True
    while grew:
        grew = False
        for table in metadata.sorted_tables:
            if table.name not in found and any(fk.column.table.name in found for fk in table.foreign_keys
                                               if fk.column.table.name not in ("hotels", "staff_members")):
                found.add(table.name)
                grew = True
    return [table for table in metadata.sorted_tables if table.name in found]


def content_columns(metadata: MetaData) -> set[str]:
    """`table.column` of every text, JSON, encrypted and date column of the personal-data tables."""
    return {f"{table.name}.{column.name}" for table in personal_tables(metadata) for column in table.columns
            if isinstance(column.type, CONTENT_TYPES)}
