"""A staff member has one role and works in one or more hotels (a chain admin in all of them)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ColumnElement, ForeignKey, String, Table
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.auth import Role
from app.core.db import IdMixin, TimestampMixin
from app.extensions import db
from app.hotels.models import Hotel
from app.identity.models import PasswordCredentialMixin

staff_hotels = Table(
    "staff_hotels",
    db.metadata,
    Column("staff_id", ForeignKey("staff_members.id", ondelete="CASCADE"), primary_key=True),
    Column("hotel_id", ForeignKey("hotels.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class StaffMember(IdMixin, TimestampMixin, PasswordCredentialMixin, db.Model):
    __tablename__ = "staff_members"
    audit_kind = "staff"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # app.core.auth.Role
    language: Mapped[str] = mapped_column(String(2), default="en")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    hotels: Mapped[list[Hotel]] = relationship(secondary=staff_hotels, lazy="selectin")

    @hybrid_property
    def can_sign_in(self) -> bool:
        return self.is_active

    @can_sign_in.inplace.expression
    @classmethod
    def _can_sign_in_expression(cls) -> ColumnElement[bool]:
        return cls.__table__.c.is_active.is_(True)  # table columns, as Guest's (read without the ORM)

    @property
    def is_chain_wide(self) -> bool:
        return self.role == Role.CHAIN_ADMIN

    @property
    def hotel_ids(self) -> set[int]:
        return {hotel.id for hotel in self.hotels}

    def can_access_hotel(self, hotel_id: int) -> bool:
        return self.is_chain_wide or hotel_id in self.hotel_ids
