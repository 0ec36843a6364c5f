"""Shapes of a guest's data export and of an erasure."""

from __future__ import annotations

import marshmallow as ma

from app.core.schemas import StrictSchema

_ROWS = {"description": "Rows as stored (datetimes ISO 8601 UTC, money in minor units)"}


def _rows() -> ma.fields.List:
    return ma.fields.List(ma.fields.Dict(), metadata=_ROWS)


class GuestExportSchema(ma.Schema):
    guest_id = ma.fields.Integer()
    exported_at = ma.fields.DateTime()
    profile = ma.fields.Dict(metadata={"description": "Profile, with the identity document decrypted"})
    preferences = ma.fields.Dict(allow_none=True)
    family = _rows()
    consents = ma.fields.Dict(metadata={"description": "`ledger`: every decision, oldest first; "
                                                       "`reconsent_required`: purposes to ask again"})
    hotel_links = _rows()
    sessions = _rows()
    bookings = ma.fields.List(ma.fields.Dict(), metadata={"description": "Bookings and stays, each with its folio "
                                                                         "and charges"})
    survey_answers = _rows()
    loyalty = ma.fields.Dict(metadata={"description": "membership, balance, ledger, qualifying_stays"})
    service_requests = ma.fields.List(ma.fields.Dict(), metadata={"description": "With their status history"})
    messages = _rows()
    service_recoveries = _rows()
    room_commands = _rows()
    experience_bookings = _rows()
    push_devices = _rows()
    notification_settings = ma.fields.Dict(allow_none=True)
    inbox = ma.fields.List(ma.fields.Dict(), metadata={"description": "Transactional notifications and their pushes"})
    offers = ma.fields.List(ma.fields.Dict(), metadata={"description": "Marketing offers and campaign deliveries"})


class ErasureRequestSchema(StrictSchema):
    password = ma.fields.String(validate=ma.validate.Length(1, 256), load_only=True, metadata={
        "description": "Required when the account has a password; otherwise log in with a one-time code first"})


class ErasureSchema(ma.Schema):
    guest_id = ma.fields.Integer()
    pseudonym = ma.fields.String(metadata={"description": "The name the kept financial records now carry"})
    erased_at = ma.fields.DateTime()
    already_erased = ma.fields.Boolean()
