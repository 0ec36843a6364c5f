"""Use cases for staff accounts: create, log in, load the caller."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from app.core.auth import PrincipalKind, Role
from app.core.errors import Conflict, Unprocessable
from app.extensions import db
from app.hotels.models import Hotel
from app.identity import services as identity
from app.identity.services import ClientInfo, PasswordCheck, TokenPair
from app.staff.models import StaffMember


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


def check_login(*, email: str, password: str) -> PasswordCheck:
    """Verify a staff member's password; read-only and slow (argon2id), so called before the unit of work."""
    staff = db.session.scalars(select(StaffMember).where(StaffMember.email == email.strip().lower())).one_or_none()
    return identity.verify_account_password(staff if staff is not None and staff.is_active else None, password)


def log_in(*, check: PasswordCheck, client: ClientInfo) -> TokenPair:
    """Record the password check (failures count towards the back-off) and open a session."""
    staff = db.session.get(StaffMember, check.account_id, populate_existing=True) if check.account_id else None
    identity.settle_password_check(staff, check)
    return identity.open_session(kind=PrincipalKind.STAFF, principal_id=staff.id, method="password", client=client)


def colleagues(*, staff: StaffMember, hotel_id: int, roles: Iterable[str]) -> list[StaffMember]:
    """Active staff of a hotel of mine with one of `roles` (chain admins included), by name: whom I may assign."""
    if not staff.can_access_hotel(hotel_id):
        return []
    members = db.session.scalars(
        select(StaffMember).where(StaffMember.is_active.is_(True), StaffMember.role.in_(list(roles)))
        .order_by(StaffMember.full_name, StaffMember.id))
    return [member for member in members if member.can_access_hotel(hotel_id)]


def names_of(ids: Iterable[int]) -> dict[int, str]:
    """Full names of staff members by id (for showing who did what)."""
    wanted = {staff_id for staff_id in ids if staff_id is not None}
    if not wanted:
        return {}
    return dict(db.session.execute(
        select(StaffMember.id, StaffMember.full_name).where(StaffMember.id.in_(wanted))).tuples().all())
