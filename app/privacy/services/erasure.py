"""Erasure: anonymise a guest everywhere, keep the financial records the law requires under a pseudonym.

The profile row stays (bookings, folios, the points ledger point at it) with no name, contact, birth date, address
or document: its last name becomes `erased-<random>`. Each domain drops the free text it holds about the guest;
sessions end and push tokens go; the guest can never sign in again. Repeating an erasure changes nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.audit import services as audit
from app.core import events
from app.core.auth import PrincipalKind
from app.core.errors import Forbidden, NotFound
from app.core.idempotency import forget_responses
from app.extensions import db
from app.guests.models import Guest
from app.identity import services as identity
from app.identity.services import PasswordCheck
from app.privacy.services.domains import DOMAINS, guests


@dataclass(frozen=True)
class ErasureResult:
    guest_id: int
    pseudonym: str
    erased_at: datetime
    already_erased: bool


def check_erasure_credentials(*, guest: Guest, password: str | None, claims: dict[str, Any]) -> PasswordCheck | None:
    """Read-only and slow (argon2), so before the unit of work: the password, or a fresh one-time-code login for an
    account that has no password. None means the fresh code login stands in for the password."""
    if guest.password_hash is None:
        if claims.get("amr") == "code" and claims.get("fresh"):
            return None
        raise Forbidden("Log in again with a one-time code to confirm the erasure.", code="recent_login_required")
    if password is None:
        raise Forbidden("Give your password to confirm the erasure.", code="current_password_required")
    return identity.verify_account_password(guest, password)


def erase_own_account(*, guest: Guest, check: PasswordCheck | None) -> ErasureResult:
    """The guest erases their own account after proving it is them (a wrong password counts towards the lock)."""
    if check is not None:
        identity.settle_password_check(guest, check)
    return erase_guest(guest_id=guest.id, actor=guest)


def erase_guest(*, guest_id: int, actor: Any) -> ErasureResult:
    """Erase a guest's personal data in every domain in this unit of work; audited. Idempotent."""
    guest = db.session.get(Guest, guest_id)
    if guest is None:
        raise NotFound("No such guest.")
    if guest.erased_at is not None:
        return ErasureResult(guest.id, guest.last_name or "", guest.erased_at, already_erased=True)
    pseudonym = f"erased-{secrets.token_hex(6)}"
    contacts = guests.contacts_of(guest_id=guest_id)
    names = [name for name in (guest.first_name, guest.last_name) if name and len(name) >= 3]
    counts: dict[str, int] = {}
    for domain in reversed(DOMAINS[1:]):  # the profile itself goes last
        counts.update(domain.erase_for_guest(guest_id=guest_id, pseudonym=pseudonym))
    counts.update(identity.erase_account_traces(kind=PrincipalKind.GUEST, principal_id=guest_id, contacts=contacts))
    counts["idempotency_records"] = forget_responses(scope=f"guest:{guest_id}", containing=contacts + names)
    counts["event_payloads"] = events.scrub_guest_payloads(guest_id=guest_id)
    counts.update(guests.erase_for_guest(guest_id=guest_id, pseudonym=pseudonym))
    events.record("guest.erased", guest_id=guest_id, subject_id=guest_id)
    audit.record(actor=actor, action="guest.erased", subject_kind="guest", subject_id=guest_id,
                 detail={"pseudonym": pseudonym, "counts": counts})
    return ErasureResult(guest_id, pseudonym, guest.erased_at, already_erased=False)
