"""Shared marshmallow pieces: strict base schema and field types used across domains."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import marshmallow as ma
import phonenumbers

from app.core.i18n import localise

LANGUAGES = ("en", "ru")


class StrictSchema(ma.Schema):
    """Unknown fields are an error, not silently dropped: a typo must not look like success."""

    class Meta:
        unknown = ma.RAISE


class Phone(ma.fields.String):
    """A phone number in E.164 (+79991234567); other spellings are normalised when unambiguous."""

    default_error_messages = {"invalid_phone": "Not a valid phone number in E.164 format (+79991234567)."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            number = phonenumbers.parse(text, None)
        except phonenumbers.NumberParseException as exc:
            raise self.make_error("invalid_phone") from exc
        if not phonenumbers.is_valid_number(number):
            raise self.make_error("invalid_phone")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class NormalisedEmail(ma.fields.Email):
    """Emails compare case-insensitively; store them lower-cased and trimmed."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, str):
            value = value.strip()
        return super()._deserialize(value, attr, data, **kwargs).lower()


_ZONES = frozenset(available_timezones())


class TimeZoneName(ma.fields.String):
    """An IANA time zone name such as Europe/Moscow."""

    default_error_messages = {"invalid_tz": "Not a known IANA time zone (for example Europe/Moscow)."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if text not in _ZONES:
            raise self.make_error("invalid_tz")
        ZoneInfo(text)
        return text


def language_field(**kwargs: Any) -> ma.fields.String:
    return ma.fields.String(validate=ma.validate.OneOf(LANGUAGES), **kwargs)


class LocalisedText(ma.fields.Dict):
    """Input: {"en": "...", "ru": "..."} with at least English. Output: the whole mapping."""

    def __init__(self, max_length: int = 200, **kwargs: Any) -> None:
        super().__init__(
            keys=ma.fields.String(validate=ma.validate.OneOf(LANGUAGES)),
            values=ma.fields.String(validate=ma.validate.Length(1, max_length)),
            **kwargs,
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict[str, str]:
        result = super()._deserialize(value, attr, data, **kwargs)
        if "en" not in result:
            raise ma.ValidationError("An English text is required.")
        return result


class Localised(ma.fields.Field):
    """Output only: picks the text in the caller's language from a {lang: text} attribute."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return localise(value)


# Ids are 64-bit signed integers in every database; a larger number must be a 4xx, not a driver overflow.
MAX_ID = 2**63 - 1


def id_field(*, strict: bool = True, **kwargs: Any) -> ma.fields.Integer:
    """A reference to a row by id: a positive integer that fits the database (query strings: strict=False)."""
    return ma.fields.Integer(strict=strict, validate=ma.validate.Range(1, MAX_ID), **kwargs)


# -- the NUL character ---------------------------------------------------------------------------------------------
# No text of this API has a use for U+0000, and PostgreSQL cannot store it in a text column (a DataError, so a 500
# for a client's mistake). The API refuses it for every declared argument (app/core/api.py), the console for every
# form field (app/console/forms.py).

NUL_MESSAGE = "Must not contain the NUL character (U+0000)."


def nul_path(value: Any, path: tuple[str, ...] = ()) -> list[str] | None:
    """The keys down to the first text holding U+0000 in `value` (a key counts as its own field), else None."""
    if isinstance(value, str):
        return list(path) if "\x00" in value else None
    if isinstance(value, Mapping):
        pairs = value.items(multi=True) if hasattr(value, "getlist") else value.items()  # werkzeug MultiDict
        for key, item in pairs:
            here = (*path, str(key))
            found = list(here) if isinstance(key, str) and "\x00" in key else nul_path(item, here)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_path(item, (*path, str(index)))
            if found is not None:
                return found
    return None


def nul_error(path: list[str]) -> dict[str, Any]:
    """marshmallow's error shape for the field at `path` (list items keyed by index)."""
    errors: Any = [NUL_MESSAGE]
    for key in reversed(path or ["_schema"]):
        errors = {key: errors}
    return errors
