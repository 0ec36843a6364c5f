"""Shapes of guest accounts, profiles, preferences, family, consents, and the staff's view of guests."""

from __future__ import annotations

from datetime import date
from typing import Any

import marshmallow as ma
import phonenumbers

from app.core.pagination import CursorArgsSchema
from app.core.schemas import NormalisedEmail, Phone, StrictSchema, TimeZoneName, id_field, language_field
from app.guests.models import ConsentPurpose

PASSWORD = ma.validate.Length(8, 256)
NAME = ma.validate.Length(1, 100)
COUNTRY = ma.validate.Regexp(r"^[A-Z]{2}$", error="Use an ISO 3166-1 alpha-2 code such as RU.")
PILLOWS = ("soft", "medium", "firm", "feather", "hypoallergenic", "memory_foam")
BEDS = ("double", "twin", "queen", "king")
FLOORS = ("high", "low", "any")
RELATIONS = ("spouse", "partner", "child", "parent", "other")
DOCUMENT_TYPES = ("passport", "national_id", "driving_licence")


def _past_date(value: date) -> None:
    if not date(1900, 1, 1) <= value <= date.today():
        raise ma.ValidationError("Must be a date between 1900-01-01 and today.")


def _one_contact(data: dict[str, Any]) -> None:
    if not data.get("email") and not data.get("phone"):
        raise ma.ValidationError("Give an email or a phone.", "email")


# -- accounts ----------------------------------------------------------------------------------------------------

class RegisterSchema(StrictSchema):
    email = NormalisedEmail()
    phone = Phone()
    password = ma.fields.String(required=True, validate=PASSWORD, load_only=True)
    first_name = ma.fields.String(validate=NAME)
    last_name = ma.fields.String(validate=NAME)
    language = language_field(load_default="en")
    device_name = ma.fields.String(validate=ma.validate.Length(max=100))

    @ma.validates_schema
    def needs_contact(self, data: dict[str, Any], **_: Any) -> None:
        _one_contact(data)


class LoginSchema(StrictSchema):
    login = ma.fields.String(required=True, validate=ma.validate.Length(3, 254),
                             metadata={"description": "Email or phone (E.164)"})
    password = ma.fields.String(required=True, validate=ma.validate.Length(1, 256), load_only=True)
    device_name = ma.fields.String(validate=ma.validate.Length(max=100))

    @ma.post_load
    def normalise_login(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["login"] = normalise_contact(data["login"])
        return data


def normalise_contact(value: str) -> str:
    """Emails lower-cased; phones to E.164 when they parse (otherwise left as typed: they will match nothing)."""
    value = value.strip()
    if "@" in value:
        return value.lower()
    try:
        return phonenumbers.format_number(phonenumbers.parse(value, None), phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        return value


class CodeRequestSchema(StrictSchema):
    email = NormalisedEmail()
    phone = Phone()

    @ma.validates_schema
    def exactly_one(self, data: dict[str, Any], **_: Any) -> None:
        if bool(data.get("email")) == bool(data.get("phone")):
            raise ma.ValidationError("Give either an email or a phone.", "email")


class CodeVerifySchema(CodeRequestSchema):
    code = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^\d{6}$", error="Six digits."))
    language = language_field(load_default="en")
    device_name = ma.fields.String(validate=ma.validate.Length(max=100))


class CodeRequestedSchema(ma.Schema):
    sent_to = ma.fields.String()
    expires_in = ma.fields.Integer()


class PasswordChangeSchema(StrictSchema):
    current_password = ma.fields.String(validate=ma.validate.Length(1, 256), load_only=True)
    new_password = ma.fields.String(required=True, validate=PASSWORD, load_only=True)


# -- profile -----------------------------------------------------------------------------------------------------

class IdentityDocumentSchema(StrictSchema):
    """Only what hotels must register by law; stored encrypted, shown only at /me/identity-document."""

    type = ma.fields.String(required=True, validate=ma.validate.OneOf(DOCUMENT_TYPES))
    number = ma.fields.String(required=True, validate=ma.validate.Length(1, 30))
    issuing_country = ma.fields.String(required=True, validate=COUNTRY)
    expires_on = ma.fields.Date(required=True)

    @ma.post_load
    def plain_date(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {**data, "expires_on": data["expires_on"].isoformat()}  # stored as JSON


class IdentityDocumentViewSchema(ma.Schema):
    """As stored (decrypted): the expiry is already an ISO date string."""

    type = ma.fields.String()
    number = ma.fields.String()
    issuing_country = ma.fields.String()
    expires_on = ma.fields.String()


class GuestSchema(ma.Schema):
    id = ma.fields.Integer()
    email = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)
    email_verified = ma.fields.Function(lambda guest: guest.email_verified_at is not None)
    phone_verified = ma.fields.Function(lambda guest: guest.phone_verified_at is not None)
    first_name = ma.fields.String(allow_none=True)
    last_name = ma.fields.String(allow_none=True)
    birth_date = ma.fields.Date(allow_none=True)
    language = ma.fields.String()
    time_zone = ma.fields.String(allow_none=True)
    country = ma.fields.String(allow_none=True)
    city = ma.fields.String(allow_none=True)
    has_identity_document = ma.fields.Boolean(metadata={"description": "Read it at GET /me/identity-document"})
    created_at = ma.fields.DateTime()


def dump_guest(guest: Any) -> dict[str, Any]:
    """Exactly what `GuestSchema().dump(guest)` returns, written out by hand for GET /me, the app's most frequent
    read: marshmallow took 70 us of its 540. The schema stays the documented contract, and tests/guests check that
    both give the same document."""
    return {
        "id": guest.id, "email": guest.email, "phone": guest.phone,
        "email_verified": guest.email_verified_at is not None, "phone_verified": guest.phone_verified_at is not None,
        "first_name": guest.first_name, "last_name": guest.last_name,
        "birth_date": None if guest.birth_date is None else guest.birth_date.isoformat(),
        "language": guest.language, "time_zone": guest.time_zone, "country": guest.country, "city": guest.city,
        "has_identity_document": bool(guest.has_identity_document), "created_at": guest.created_at.isoformat(),
    }


class GuestUpdateSchema(StrictSchema):
    email = NormalisedEmail(allow_none=True)
    phone = Phone(allow_none=True)
    first_name = ma.fields.String(validate=NAME, allow_none=True)
    last_name = ma.fields.String(validate=NAME, allow_none=True)
    birth_date = ma.fields.Date(validate=_past_date, allow_none=True)
    language = language_field()
    time_zone = TimeZoneName(allow_none=True)
    country = ma.fields.String(validate=COUNTRY, allow_none=True)
    city = ma.fields.String(validate=NAME, allow_none=True)


class PreferencesSchema(StrictSchema):
    room_temperature_c = ma.fields.Float(allow_none=True, validate=ma.validate.Range(16, 30),
                                         metadata={"description": "16-30 °C in steps of 0.5"})
    light_level = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(0, 100))
    curtains_position = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(0, 100),
                                          metadata={"description": "Percent open on arrival: 0 closed, 100 open"})
    pillow = ma.fields.String(allow_none=True, validate=ma.validate.OneOf(PILLOWS))
    bed = ma.fields.String(allow_none=True, validate=ma.validate.OneOf(BEDS))
    floor = ma.fields.String(allow_none=True, validate=ma.validate.OneOf(FLOORS))
    quiet_room = ma.fields.Boolean(allow_none=True)
    allergies = ma.fields.List(ma.fields.String(validate=ma.validate.Length(1, 40)),
                               validate=ma.validate.Length(max=20))
    diet = ma.fields.List(ma.fields.String(validate=ma.validate.Length(1, 40)), validate=ma.validate.Length(max=10))
    newspaper = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=60))
    service_language = language_field(allow_none=True)
    notes = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=1000))
    updated_at = ma.fields.DateTime(dump_only=True, allow_none=True)

    @ma.validates("room_temperature_c")
    def half_degrees(self, value: float | None, **_: Any) -> None:
        if value is not None and (value * 2) != int(value * 2):
            raise ma.ValidationError("Use steps of 0.5 °C.")


class FamilyMemberSchema(StrictSchema):
    id = ma.fields.Integer(dump_only=True)
    relation = ma.fields.String(required=True, validate=ma.validate.OneOf(RELATIONS))
    first_name = ma.fields.String(required=True, validate=NAME)
    birth_date = ma.fields.Date(validate=_past_date, allow_none=True)


class ConsentInputSchema(StrictSchema):
    purpose = ma.fields.String(required=True, validate=ma.validate.OneOf([p.value for p in ConsentPurpose]))
    granted = ma.fields.Boolean(required=True)


class ConsentRecordSchema(ma.Schema):
    id = ma.fields.Integer()
    purpose = ma.fields.String()
    granted = ma.fields.Boolean()
    policy_version = ma.fields.String(allow_none=True)
    recorded_at = ma.fields.DateTime(allow_none=True)
    source = ma.fields.String(allow_none=True)


class ConsentStateSchema(ma.Schema):
    purpose = ma.fields.String()
    granted = ma.fields.Boolean(metadata={"description": "The latest decision as made"})
    policy_version = ma.fields.String(allow_none=True, metadata={"description": "Version it was made under"})
    recorded_at = ma.fields.DateTime(allow_none=True)
    source = ma.fields.String(allow_none=True)
    current_policy_version = ma.fields.String()
    reconsent_required = ma.fields.Boolean(
        metadata={"description": "Granted under an older policy version: not in force until given again"})


class ConsentOverviewSchema(ma.Schema):
    policy_version = ma.fields.String(metadata={"description": "The privacy policy version in force"})
    reconsent_required = ma.fields.List(ma.fields.String(), metadata={
        "description": "Purposes the guest granted under an older policy version (ask again)"})
    current = ma.fields.List(ma.fields.Nested(ConsentStateSchema))
    history = ma.fields.List(ma.fields.Nested(ConsentRecordSchema))


# -- staff -------------------------------------------------------------------------------------------------------

class WalkInCreateSchema(StrictSchema):
    hotel_id = id_field(required=True)
    first_name = ma.fields.String(required=True, validate=NAME)
    last_name = ma.fields.String(required=True, validate=NAME)
    email = NormalisedEmail()
    phone = Phone()
    language = language_field(load_default="en")
    birth_date = ma.fields.Date(validate=_past_date)
    country = ma.fields.String(validate=COUNTRY)
    city = ma.fields.String(validate=NAME)
    consents = ma.fields.List(ma.fields.Nested(ConsentInputSchema), load_default=list,
                              validate=ma.validate.Length(max=len(ConsentPurpose)))

    @ma.validates_schema
    def needs_contact(self, data: dict[str, Any], **_: Any) -> None:
        _one_contact(data)


class GuestCardSchema(ma.Schema):
    id = ma.fields.Integer()
    first_name = ma.fields.String(allow_none=True)
    last_name = ma.fields.String(allow_none=True)
    email = ma.fields.String(allow_none=True, metadata={"description": "Masked unless the role needs it"})
    phone = ma.fields.String(allow_none=True, metadata={"description": "Masked unless the role needs it"})
    language = ma.fields.String()
    country = ma.fields.String(allow_none=True)
    city = ma.fields.String(allow_none=True)
    source = ma.fields.String()
    has_account = ma.fields.Boolean()
    preferences = ma.fields.Dict(allow_none=True)
    consents = ma.fields.List(ma.fields.Nested(ConsentStateSchema), allow_none=True)


class GuestSearchArgsSchema(CursorArgsSchema):
    class Meta:
        unknown = ma.RAISE

    query = ma.fields.String(required=True, validate=ma.validate.Length(2, 100))


class MergeSchema(StrictSchema):
    source_id = id_field(required=True, metadata={"description": "The duplicate, folded away"})
    target_id = id_field(required=True, metadata={"description": "The profile that stays"})
