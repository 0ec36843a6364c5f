"""Reading HTML forms into the API's own schemas, so the console accepts exactly what the API accepts."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask import request

from app.core.db import unit_of_work
from app.core.idempotency import run_once
from app.core.schemas import nul_error, nul_path

# Hidden field of the forms that create something: the console's Idempotency-Key (a double-click, a browser's
# resubmission or a retry after a lost answer creates one segment or campaign, not two).
ONCE_FIELD = "once"


def once_key() -> str:
    """A fresh key for a form being rendered: each render is one intended creation."""
    return secrets.token_urlsafe(16)


def submit_once(work: Callable[[], Any]) -> Any:
    """Run `work` (which creates and returns the redirect to what it created) once per form key: a repeat of the
    same form gets the same redirect. A DomainError from `work` rolls it back and frees the key."""
    key = request.form.get(ONCE_FIELD) or None
    if key is None:  # a form rendered before keys existed, or a script: one unit of work, as the API without a key
        with unit_of_work():
            return work()
    return run_once(key, work)


def id_value(raw: str | None) -> int | str | None:
    """A form's id as an int when it looks like one (the schema refuses the rest), None when empty."""
    raw = (raw or "").strip()
    if not raw:
        return None
    return int(raw) if raw.isdigit() and len(raw) < 19 else raw


def load(schema: ma.Schema, data: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(loaded data, {}) or (None, field errors); empty values are left out, as a form cannot send null."""
    cleaned = {key: value for key, value in data.items() if value not in (None, "", [], {})}
    path = nul_path(cleaned)
    if path is not None:
        return None, nul_error(path)
    try:
        return schema.load(cleaned), {}
    except ma.ValidationError as error:
        return None, error.normalized_messages()


def text(form: Any, name: str) -> str:
    return (form.get(name) or "").strip()


def split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def flatten_errors(errors: Any, prefix: str = "") -> list[str]:
    """Marshmallow's nested error dict as lines "field: message"."""
    if isinstance(errors, dict):
        lines: list[str] = []
        for key, value in errors.items():
            lines += flatten_errors(value, f"{prefix}{key}." if not isinstance(key, int) else prefix)
        return lines
    if isinstance(errors, list):
        return [f"{prefix.rstrip('.')}: {item}" if isinstance(item, str) else line
                for item in errors for line in ([item] if isinstance(item, str) else flatten_errors(item, prefix))]
    return [f"{prefix.rstrip('.')}: {errors}"]
