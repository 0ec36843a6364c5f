"""Shapes of hotels, season calendars, room types, rooms and departments: guest catalogue and administration."""

from __future__ import annotations

from datetime import date
from typing import Any

import marshmallow as ma

from app.core.pagination import CursorArgsSchema
from app.core.schemas import Localised, LocalisedText, StrictSchema, TimeZoneName
from app.hotels.models import DepartmentKind, SeasonKind

CODE = ma.validate.Regexp(r"^[a-z0-9][a-z0-9_-]{0,39}$",
                          error="Use 1-40 lower-case letters, digits, '-' or '_' (for example sochi-resort).")
SLUG = ma.validate.Regexp(r"^[a-z0-9][a-z0-9_]{0,39}$", error="Use 1-40 lower-case letters, digits or '_'.")
COUNTRY = ma.validate.Regexp(r"^[A-Z]{2}$", error="Use an ISO 3166-1 alpha-2 code such as RU.")
CURRENCY = ma.validate.Regexp(r"^[A-Z]{3}$", error="Use an ISO 4217 code such as RUB.")
CLOCK_TIME = ma.validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="Use HH:MM, 24-hour (for example 14:00).")
CITY = ma.validate.Length(1, 100)
ROOM_NUMBER = ma.validate.Regexp(r"^[A-Za-z0-9-]{1,20}$", error="Use 1-20 letters, digits or '-'.")
BED_TYPES = ("single", "double", "twin", "queen", "king", "bunk", "sofa_bed")
MAX_SEASONS = 24


class MonthDay(ma.fields.String):
    """A day of any year as "MM-DD" (02-29 allowed: it exists in leap years); loads as (month, day)."""

    default_error_messages = {"invalid_month_day": "Use MM-DD with a day that exists (for example 04-15)."}

    def __init__(self, *, metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(metadata={"pattern": r"^\d{2}-\d{2}$", "example": "04-15", **(metadata or {})}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> tuple[int, int]:
        text = super()._deserialize(value, attr, data, **kwargs)
        month, sep, day = text.partition("-")
        if not (sep and len(month) == 2 and len(day) == 2 and month.isdigit() and day.isdigit()):
            raise self.make_error("invalid_month_day")
        try:
            date(2000, int(month), int(day))  # a leap year, so 02-29 passes and 02-30 does not
        except ValueError:
            raise self.make_error("invalid_month_day") from None
        return int(month), int(day)


def _month_day(month: int, day: int) -> str:
    return f"{month:02d}-{day:02d}"


# -- seasons -----------------------------------------------------------------------------------------------------

class SeasonSchema(ma.Schema):
    """A period of the season calendar as guests see it."""

    kind = ma.fields.String(metadata={"enum": [kind.value for kind in SeasonKind]})
    start = ma.fields.Function(lambda season: _month_day(season.start_month, season.start_day),
                               metadata={"example": "04-15"})
    end = ma.fields.Function(lambda season: _month_day(season.end_month, season.end_day),
                             metadata={"description": "Inclusive", "example": "10-15"})
    name = Localised(allow_none=True)


class SeasonAdminSchema(SeasonSchema):
    name = ma.fields.Dict(allow_none=True, metadata={"description": "{lang: text}"})


class SeasonInputSchema(StrictSchema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf([kind.value for kind in SeasonKind]))
    start = MonthDay(required=True)
    end = MonthDay(required=True, metadata={
        "example": "10-15", "description": "Inclusive; before `start`, the period wraps over New Year (12-01..03-31).",
    })
    name = LocalisedText(allow_none=True)


def _season_list(**kwargs: Any) -> ma.fields.List:
    return ma.fields.List(ma.fields.Nested(SeasonInputSchema), validate=ma.validate.Length(max=MAX_SEASONS), **kwargs)


class SeasonCalendarSchema(StrictSchema):
    """The whole calendar, replaced at once; days no period covers are shoulder season."""

    seasons = _season_list(required=True)


class SeasonCalendarAdminSchema(ma.Schema):
    seasons = ma.fields.List(ma.fields.Nested(SeasonAdminSchema))


# -- hotels ------------------------------------------------------------------------------------------------------

class HotelSchema(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    name = Localised()
    description = Localised(allow_none=True)
    city = ma.fields.String()
    country = ma.fields.String()
    address = ma.fields.String(allow_none=True)
    time_zone = ma.fields.String()
    currency = ma.fields.String()
    stars = ma.fields.Integer(allow_none=True)
    check_in_time = ma.fields.String()
    check_out_time = ma.fields.String()


class HotelAdminSchema(HotelSchema):
    chain_id = ma.fields.Integer()
    name = ma.fields.Dict(metadata={"description": "{lang: text}"})
    description = ma.fields.Dict(allow_none=True, metadata={"description": "{lang: text}"})
    is_active = ma.fields.Boolean()
    seasons = ma.fields.List(ma.fields.Nested(SeasonAdminSchema))


class HotelQueryArgsSchema(CursorArgsSchema):
    class Meta:
        unknown = ma.RAISE

    city = ma.fields.String(validate=CITY, metadata={"description": "Case-insensitive exact match"})


class HotelUpdateSchema(StrictSchema):
    code = ma.fields.String(validate=CODE, metadata={"description": "Chain admins only"})
    name = LocalisedText()
    description = LocalisedText(max_length=2000, allow_none=True)
    city = ma.fields.String(validate=CITY)
    country = ma.fields.String(validate=COUNTRY)
    address = ma.fields.String(validate=ma.validate.Length(1, 300), allow_none=True)
    time_zone = TimeZoneName()
    currency = ma.fields.String(validate=CURRENCY)
    stars = ma.fields.Integer(validate=ma.validate.Range(1, 5), allow_none=True)
    check_in_time = ma.fields.String(validate=CLOCK_TIME)
    check_out_time = ma.fields.String(validate=CLOCK_TIME)
    is_active = ma.fields.Boolean(metadata={"description": "Chain admins only; inactive hotels leave the catalogue"})


class HotelCreateSchema(HotelUpdateSchema):
    chain_id = ma.fields.Integer(validate=ma.validate.Range(min=1),
                                 metadata={"description": "May be left out while the database holds one chain"})
    code = ma.fields.String(required=True, validate=CODE)
    name = LocalisedText(required=True)
    city = ma.fields.String(required=True, validate=CITY)
    country = ma.fields.String(required=True, validate=COUNTRY)
    time_zone = TimeZoneName(required=True)
    currency = ma.fields.String(required=True, validate=CURRENCY)
    is_active = ma.fields.Boolean()
    seasons = _season_list(metadata={"description": "Left out: the Russian resort default, high 04-15..10-15 and "
                                                    "low the rest of the year"})


# -- room types and rooms ----------------------------------------------------------------------------------------

def _slugs(max_items: int) -> ma.fields.List:
    return ma.fields.List(ma.fields.String(validate=SLUG), validate=ma.validate.Length(max=max_items))


class RoomTypeSchema(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    name = Localised()
    description = Localised(allow_none=True)
    max_occupancy = ma.fields.Integer()
    bed_type = ma.fields.String(allow_none=True)
    size_m2 = ma.fields.Integer(allow_none=True)
    amenities = ma.fields.List(ma.fields.String())
    photos = ma.fields.List(ma.fields.String(), metadata={"description": "Absolute URLs"})


class RoomTypeAdminSchema(RoomTypeSchema):
    hotel_id = ma.fields.Integer()
    name = ma.fields.Dict(metadata={"description": "{lang: text}"})
    description = ma.fields.Dict(allow_none=True, metadata={"description": "{lang: text}"})


class RoomTypeUpdateSchema(StrictSchema):
    code = ma.fields.String(validate=CODE)
    name = LocalisedText()
    description = LocalisedText(max_length=2000, allow_none=True)
    max_occupancy = ma.fields.Integer(validate=ma.validate.Range(1, 20))
    bed_type = ma.fields.String(validate=ma.validate.OneOf(BED_TYPES), allow_none=True)
    size_m2 = ma.fields.Integer(validate=ma.validate.Range(1, 1000), allow_none=True)
    amenities = _slugs(40)
    photos = ma.fields.List(ma.fields.Url(schemes={"http", "https"}, validate=ma.validate.Length(max=500)),
                            validate=ma.validate.Length(max=20))


class RoomTypeCreateSchema(RoomTypeUpdateSchema):
    code = ma.fields.String(required=True, validate=CODE)
    name = LocalisedText(required=True)
    max_occupancy = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 20))


class RoomSchema(ma.Schema):
    id = ma.fields.Integer()
    hotel_id = ma.fields.Integer()
    room_type_id = ma.fields.Integer()
    number = ma.fields.String()
    floor = ma.fields.Integer()
    features = ma.fields.List(ma.fields.String())
    is_active = ma.fields.Boolean()


class RoomUpdateSchema(StrictSchema):
    number = ma.fields.String(validate=ROOM_NUMBER)
    floor = ma.fields.Integer(validate=ma.validate.Range(-5, 200))
    room_type_id = ma.fields.Integer(validate=ma.validate.Range(min=1),
                                     metadata={"description": "A room type of the same hotel"})
    features = _slugs(20)
    is_active = ma.fields.Boolean()


class RoomCreateSchema(RoomUpdateSchema):
    number = ma.fields.String(required=True, validate=ROOM_NUMBER)
    floor = ma.fields.Integer(required=True, validate=ma.validate.Range(-5, 200))
    room_type_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1))


class RoomQueryArgsSchema(CursorArgsSchema):
    class Meta:
        unknown = ma.RAISE


# -- departments -------------------------------------------------------------------------------------------------

class DepartmentSchema(StrictSchema):
    id = ma.fields.Integer(dump_only=True)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf([kind.value for kind in DepartmentKind]))
    name = LocalisedText(required=True)


class DepartmentListSchema(StrictSchema):
    """A hotel's departments, replaced at once (a department keeps its id while its kind stays)."""

    departments = ma.fields.List(ma.fields.Nested(DepartmentSchema), required=True,
                                 validate=ma.validate.Length(max=len(DepartmentKind)))

    @ma.validates("departments")
    def kinds_unique(self, departments: list[dict[str, Any]], **_: Any) -> None:
        # With item errors marshmallow hands over the valid part of each item: a kind may be missing.
        kinds = [department["kind"] for department in departments if "kind" in department]
        if len(kinds) != len(set(kinds)):
            raise ma.ValidationError("Each department kind may appear once.")
