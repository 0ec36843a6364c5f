"""The domains that hold guest data, lowest first. Each has `services/privacy.py` with
`export_for_guest(*, guest_id) -> dict` (its sections of the export) and
`erase_for_guest(*, guest_id, pseudonym) -> dict` (what it anonymised, as counts).

The privacy package sits above every domain, so it imports them; no domain knows about privacy.
"""

from __future__ import annotations

from types import ModuleType

from app.bookings.services import privacy as bookings
from app.guests.services import privacy as guests
from app.iot.services import privacy as iot
from app.loyalty.services import privacy as loyalty
from app.partners.services import privacy as partners
from app.push.services import privacy as push
from app.requests.services import privacy as requests

# guests first in the export (the profile leads); erased last (the others may still read the profile).
DOMAINS: tuple[ModuleType, ...] = (guests, loyalty, bookings, requests, iot, partners, push)
