"""Cursor (keyset) pagination: stable under inserts, and an index seek instead of OFFSET scans."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import marshmallow as ma
from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from app.core.errors import Unprocessable
from app.extensions import db

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class CursorArgsSchema(ma.Schema):
    cursor = ma.fields.String(load_default=None, validate=ma.validate.Length(max=500),
                              metadata={"description": "Opaque cursor from the previous page's `next_cursor`."})
    limit = ma.fields.Integer(load_default=DEFAULT_LIMIT, validate=ma.validate.Range(1, MAX_LIMIT))


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None


def paginate(
    stmt: Select, *, keys: Sequence[InstrumentedAttribute], cursor: str | None, limit: int, descending: bool = False
) -> Page:
    """Run `stmt` ordered by `keys` (the last must be unique) and return one page after `cursor`."""
    columns = tuple_(*keys)
    if cursor:
        after = _decode(cursor, len(keys))
        stmt = stmt.where(columns < tuple_(*after) if descending else columns > tuple_(*after))
    order = [key.desc() if descending else key.asc() for key in keys]
    rows = list(db.session.scalars(stmt.order_by(*order).limit(limit + 1)))
    if len(rows) <= limit:
        return Page(rows, None)
    last = rows[limit - 1]
    return Page(rows[:limit], _encode([getattr(last, key.key) for key in keys]))


def _encode(values: list[Any]) -> str:
    plain = [{"dt": v.isoformat()} if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def _decode(cursor: str, size: int) -> list[Any]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != size:
            raise ValueError
        return [datetime.fromisoformat(v["dt"]) if isinstance(v, dict) else v for v in raw]
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        raise Unprocessable("The cursor is not valid.", code="invalid_cursor",
                            errors={"cursor": ["Not a cursor from this API."]}) from None


@cache
def page_schema(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """`{"items": [...], "next_cursor": ...}` for an item schema (one class per item schema, for the OpenAPI doc)."""
    name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
    return type(name, (ma.Schema,), {
        "items": ma.fields.List(ma.fields.Nested(item_schema)),
        "next_cursor": ma.fields.String(allow_none=True),
    })
