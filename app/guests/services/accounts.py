"""Guest accounts: register, log in with a password or a one-time code, change the password."""

from __future__ import annotations

from sqlalchemy import or_, select

from app.core import clock
from app.core.auth import PrincipalKind
from app.core.errors import Conflict, Forbidden
from app.extensions import db
from app.guests.models import Guest, GuestSource
from app.identity import services as identity
from app.identity.services import ClientInfo, PasswordCheck, TokenPair


def find_by_contact(*, email: str | None = None, phone: str | None = None) -> Guest | None:
    conditions = [column == value for column, value in ((Guest.email, email), (Guest.phone, phone)) if value]
    if not conditions:
        return None
    return db.session.scalars(select(Guest).where(or_(*conditions), Guest.is_active.is_(True)).limit(1)).first()


def register(
    *, email: str | None, phone: str | None, password: str, first_name: str | None, last_name: str | None,
    language: str, client: ClientInfo,
) -> TokenPair:
    """Create a guest account with a password and log it in.

    A contact that already belongs to a profile is never taken over by registering: an account owner is told to
    log in (or reset with a code); a profile the front desk made is claimed by proving the contact with a code.
    """
    existing = find_by_contact(email=email, phone=phone)
    if existing is not None:
        if existing.has_account:
            raise Conflict("An account with this email or phone exists; log in or reset the password with a code.",
                           code="account_exists")
        raise Conflict("We already know this email or phone from a hotel stay; confirm it with a one-time code "
                       "to take over that profile.", code="profile_claim_required")
    guest = Guest(email=email, phone=phone, first_name=first_name, last_name=last_name,
                  language=language, source=GuestSource.APP.value)
    identity.set_password(guest, password)
    db.session.add(guest)
    db.session.flush()
    return identity.open_session(kind=PrincipalKind.GUEST, principal_id=guest.id, method="password", client=client)


def check_login(*, login: str, password: str) -> PasswordCheck:
    """Verify the password of the guest with this email or phone; read-only and slow, so before the unit of work."""
    return identity.verify_account_password(find_by_contact(email=login, phone=login), password)


def log_in(*, check: PasswordCheck, client: ClientInfo) -> TokenPair:
    """Record the password check (failures count towards the back-off) and open a session."""
    guest = db.session.get(Guest, check.account_id, populate_existing=True) if check.account_id else None
    identity.settle_password_check(guest, check)
    return identity.open_session(kind=PrincipalKind.GUEST, principal_id=guest.id, method="password", client=client)


def request_login_code(*, destination: str) -> str:
    """Issue a code for a phone or email, known or not (the answer must not reveal which contacts exist)."""
    return identity.issue_login_code(destination=destination)


def log_in_with_code(*, destination: str, code: str, language: str, client: ClientInfo) -> TokenPair:
    """Proving the contact logs into its profile (a walk-in profile is claimed so); a new contact gets one."""
    identity.consume_login_code(destination=destination, code=code)
    is_email = "@" in destination
    guest = find_by_contact(email=destination) if is_email else find_by_contact(phone=destination)
    if guest is None:
        guest = Guest(email=destination if is_email else None, phone=None if is_email else destination,
                      language=language, source=GuestSource.CODE.value)
        db.session.add(guest)
    now = clock.now()
    if is_email:
        guest.email_verified_at = guest.email_verified_at or now
    else:
        guest.phone_verified_at = guest.phone_verified_at or now
    guest.failed_login_count, guest.locked_until = 0, None
    db.session.flush()
    return identity.open_session(kind=PrincipalKind.GUEST, principal_id=guest.id, method="code", client=client)


def change_password(
    *, guest: Guest, session_id: int, current_password: str | None, new_password: str, fresh_code_login: bool
) -> None:
    """Set a new password and end every other session of the guest.

    The current password is required, except right after a one-time-code login (that is the reset path).
    """
    if guest.password_hash is not None and not fresh_code_login:
        if current_password is None:
            raise Forbidden("Give the current password, or log in with a one-time code first.",
                            code="current_password_required")
        # Rare enough that hashing inside the unit of work is acceptable (login, the hot path, hashes before it).
        identity.settle_password_check(guest, identity.verify_account_password(guest, current_password))
    identity.set_password(guest, new_password)
    identity.revoke_sessions(kind=PrincipalKind.GUEST, principal_id=guest.id, reason="password_changed",
                             keep_session_id=session_id)
