"""Shapes of devices, notification settings and the inbox (guests), and of segments and campaigns (marketers)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import marshmallow as ma

from app.core.pagination import CursorArgsSchema
from app.core.schemas import LANGUAGES, Localised, LocalisedText, StrictSchema, id_field, language_field
from app.hotels.models import SeasonKind
from app.push.models import CampaignOrigin, CampaignStatus, CampaignTrigger, Category, Platform

TOKEN = ma.validate.Regexp(r"^[\x21-\x7e]{16,512}$", error="An FCM registration token: 16-512 printable characters.")
APP_VERSION = ma.validate.Regexp(r"^[0-9A-Za-z.+_-]{1,40}$", error="Up to 40 letters, digits, '.', '+', '_', '-'.")
DEEP_LINK = ma.validate.Regexp(r"^(app|https)://[\x21-\x7e]{1,490}$",
                               error="An app:// or https:// link without spaces (up to 500 characters).")
TAG = ma.validate.Regexp(r"^(quiet_room|floor:(high|low)|(pillow|bed|diet):[a-z][a-z0-9_-]{0,39})$",
                         error="quiet_room, floor:high|low, pillow:<kind>, bed:<kind> or diet:<kind>.")
COUNTRY = ma.validate.Regexp(r"^[A-Z]{2}$", error="An ISO 3166-1 alpha-2 code such as RU.")
SEASONS = [kind.value for kind in SeasonKind]


def _loyalty_tier(value: str) -> None:
    """A tier code of the club's program (config may rename tiers), or `none` for guests who have not enrolled."""
    from app.loyalty.program import program

    codes = [tier.code for tier in program().tiers]
    if value != "none" and value not in codes:
        raise ma.ValidationError(f"One of: {', '.join([*codes, 'none'])}.")


def _utc(**kwargs: Any) -> ma.fields.AwareDateTime:
    return ma.fields.AwareDateTime(default_timezone=UTC, **kwargs)


def _list(field: ma.fields.Field, maximum: int = 50) -> ma.fields.List:
    return ma.fields.List(field, validate=ma.validate.Length(1, maximum))


# -- devices, settings, inbox ------------------------------------------------------------------------------------

class PushDeviceCreateSchema(StrictSchema):
    token = ma.fields.String(required=True, validate=TOKEN)
    platform = ma.fields.String(required=True, validate=ma.validate.OneOf([p.value for p in Platform]))
    language = language_field(load_default="en")
    app_version = ma.fields.String(validate=APP_VERSION, load_default=None)


class PushDeviceSchema(ma.Schema):
    id = ma.fields.Integer()
    token = ma.fields.String()
    platform = ma.fields.String()
    language = ma.fields.String()
    app_version = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    last_seen_at = ma.fields.DateTime()


class NotificationSettingsSchema(StrictSchema):
    """Which transactional pushes the guest wants; marketing follows the marketing_push consent instead."""

    booking = ma.fields.Boolean(required=True)
    request = ma.fields.Boolean(required=True)
    stay = ma.fields.Boolean(required=True, metadata={"description": "Room ready, checkout reminder"})
    chat = ma.fields.Boolean(required=True)


class InboxArgsSchema(CursorArgsSchema, StrictSchema):
    category = ma.fields.String(validate=ma.validate.OneOf([c.value for c in Category]))


class InboxItemSchema(ma.Schema):
    id = ma.fields.Integer()
    category = ma.fields.String()
    title = Localised()
    body = Localised()
    deep_link = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    opened_at = ma.fields.DateTime(allow_none=True)


# -- segments ----------------------------------------------------------------------------------------------------

class _FilterFields(StrictSchema):
    stayed_at_hotel_ids = _list(id_field(), 100)
    past_guest = ma.fields.Boolean()
    last_stay_before_months = ma.fields.Integer(strict=True, validate=ma.validate.Range(1, 240))
    stayed_in_season = ma.fields.String(validate=ma.validate.OneOf(SEASONS))
    never_stayed_in_season = ma.fields.String(validate=ma.validate.OneOf(SEASONS))
    languages = _list(ma.fields.String(validate=ma.validate.OneOf(LANGUAGES)))
    countries = _list(ma.fields.String(validate=COUNTRY), 250)
    cities = _list(ma.fields.String(validate=ma.validate.Length(1, 100)))
    birthday_within_days = ma.fields.Integer(strict=True, validate=ma.validate.Range(0, 366))
    preference_tags = _list(ma.fields.String(validate=TAG))
    has_live_token = ma.fields.Boolean()
    marketing_consent = ma.fields.Boolean()
    loyalty_tiers = _list(ma.fields.String(validate=_loyalty_tier), 10)


class SegmentFiltersSchema(_FilterFields):
    """All given filters must hold; `any_of` holds when one of its filter sets does."""

    any_of = _list(ma.fields.Nested(_FilterFields), 10)


class SegmentCreateSchema(StrictSchema):
    hotel_id = id_field(required=True, metadata={"description": "The hotel whose known guests the segment draws on"})
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 120))
    filters = ma.fields.Nested(SegmentFiltersSchema, load_default=dict)


class SegmentSchema(ma.Schema):
    id = ma.fields.Integer()
    hotel_id = ma.fields.Integer()
    name = ma.fields.String()
    filters = ma.fields.Dict()
    created_at = ma.fields.DateTime()


class SampleGuestSchema(ma.Schema):
    """No contact data: marketers never see emails, phones or last names."""

    id = ma.fields.Integer()
    first_name = ma.fields.String(allow_none=True)
    language = ma.fields.String()
    country = ma.fields.String(allow_none=True)
    city = ma.fields.String(allow_none=True)


class SegmentPreviewSchema(ma.Schema):
    size = ma.fields.Integer()
    sample = ma.fields.List(ma.fields.Nested(SampleGuestSchema))


# -- campaigns ---------------------------------------------------------------------------------------------------

class CampaignCreateSchema(StrictSchema):
    segment_id = id_field(required=True)
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 120))
    title = LocalisedText(max_length=100, required=True)
    body = LocalisedText(max_length=500, required=True)
    deep_link = ma.fields.String(validate=DEEP_LINK, load_default=None)
    trigger = ma.fields.String(validate=ma.validate.OneOf([t.value for t in CampaignTrigger]),
                               load_default=CampaignTrigger.SCHEDULE.value)
    send_at = _utc(load_default=None)
    repeat_every_days = ma.fields.Integer(strict=True, validate=ma.validate.Range(1, 365), load_default=None)
    repeat_until = _utc(load_default=None)


class CampaignScheduleSchema(StrictSchema):
    send_at = _utc(metadata={"description": "When to send (now when absent)"})


class CampaignQueryArgsSchema(CursorArgsSchema, StrictSchema):
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in CampaignStatus]))
    origin = ma.fields.String(validate=ma.validate.OneOf([o.value for o in CampaignOrigin]))


class CampaignSchema(ma.Schema):
    id = ma.fields.Integer()
    hotel_id = ma.fields.Integer()
    segment_id = ma.fields.Integer()
    name = ma.fields.String()
    trigger = ma.fields.String()
    origin = ma.fields.String()
    title = ma.fields.Dict()
    body = ma.fields.Dict()
    deep_link = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    send_at = ma.fields.DateTime(allow_none=True)
    repeat_every_days = ma.fields.Integer(allow_none=True)
    repeat_until = ma.fields.DateTime(allow_none=True)
    run_number = ma.fields.Integer()
    last_run_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()


class CampaignStatsSchema(ma.Schema):
    campaign_id = ma.fields.Integer()
    status = ma.fields.String()
    runs = ma.fields.Integer()
    targeted = ma.fields.Integer(metadata={"description": "Guests the campaign reached (inbox), all runs"})
    inbox_only_no_device = ma.fields.Integer()
    capped = ma.fields.Integer(metadata={"description": "Not pushed: the guest's frequency cap was reached"})
    deliveries = ma.fields.Integer(metadata={"description": "Pushes, one per guest and device"})
    sent = ma.fields.Integer()
    pending = ma.fields.Integer()
    failed = ma.fields.Integer()
    invalid_tokens = ma.fields.Integer()
    opened = ma.fields.Integer()
    bookings_within_7_days = ma.fields.Integer()


class HotelMarketingSettingsSchema(StrictSchema):
    hotel_id = ma.fields.Integer(dump_only=True)
    auto_low_season = ma.fields.Boolean(required=True, metadata={
        "description": "Create and schedule low-season campaigns (otherwise only propose them)"})
    low_season_weeks_before = ma.fields.Integer(strict=True, allow_none=True, load_default=None,
                                                validate=ma.validate.Range(1, 52))


