"""Audit entries as managers browse them."""

import marshmallow as ma

from app.core.pagination import CursorArgsSchema
from app.core.schemas import id_field


class AuditEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    at = ma.fields.DateTime()
    actor_kind = ma.fields.String()
    actor_id = ma.fields.Integer(allow_none=True)
    action = ma.fields.String()
    subject_kind = ma.fields.String()
    subject_id = ma.fields.Integer(allow_none=True)
    hotel_id = ma.fields.Integer(allow_none=True)
    detail = ma.fields.Dict(allow_none=True)
    request_id = ma.fields.String(allow_none=True)


class AuditQueryArgsSchema(CursorArgsSchema):
    class Meta:
        unknown = ma.RAISE

    action = ma.fields.String(validate=ma.validate.Length(max=60))
    subject_kind = ma.fields.String(validate=ma.validate.Length(max=30))
    subject_id = id_field(strict=False)
    actor_kind = ma.fields.String(validate=ma.validate.OneOf(["staff", "guest", "key", "system"]))
    actor_id = id_field(strict=False, metadata={"description": "With actor_kind: one staff member's actions"})
    since = ma.fields.AwareDateTime(default_timezone=None, metadata={"description": "Entries at or after (UTC)"})
    until = ma.fields.AwareDateTime(default_timezone=None, metadata={"description": "Entries before (UTC)"})
