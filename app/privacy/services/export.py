"""Export: everything the chain holds on a guest, as one JSON document assembled from every domain's part."""

from __future__ import annotations

from typing import Any

from app.audit import services as audit
from app.core import clock
from app.core.auth import PrincipalKind
from app.core.errors import NotFound
from app.extensions import db
from app.guests.models import Guest
from app.identity import services as identity
from app.privacy.services.domains import DOMAINS


def export_guest(*, guest_id: int) -> dict[str, Any]:
    """The guest's data from every domain, plus their login sessions (devices and addresses)."""
    document: dict[str, Any] = {"guest_id": guest_id, "exported_at": clock.now()}
    for domain in DOMAINS:
        document.update(domain.export_for_guest(guest_id=guest_id))
    document["sessions"] = identity.export_sessions(kind=PrincipalKind.GUEST, principal_id=guest_id)
    return document


def staff_export(*, staff: Any, guest_id: int) -> dict[str, Any]:
    """A chain administrator answers a guest's request for their data (audited); any profile, even merged away."""
    if db.session.get(Guest, guest_id) is None:
        raise NotFound("No such guest.")
    audit.record(actor=staff, action="guest.exported", subject_kind="guest", subject_id=guest_id)
    return export_guest(guest_id=guest_id)
