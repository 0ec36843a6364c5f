"""Model rows as plain JSON values: what a guest's data export is made of (every domain uses the same shape)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect


def plain(value: Any) -> Any:
    """A column value as JSON: datetimes and dates in ISO 8601, decimals as strings (exact)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def as_record(obj: Any, *, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """Every mapped column of `obj` (minus `exclude`) as a plain dict, keyed by attribute name."""
    skipped = set(exclude)
    return {attr.key: plain(getattr(obj, attr.key)) for attr in inspect(obj).mapper.column_attrs
            if attr.key not in skipped and not attr.key.startswith("has_")}


def as_records(objects: Iterable[Any], *, exclude: Iterable[str] = ()) -> list[dict[str, Any]]:
    skipped = tuple(exclude)
    return [as_record(obj, exclude=skipped) for obj in objects]
