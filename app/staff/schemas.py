"""Shapes for staff login and the staff member's own profile."""

import marshmallow as ma

from app.core.schemas import NormalisedEmail, StrictSchema


class StaffLoginSchema(StrictSchema):
    email = NormalisedEmail(required=True)
    password = ma.fields.String(required=True, validate=ma.validate.Length(1, 256), load_only=True)
    device_name = ma.fields.String(validate=ma.validate.Length(max=100))


class StaffSchema(ma.Schema):
    id = ma.fields.Integer()
    email = ma.fields.String()
    full_name = ma.fields.String()
    role = ma.fields.String()
    language = ma.fields.String()
    hotel_ids = ma.fields.Method("sorted_hotel_ids")

    def sorted_hotel_ids(self, staff: object) -> list[int]:
        return sorted(getattr(staff, "hotel_ids", ()))
