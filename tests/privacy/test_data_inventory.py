"""The data inventory in docs/privacy.md matches the models: every text, JSON, encrypted or date column of a table
holding personal data is either inventoried as personal data or reviewed as not personal, and nothing listed there
has disappeared from the models."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, Text

from app.extensions import db
from app.privacy.inventory import content_columns, personal_tables

DOC = Path(__file__).resolve().parents[2] / "docs" / "privacy.md"
_NAME = re.compile(r"`([a-z_]+\.[a-z_]+)`")


def _section(title: str) -> set[str]:
    """`table.column` names in the first cell of each row of the markdown table under `## title`."""
    text = DOC.read_text(encoding="utf-8").split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith("| `"):
            names.update(_NAME.findall(line.split("|")[1]))
    return names


def _all_columns() -> set[str]:
    return {f"{table.name}.{column.name}" for table in db.metadata.sorted_tables for column in table.columns}


def test_every_personal_table_column_is_in_the_inventory() -> None:
    inventoried = _section("Personal data") | _section("Reviewed, not personal")
    missing = sorted(content_columns(db.metadata) - inventoried)
    assert missing == [], f"add these to docs/privacy.md (personal data, or reviewed as not personal): {missing}"


def test_the_inventory_names_only_columns_that_exist() -> None:
    stale = sorted((_section("Personal data") | _section("Reviewed, not personal")) - _all_columns())
    assert stale == []


def test_the_core_personal_fields_are_inventoried_as_personal() -> None:
    personal = _section("Personal data")
    assert {"guests.email", "guests.phone", "guests.identity_document", "guest_preferences.allergies",
            "stay_messages.body", "experience_bookings.contact_phone"} <= personal
    assert not personal & _section("Reviewed, not personal") - {"consent_records.purpose"}


def test_a_new_column_on_a_guest_table_would_fail_the_check() -> None:
    """The check is not vacuous: a table pointing at guests with a new text column shows up as missing."""
    metadata = MetaData()
    for table in db.metadata.sorted_tables:
        table.to_metadata(metadata)
    Table("guest_hobbies", metadata, Column("id", Integer, primary_key=True),
          Column("guest_id", Integer, db.ForeignKey("guests.id")), Column("hobby", String(50)))
    metadata.tables["guests"].append_column(Column("nickname", Text))
    assert "guest_hobbies" in {table.name for table in personal_tables(metadata)}
    assert {"guest_hobbies.hobby", "guests.nickname"} <= content_columns(metadata) - _section("Personal data")
