"""A hotel's catalogue (menu, laundry, repair categories, housekeeping options), as guests and staff see it."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.core.errors import Conflict, NotFound
from app.extensions import db
from app.hotels import services as hotels
from app.hotels.services.access import flush_unique
from app.requests.models import CatalogItem


def public_catalog(*, hotel_id: int, type: str | None = None) -> list[CatalogItem]:
    """Active items of an active hotel, in display order."""
    hotels.get_hotel(hotel_id=hotel_id)
    return _items(hotel_id, type=type, active_only=True)


def managed_catalog(*, staff: Any, hotel_id: int, type: str | None = None) -> list[CatalogItem]:
    """Every item of a hotel the staff member works in, active or not."""
    hotels.get_managed_hotel(staff=staff, hotel_id=hotel_id)
    return _items(hotel_id, type=type, active_only=False)


def _items(hotel_id: int, *, type: str | None, active_only: bool) -> list[CatalogItem]:
    stmt = select(CatalogItem).where(CatalogItem.hotel_id == hotel_id)
    if type:
        stmt = stmt.where(CatalogItem.type == type)
    if active_only:
        stmt = stmt.where(CatalogItem.is_active.is_(True))
    return list(db.session.scalars(stmt.order_by(CatalogItem.type, CatalogItem.sort_order, CatalogItem.id)))


def create_item(*, staff: Any, hotel_id: int, data: dict[str, Any]) -> CatalogItem:
    """Add an item to a hotel's catalogue; codes are unique per hotel."""
    hotels.get_managed_hotel(staff=staff, hotel_id=hotel_id)
    item = CatalogItem(hotel_id=hotel_id, **data)
    db.session.add(item)
    flush_unique(_code_taken(data["code"]))
    return item


def update_item(*, staff: Any, item_id: int, changes: dict[str, Any]) -> CatalogItem:
    """Change some fields of a catalogue item (withdraw it with is_active=false; ordered items keep their history)."""
    item = _managed_item(staff, item_id)
    for name, value in changes.items():
        setattr(item, name, value)
    flush_unique(_code_taken(item.code))
    return item


def _managed_item(staff: Any, item_id: int) -> CatalogItem:
    item = db.session.get(CatalogItem, item_id)
    if item is None or not staff.can_access_hotel(item.hotel_id):
        raise NotFound("No such catalogue item.")
    return item


def _code_taken(code: str) -> Conflict:
    return Conflict(f"The hotel's catalogue has an item {code}.", code="catalog_code_taken",
                    errors={"code": ["Already in use in this hotel."]})


def is_available(item: Any, *, at: datetime, time_zone: str) -> bool:
    """Whether `at` falls in the item's serving hours, read in the hotel's time zone (`item`: a CatalogItem, or a
    row with its `available_from` and `available_until`)."""
    if not item.available_from or not item.available_until:
        return True
    local = at.astimezone(ZoneInfo(time_zone)).time()
    start, end = time.fromisoformat(item.available_from), time.fromisoformat(item.available_until)
    if start <= end:
        return start <= local < end
    return local >= start or local < end  # wraps over midnight (a night menu)
