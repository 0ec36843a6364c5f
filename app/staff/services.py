"""Use cases for staff accounts: create, log in, load the caller."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from app.core.auth import PrincipalKind, Role
from app.core.errors import Conflict, Unprocessable
from app.extensions import db
from app.hotels.models import Hotel
from app.identity import services as identity
from app.identity.services import ClientInfo, TokenPair
from app.staff.models import StaffMember


def get_active_staff(staff_id: int) -> StaffMember | None:
    """The staff member a token names, if still active (deactivation locks them out at once)."""
    staff = db.session.get(StaffMember, staff_id)
    return staff if staff is not None and staff.is_active else None


def create_staff(
    *, email: str, full_name: str, role: Role, password: str, hotel_codes: Iterable[str] = (), language: str = "en"
) -> StaffMember:
    """Create a staff account scoped to the hotels given by code (a chain admin needs none)."""
    email = email.strip().lower()
    if db.session.scalars(select(StaffMember).where(StaffMember.email == email)).first() is not None:
        raise Conflict(f"A staff account with email {email} exists.", code="staff_exists")
    codes = list(hotel_codes)
    hotels = list(db.session.scalars(select(Hotel).where(Hotel.code.in_(codes)))) if codes else []
    missing = set(codes) - {hotel.code for hotel in hotels}
    if missing:
        raise Unprocessable(f"Unknown hotel codes: {', '.join(sorted(missing))}.", code="unknown_hotel")
    if role != Role.CHAIN_ADMIN and not hotels:
        raise Unprocessable("Staff other than chain admins need at least one hotel.", code="hotel_required")
    staff = StaffMember(email=email, full_name=full_name, role=role.value, language=language, hotels=hotels)
    identity.set_password(staff, password)
    db.session.add(staff)
    db.session.flush()
    return staff


def log_in(*, email: str, password: str, client: ClientInfo) -> TokenPair:
    """Check a staff member's password (with back-off) and open a session."""
    staff = db.session.scalars(select(StaffMember).where(StaffMember.email == email.strip().lower())).one_or_none()
    if staff is not None and not staff.is_active:
        staff = None
    identity.check_password(staff, password)
    return identity.open_session(kind=PrincipalKind.STAFF, principal_id=staff.id, method="password", client=client)
