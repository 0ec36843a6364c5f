"""Shapes of token pairs, sessions and service accounts."""

import marshmallow as ma
from flask_jwt_extended import get_jwt


class TokenPairSchema(ma.Schema):
    access_token = ma.fields.String(required=True)
    refresh_token = ma.fields.String(required=True)
    token_type = ma.fields.String(required=True)
    expires_in = ma.fields.Integer(required=True, metadata={"description": "Access token lifetime in seconds"})
    session_id = ma.fields.Integer(required=True)


class SessionSchema(ma.Schema):
    id = ma.fields.Integer()
    method = ma.fields.String(metadata={"description": "password or code"})
    device_name = ma.fields.String(allow_none=True)
    user_agent = ma.fields.String(allow_none=True)
    ip = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    last_seen_at = ma.fields.DateTime()
    current = ma.fields.Method("is_current")

    def is_current(self, session: object) -> bool:
        """True for the session the caller's own token belongs to."""
        return getattr(session, "id", None) == get_jwt().get("sid")


class ServiceAccountSchema(ma.Schema):
    name = ma.fields.String()
    kind = ma.fields.String()
    prefix = ma.fields.String()
    partner_id = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.DateTime()
