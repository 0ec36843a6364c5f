"""The guests domain's part of a guest's data rights: what it holds on a guest, and how that is erased."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from app.core import clock
from app.core.records import as_record, as_records
from app.extensions import db
from app.guests.models import ConsentPurpose, FamilyMember, Guest, GuestHotelLink, GuestPreferences
from app.guests.services.profile import consent_overview, record_consent

_PROFILE_EXCLUDED = ("password_hash", "search_text", "identity_document", "failed_login_count", "locked_until")


def export_for_guest(*, guest_id: int) -> dict[str, Any]:
    """Profile (with the decrypted identity document), preferences, family, consent ledger, hotels that know them."""
    guest = db.session.get(Guest, guest_id)
    preferences = db.session.get(GuestPreferences, guest_id)
    overview = consent_overview(guest_id=guest_id)
    return {
        "profile": {**as_record(guest, exclude=_PROFILE_EXCLUDED), "identity_document": guest.identity_document},
        "preferences": as_record(preferences) if preferences else None,
        "family": as_records(db.session.scalars(
            select(FamilyMember).where(FamilyMember.guest_id == guest_id).order_by(FamilyMember.id))),
        "consents": {
            "reconsent_required": overview.reconsent_required,
            "ledger": as_records(reversed(overview.history)),
        },
        "hotel_links": as_records(db.session.scalars(
            select(GuestHotelLink).where(GuestHotelLink.guest_id == guest_id).order_by(GuestHotelLink.hotel_id))),
    }


def contacts_of(*, guest_id: int) -> list[str]:
    """The guest's email and phone (to find traces of them elsewhere before they are erased)."""
    guest = db.session.get(Guest, guest_id)
    return [contact for contact in (guest.email, guest.phone) if contact]


def erase_for_guest(*, guest_id: int, pseudonym: str) -> dict[str, int]:
    """Anonymise the profile: the row stays, named by `pseudonym`, as the owner of kept financial records.

    Every consent is withdrawn (appended to the ledger, which itself holds nothing identifying); preferences,
    family and hotel links go. The guest can no longer sign in.
    """
    guest = db.session.get(Guest, guest_id, with_for_update=True)
    for name in ("email", "phone", "email_verified_at", "phone_verified_at", "first_name", "birth_date", "time_zone",
                 "country", "city", "identity_document", "password_hash", "locked_until"):
        setattr(guest, name, None)
    guest.last_name = pseudonym  # also rebuilds search_text from nothing but the pseudonym
    guest.is_active = False
    guest.erased_at = guest.erased_at or clock.now()
    overview = consent_overview(guest_id=guest_id)
    for state in overview.current:
        if state.granted:
            record_consent(guest_id=guest_id, purpose=ConsentPurpose(state.purpose), granted=False, source="erasure")
    counts = {
        "preferences": db.session.execute(delete(GuestPreferences).where(GuestPreferences.guest_id == guest_id))
        .rowcount,
        "family_members": db.session.execute(delete(FamilyMember).where(FamilyMember.guest_id == guest_id)).rowcount,
        "hotel_links": db.session.execute(delete(GuestHotelLink).where(GuestHotelLink.guest_id == guest_id)).rowcount,
    }
    db.session.expire(guest, ["preferences", "family"])
    return counts


def is_erased(*, guest_id: int) -> bool:
    return db.session.scalar(select(Guest.erased_at).where(Guest.id == guest_id)) is not None

