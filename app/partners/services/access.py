"""Who may see what: a partner's API key sees only its own things; staff manage partners of their hotels."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from app.core.errors import Forbidden, NotFound
from app.extensions import db
from app.partners.models import ExperienceBooking, ExperienceSlot, Offering, Partner, WebhookEndpoint


class Actor(Protocol):
    """A staff member as partners see one (app.staff is duck-typed, never imported)."""

    @property
    def is_chain_wide(self) -> bool: ...

    def can_access_hotel(self, hotel_id: int) -> bool: ...


class KeyHolder(Protocol):
    """An API key (app.identity.models.ApiKey) as partners see one."""

    @property
    def partner_id(self) -> int | None: ...


Owned = TypeVar("Owned", Offering, ExperienceBooking, WebhookEndpoint)


def key_partner(key: KeyHolder) -> Partner:
    """The partner an API key speaks for; a partner key without a partner link, or a deactivated partner, may
    call nothing."""
    partner = db.session.get(Partner, key.partner_id) if key.partner_id else None
    if partner is None or not partner.is_active:
        raise Forbidden("This API key is not linked to an active partner.", code="api_key_forbidden")
    return partner


def partner_owned(partner: Partner, model: type[Owned], object_id: int, *, what: str,
                  for_update: bool = False) -> Owned:
    """An offering, booking or webhook endpoint of this partner; another partner's answers 404. `for_update`
    locks the row (PostgreSQL) for a change of state that depends on what was read."""
    found: Any = db.session.get(model, object_id, with_for_update=for_update or None)
    if found is None or found.partner_id != partner.id:
        raise NotFound(f"No such {what}.")
    return found


def partner_slot(partner: Partner, slot_id: int) -> ExperienceSlot:
    slot = db.session.get(ExperienceSlot, slot_id)
    if slot is None or slot.offering.partner_id != partner.id:
        raise NotFound("No such slot.")
    return slot


def can_manage(staff: Actor, partner: Partner) -> bool:
    """Chain admins manage every partner; a hotel manager, the partners linked to one of their hotels."""
    return staff.is_chain_wide or any(staff.can_access_hotel(hotel_id) for hotel_id in partner.hotel_ids)


def managed_partner(staff: Actor, partner_id: int) -> Partner:
    partner = db.session.get(Partner, partner_id)
    if partner is None or not can_manage(staff, partner):
        raise NotFound("No such partner.")
    return partner


def managed_offering(staff: Actor, offering_id: int) -> Offering:
    offering = db.session.get(Offering, offering_id)
    if offering is None or not can_manage(staff, offering.partner):
        raise NotFound("No such offering.")
    return offering
