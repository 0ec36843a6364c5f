"""Factories of the partners domain: partners, offerings, slots, partner API keys."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from typing import Any

from app.core import clock
from app.core.auth import ServiceKind
from app.core.db import unit_of_work
from app.extensions import db
from app.hotels.models import Hotel
from app.identity import services as identity
from app.partners.models import ExperienceSlot, Offering, Partner

_seq = count(1)


def make_partner(hotels: list[Hotel] | None = None, **overrides: Any) -> Partner:
    n = next(_seq)
    with unit_of_work():
        partner = Partner(**{"name": f"Partner {n}", "kind": "tour_operator", "currency": "RUB",
                             "commission_bp": 1500, **overrides})
        partner.hotels = [db.session.merge(hotel) for hotel in hotels or []]
        db.session.add(partner)
    return partner


def make_offering(partner: Partner, **overrides: Any) -> Offering:
    n = next(_seq)
    values = {
        "partner_id": partner.id, "title": {"en": f"Excursion {n}", "ru": f"Экскурсия {n}"},
        "description": {"en": "A fine trip", "ru": "Прекрасная поездка"},
        "meeting_point": {"en": "Hotel lobby", "ru": "Лобби отеля"}, "price": 250000, "currency": partner.currency,
        "duration_minutes": 180, "languages": ["en", "ru"], "tags": [], "free_cancellation_hours": 24,
    }
    with unit_of_work():
        offering = Offering(**{**values, **overrides})
        db.session.add(offering)
    return offering


def make_slot(offering: Offering, *, starts_at: datetime | None = None, capacity: int = 10,
              **overrides: Any) -> ExperienceSlot:
    with unit_of_work():
        slot = ExperienceSlot(offering_id=offering.id, starts_at=starts_at or clock.now() + timedelta(days=3),
                              capacity=capacity, booked=0, **overrides)
        db.session.add(slot)
    return slot


def partner_headers(partner: Partner) -> dict[str, str]:
    """X-API-Key of a fresh key scoped to `partner`."""
    with unit_of_work():
        _, plaintext = identity.create_api_key(name=f"{partner.name} system", kind=ServiceKind.PARTNER,
                                               partner_id=partner.id)
    return {"X-API-Key": plaintext}
