"""Staff work on guest profiles: walk-in profiles, search, reading (audited, masked by role), merging."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from app.audit import services as audit
from app.core.auth import PrincipalKind, Role
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.pagination import Page, paginate
from app.extensions import db
from app.guests.models import ConsentPurpose, ConsentRecord, FamilyMember, Guest, GuestHotelLink, GuestSource
from app.guests.services.accounts import find_by_contact
from app.guests.services.profile import PREFERENCE_FIELDS, consent_overview, record_consent
from app.identity import services as identity

# Roles that see a guest's contacts in full; other guest-facing roles see them masked.
FULL_CONTACT_ROLES = {Role.FRONT_DESK, Role.HOTEL_MANAGER, Role.CHAIN_ADMIN}


def create_walk_in(*, staff: Any, hotel_id: int, data: dict[str, Any]) -> GuestCard:
    """A clerk creates the profile of a guest at the desk; an existing contact is pointed to, not duplicated."""
    if not staff.can_access_hotel(hotel_id):
        raise NotFound("No such hotel.")
    existing = find_by_contact(email=data.get("email"), phone=data.get("phone"))
    if existing is not None:
        raise Conflict("A profile with this email or phone exists.", code="guest_exists", guest_id=existing.id)
    consents = data.pop("consents", [])
    guest = Guest(**data, source=GuestSource.FRONT_DESK.value, created_by_staff_id=staff.id)
    db.session.add(guest)
    db.session.flush()
    db.session.add(GuestHotelLink(guest_id=guest.id, hotel_id=hotel_id, reason="walk_in"))
    for consent in consents:
        record_consent(guest_id=guest.id, purpose=ConsentPurpose(consent["purpose"]), granted=consent["granted"],
                       source="front_desk", staff_id=staff.id)
    audit.record(actor=staff, action="guest.created_walk_in", subject_kind="guest", subject_id=guest.id,
                 hotel_id=hotel_id)
    return guest_card(staff=staff, guest=guest, detailed=True)


def _visible_guests(staff: Any):
    stmt = select(Guest).where(Guest.merged_into_id.is_(None), Guest.is_active.is_(True))
    if not staff.is_chain_wide:
        linked = select(GuestHotelLink.guest_id).where(GuestHotelLink.hotel_id.in_(staff.hotel_ids))
        stmt = stmt.where(Guest.id.in_(linked))
    return stmt


def _get_visible(staff: Any, guest_id: int) -> Guest:
    guest = db.session.scalars(_visible_guests(staff).where(Guest.id == guest_id)).one_or_none()
    if guest is None:
        raise NotFound("No such guest.")
    return guest


def visible_guest(*, staff: Any, guest_id: int) -> Guest:
    """A guest the staff member may work with (known to one of their hotels; any for a chain admin), or 404."""
    return _get_visible(staff, guest_id)


def _hotel_for_audit(staff: Any, guest_id: int) -> int | None:
    """The hotel through which the staff member sees the guest (for managers browsing their hotel's audit)."""
    if staff.is_chain_wide:
        return None
    return db.session.scalars(
        select(GuestHotelLink.hotel_id).where(GuestHotelLink.guest_id == guest_id,
                                              GuestHotelLink.hotel_id.in_(staff.hotel_ids)).limit(1)
    ).first()


def search_guests(*, staff: Any, query: str, cursor: str | None, limit: int) -> Page:
    """Guests of my hotels whose name, email or phone contains `query`; the search itself is audited."""
    stmt = _visible_guests(staff).where(Guest.search_text.contains(query.strip().casefold(), autoescape=True))
    page = paginate(stmt, keys=[Guest.id], cursor=cursor, limit=limit)
    audit.record(actor=staff, action="guest.searched", subject_kind="guest", subject_id=None,
                 detail={"results": [guest.id for guest in page.items]})
    return Page([guest_card(staff=staff, guest=guest) for guest in page.items], page.next_cursor)


@dataclass(frozen=True)
class GuestCard:
    """What staff see of a guest: contacts masked unless the role needs them."""

    id: int
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    language: str
    country: str | None
    city: str | None
    source: str
    has_account: bool
    preferences: dict[str, Any] | None
    consents: list[Any] | None


def guest_card(*, staff: Any, guest: Guest, detailed: bool = False) -> GuestCard:
    full = staff.role in FULL_CONTACT_ROLES
    preferences = None
    if detailed and guest.preferences is not None:
        preferences = {name: getattr(guest.preferences, name) for name in PREFERENCE_FIELDS}
        if preferences["room_temperature_c"] is not None:
            preferences["room_temperature_c"] = float(preferences["room_temperature_c"])
    return GuestCard(
        id=guest.id, first_name=guest.first_name, last_name=guest.last_name,
        email=guest.email if full else mask_email(guest.email),
        phone=guest.phone if full else mask_phone(guest.phone),
        language=guest.language, country=guest.country, city=guest.city, source=guest.source,
        has_account=guest.has_account, preferences=preferences,
        consents=consent_overview(guest_id=guest.id).current if detailed else None,
    )


def read_guest(*, staff: Any, guest_id: int, action: str = "guest.read") -> GuestCard:
    """One guest's profile for staff; every read is written to the audit log (as `action`: guest.summary_read...)."""
    guest = _get_visible(staff, guest_id)
    audit.record(actor=staff, action=action, subject_kind="guest", subject_id=guest.id,
                 hotel_id=_hotel_for_audit(staff, guest.id))
    return guest_card(staff=staff, guest=guest, detailed=True)


def mask_email(email: str | None) -> str | None:
    if not email:
        return email
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    return phone[:2] + "*" * max(len(phone) - 6, 0) + phone[-4:]


def merge_guests(*, staff: Any, source_id: int, target_id: int) -> GuestCard:
    """Fold a duplicate profile (source) into the one that stays (target), keeping all history.

    Contacts and preferences fill the target's gaps; family, consent history and hotel links move over; every
    consent ends at the more restrictive of the two; the source's sessions end and it points at the target.
    """
    if source_id == target_id:
        raise Unprocessable("A profile cannot be merged into itself.", code="merge_same_guest")
    source, target = _get_visible(staff, source_id), _get_visible(staff, target_id)
    # Effective states: a grant under an outdated policy version must not be refreshed by the merge.
    current_source = {c.purpose: c.effective for c in consent_overview(guest_id=source.id).current}
    current_target = {c.purpose: c.effective for c in consent_overview(guest_id=target.id).current}
    _move_contacts(source, target)
    _fill_preferences(source, target)
    db.session.execute(update(FamilyMember).where(FamilyMember.guest_id == source.id).values(guest_id=target.id))
    db.session.execute(update(ConsentRecord).where(ConsentRecord.guest_id == source.id).values(guest_id=target.id))
    _move_hotel_links(source, target)
    for purpose in ConsentPurpose:
        granted = current_source[purpose.value] and current_target[purpose.value]
        record_consent(guest_id=target.id, purpose=purpose, granted=granted, source="merge", staff_id=staff.id)
    source.merged_into_id, source.is_active = target.id, False
    identity.revoke_sessions(kind=PrincipalKind.GUEST, principal_id=source.id, reason="merged")
    audit.record(actor=staff, action="guest.merged", subject_kind="guest", subject_id=target.id,
                 hotel_id=_hotel_for_audit(staff, target.id), detail={"source_id": source.id})
    db.session.expire(target, ["family"])
    return guest_card(staff=staff, guest=target, detailed=True)


def _move_contacts(source: Guest, target: Guest) -> None:
    moved = {}
    for name in ("email", "phone"):
        if getattr(source, name) and not getattr(target, name):
            moved[name] = (getattr(source, name), getattr(source, f"{name}_verified_at"))
    source.email, source.phone = None, None  # free the unique contacts before the target takes them
    db.session.flush()
    for name, (value, verified_at) in moved.items():
        setattr(target, name, value)
        setattr(target, f"{name}_verified_at", verified_at)
    if target.password_hash is None and source.password_hash is not None:
        target.password_hash = source.password_hash
    for name in ("first_name", "last_name", "birth_date", "time_zone", "country", "city", "identity_document"):
        if getattr(target, name) is None and getattr(source, name) is not None:
            setattr(target, name, getattr(source, name))


def _fill_preferences(source: Guest, target: Guest) -> None:
    if source.preferences is None:
        return
    if target.preferences is None:
        target.preferences = type(source.preferences)(guest_id=target.id, allergies=[], diet=[])
    for name in PREFERENCE_FIELDS:
        mine, theirs = getattr(target.preferences, name), getattr(source.preferences, name)
        if name in ("allergies", "diet"):
            # Allergies and diets add up: forgetting one is the dangerous mistake.
            setattr(target.preferences, name, sorted(set(mine or []) | set(theirs or [])))
        elif mine is None:
            setattr(target.preferences, name, theirs)


def _move_hotel_links(source: Guest, target: Guest) -> None:
    have = set(db.session.scalars(select(GuestHotelLink.hotel_id).where(GuestHotelLink.guest_id == target.id)))
    for link in db.session.scalars(select(GuestHotelLink).where(GuestHotelLink.guest_id == source.id)):
        if link.hotel_id not in have:
            db.session.add(GuestHotelLink(guest_id=target.id, hotel_id=link.hotel_id, reason="merge"))
        db.session.delete(link)
