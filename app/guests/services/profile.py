"""A guest's own profile: contacts and personal data, preferences, family, consents."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, select

from app.core import clock
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.prepared_reads import PreparedRead
from app.extensions import db
from app.guests.models import ConsentPurpose, ConsentRecord, FamilyMember, Guest, GuestPreferences
from app.guests.services.accounts import find_by_contact

PREFERENCE_FIELDS = (
    "room_temperature_c", "light_level", "curtains_position", "pillow", "bed", "floor", "quiet_room", "allergies",
    "diet", "newspaper", "service_language", "notes",
)


# What GET /me shows (app/guests/schemas.py GuestSchema), read from the table's columns with SQLAlchemy Core: the
# ORM would build the whole profile object (or fresh result metadata) at several times the cost of the query.
_GUESTS = Guest.__table__.c
_PROFILE_COLUMNS = (
    _GUESTS.id, _GUESTS.email, _GUESTS.phone, _GUESTS.email_verified_at, _GUESTS.phone_verified_at,
    _GUESTS.first_name, _GUESTS.last_name, _GUESTS.birth_date, _GUESTS.language, _GUESTS.time_zone, _GUESTS.country,
    _GUESTS.city, _GUESTS.identity_document.is_not(None).label("has_identity_document"), _GUESTS.created_at,
)


def my_profile(*, guest_id: int) -> Any:
    """The guest's own profile as GET /me shows it: the app's most frequent read, so one prepared query for its
    columns, outside the ORM Session (app/core/prepared_reads.py)."""
    row = _my_profile_query().first(guest_id=guest_id)
    if row is None:
        raise NotFound("No such guest.")
    return row


@cache
def _my_profile_query() -> PreparedRead:
    return PreparedRead(select(*_PROFILE_COLUMNS).where(_GUESTS.id == bindparam("guest_id")))


def update_profile(*, guest: Guest, changes: dict[str, Any]) -> Guest:
    """Apply a partial update; a new email or phone must be free and is unverified until proven."""
    for contact in ("email", "phone"):
        if contact in changes and changes[contact] != getattr(guest, contact):
            other = find_by_contact(**{contact: changes[contact]}) if changes[contact] else None
            if other is not None and other.id != guest.id:
                raise Conflict(f"This {contact} belongs to another profile.", code="contact_taken",
                               errors={contact: ["Already in use."]})
            setattr(guest, f"{contact}_verified_at", None)
    if "email" in changes or "phone" in changes:
        email = changes.get("email", guest.email)
        phone = changes.get("phone", guest.phone)
        if not email and not phone:
            raise Unprocessable("Keep at least one contact: email or phone.", code="contact_required")
    for name, value in changes.items():
        setattr(guest, name, value)
    return guest


def get_identity_document(*, guest: Guest) -> dict[str, Any]:
    """The guest's identity document (decrypted), or 404 when none is kept."""
    if guest.identity_document is None:
        raise NotFound("No identity document is kept.")
    return guest.identity_document


def set_identity_document(*, guest: Guest, document: dict[str, Any] | None) -> dict[str, Any] | None:
    """Keep (or, with None, erase) the identity document, encrypted at rest."""
    guest.identity_document = document
    return document


def get_preferences(*, guest: Guest) -> GuestPreferences:
    """The guest's preferences (empty ones if never set)."""
    return guest.preferences or GuestPreferences(guest_id=guest.id, allergies=[], diet=[])


def replace_preferences(*, guest: Guest, preferences: dict[str, Any]) -> GuestPreferences:
    """PUT semantics: fields not given are cleared."""
    current = guest.preferences
    if current is None:
        current = GuestPreferences(guest_id=guest.id)
        guest.preferences = current
    for name in PREFERENCE_FIELDS:
        default = [] if name in ("allergies", "diet") else None
        setattr(current, name, preferences.get(name, default))
    current.updated_at = clock.now()
    return current


def add_family_member(*, guest: Guest, relation: str, first_name: str, birth_date: Any = None) -> FamilyMember:
    """Add a family member; a child's birthday only with the parent's consent on record."""
    if relation == "child" and birth_date is not None and not has_consent(guest_id=guest.id,
                                                                           purpose=ConsentPurpose.CHILDREN_BIRTHDAYS):
        raise Unprocessable(
            "A child's birthday is kept only with your consent (children_birthdays).", code="consent_required",
            errors={"birth_date": ["Give the children_birthdays consent first."]},
        )
    member = FamilyMember(relation=relation, first_name=first_name, birth_date=birth_date)
    guest.family.append(member)
    db.session.flush()
    return member


def remove_family_member(*, guest: Guest, member_id: int) -> None:
    member = db.session.get(FamilyMember, member_id)
    if member is None or member.guest_id != guest.id:
        raise NotFound("No such family member.")
    db.session.delete(member)


def consent_policy_version(purpose: ConsentPurpose | str) -> str:
    """The policy version in force for a purpose (CONSENT_POLICY_VERSIONS, else CONSENT_POLICY_VERSION)."""
    config = current_app.config
    return config["CONSENT_POLICY_VERSIONS"].get(str(purpose), config["CONSENT_POLICY_VERSION"])


@dataclass(frozen=True)
class ConsentState:
    purpose: str
    granted: bool  # the latest decision, as the guest made it
    policy_version: str | None  # the version that decision was made under
    recorded_at: Any
    source: str | None
    current_policy_version: str = ""
    # A grant under an older policy version counts as not given until the guest consents again.
    reconsent_required: bool = False

    @property
    def effective(self) -> bool:
        return self.granted and not self.reconsent_required


@dataclass(frozen=True)
class ConsentOverview:
    policy_version: str
    current: list[ConsentState]
    history: list[ConsentRecord]

    @property
    def reconsent_required(self) -> list[str]:
        return [state.purpose for state in self.current if state.reconsent_required]


def consent_overview(*, guest_id: int) -> ConsentOverview:
    """Current state of every purpose (never asked = not granted) and the full history, newest first."""
    history = list(db.session.scalars(
        select(ConsentRecord).where(ConsentRecord.guest_id == guest_id).order_by(ConsentRecord.id.desc())
    ))
    latest: dict[str, ConsentRecord] = {}
    for record in history:
        latest.setdefault(record.purpose, record)
    return ConsentOverview(current_app.config["CONSENT_POLICY_VERSION"],
                           [_state(purpose, latest.get(purpose)) for purpose in ConsentPurpose], history)


def _state(purpose: ConsentPurpose, record: ConsentRecord | None) -> ConsentState:
    version = consent_policy_version(purpose)
    if record is None:
        return ConsentState(purpose.value, False, None, None, None, version)
    return ConsentState(purpose.value, record.granted, record.policy_version, record.recorded_at, record.source,
                        version, reconsent_required=record.granted and record.policy_version != version)


def decide_consent(*, guest_id: int, purpose: ConsentPurpose, granted: bool) -> ConsentOverview:
    """The guest gives or withdraws a consent in the app; returns the overview after the decision."""
    record_consent(guest_id=guest_id, purpose=purpose, granted=granted, source="app")
    return consent_overview(guest_id=guest_id)


def record_consent(
    *, guest_id: int, purpose: ConsentPurpose, granted: bool, source: str, staff_id: int | None = None,
    policy_version: str | None = None,
) -> ConsentRecord:
    """Append a consent decision; withdrawing a children's-birthday consent erases the birthdays kept under it."""
    record = ConsentRecord(
        guest_id=guest_id, purpose=purpose.value, granted=granted, source=source, recorded_by_staff_id=staff_id,
        policy_version=policy_version or consent_policy_version(purpose),
    )
    db.session.add(record)
    if purpose == ConsentPurpose.CHILDREN_BIRTHDAYS and not granted:
        for member in db.session.scalars(select(FamilyMember).where(FamilyMember.guest_id == guest_id,
                                                                    FamilyMember.relation == "child")):
            member.birth_date = None
    db.session.flush()
    return record


def has_consent(*, guest_id: int, purpose: ConsentPurpose) -> bool:
    """The latest decision grants the purpose under the policy version now in force."""
    latest = db.session.scalars(
        select(ConsentRecord).where(ConsentRecord.guest_id == guest_id, ConsentRecord.purpose == purpose.value)
        .order_by(ConsentRecord.id.desc()).limit(1)
    ).first()
    return latest is not None and latest.granted and latest.policy_version == consent_policy_version(purpose)
