"""Sessions (token families), refresh tokens, one-time login codes, service-account API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.db import IdMixin, UTCDateTime
from app.extensions import db


class PasswordCredentialMixin:
    """Columns every password-holding account has (guests, staff), for app.identity.services' password checks."""

    password_hash: Mapped[str | None] = mapped_column(String(255))
    failed_login_count: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuthSession(IdMixin, db.Model):
    """One login on one device: the family of every refresh token rotated from it."""

    __tablename__ = "auth_sessions"
    __table_args__ = (Index("ix_auth_sessions_principal", "principal_kind", "principal_id"),)

    principal_kind: Mapped[str] = mapped_column(String(10))  # PrincipalKind
    principal_id: Mapped[int] = mapped_column()
    method: Mapped[str] = mapped_column(String(20))  # password | code
    device_name: Mapped[str | None] = mapped_column(String(100))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    ip: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: clock.now())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: clock.now())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(String(40))

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


class RefreshToken(IdMixin, db.Model):
    """A refresh token is good for one use; presenting a used one means it was stolen (or replayed)."""

    __tablename__ = "refresh_tokens"

    session_id: Mapped[int] = mapped_column(ForeignKey("auth_sessions.id", ondelete="CASCADE"), index=True)
    jti: Mapped[str] = mapped_column(String(36), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginCode(IdMixin, db.Model):
    """A one-time code sent to a phone or email; only its keyed hash is stored."""

    __tablename__ = "login_codes"

    destination: Mapped[str] = mapped_column(String(254), index=True)  # E.164 phone or lower-cased email
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: clock.now())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApiKey(IdMixin, db.Model):
    """A machine's credential (MQTT bridge, partner system). The key is shown once; we keep its SHA-256."""

    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # ServiceKind
    partner_id: Mapped[int | None] = mapped_column()
    prefix: Mapped[str] = mapped_column(String(16), unique=True)  # the public part, for lookup and display
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=lambda: clock.now())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
