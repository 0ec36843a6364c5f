"""Partners, offerings and slots: administration by staff, schedules by the partner, browsing by guests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, exists, false, or_, select, update

from app.core import clock
from app.core.auth import ServiceKind
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.pagination import Page, paginate
from app.extensions import db
from app.hotels import services as hotels_services
from app.hotels.models import Hotel
from app.identity import services as identity_services
from app.partners.models import ExperienceSlot, Offering, Partner, SlotStatus
from app.partners.services.access import Actor, managed_offering, managed_partner, partner_owned, partner_slot
from app.partners.services.interests import guest_interests

# Slots further ahead than this are refused (a typo in the year would otherwise sell a slot in 2062).
MAX_SLOT_HORIZON = timedelta(days=400)


# -- administration (chain_admin, hotel_manager) ---------------------------------------------------------------

def _hotels_for(staff: Actor, hotel_ids: list[int]) -> list[Hotel]:
    hotels = []
    for hotel_id in dict.fromkeys(hotel_ids):
        hotel = db.session.get(Hotel, hotel_id)
        if hotel is None or not staff.can_access_hotel(hotel_id):
            raise Unprocessable("Unknown hotel.", errors={"hotel_ids": [f"No hotel {hotel_id} of yours."]})
        hotels.append(hotel)
    return hotels


def create_partner(*, staff: Actor, hotel_ids: list[int], **details: Any) -> Partner:
    """Create a partner linked to some of my hotels, or (chain admins) to a whole city."""
    if not hotel_ids and not (staff.is_chain_wide and details.get("city")):
        raise Unprocessable("Link the partner to one of your hotels (a city alone: chain admins only).",
                            code="partner_scope_required")
    partner = Partner(**details)
    partner.hotels = _hotels_for(staff, hotel_ids)
    db.session.add(partner)
    db.session.flush()
    return partner


def list_partners(*, staff: Actor, cursor: str | None, limit: int) -> Page:
    """Partners I manage."""
    stmt = select(Partner)
    if not staff.is_chain_wide:
        stmt = stmt.where(Partner.hotels.any(Hotel.id.in_(list(staff.hotel_ids))))  # type: ignore[attr-defined]
    return paginate(stmt, keys=[Partner.id], cursor=cursor, limit=limit)


def get_partner(*, staff: Actor, partner_id: int) -> Partner:
    return managed_partner(staff, partner_id)


def update_partner(*, staff: Actor, partner_id: int, changes: dict[str, Any]) -> Partner:
    """Change a partner; new hotel links must be my hotels (links to others' hotels stay as they are)."""
    partner = managed_partner(staff, partner_id)
    if "hotel_ids" in changes:
        kept = [hotel for hotel in partner.hotels if not staff.can_access_hotel(hotel.id)]
        partner.hotels = kept + _hotels_for(staff, changes.pop("hotel_ids"))
    for field, value in changes.items():
        setattr(partner, field, value)
    if not partner.hotels and not partner.city:
        raise Unprocessable("A partner needs a hotel or a city.", code="partner_scope_required")
    db.session.flush()
    return partner


@dataclass(frozen=True)
class IssuedKey:
    name: str
    prefix: str
    partner_id: int
    api_key: str  # shown once


def issue_partner_key(*, staff: Actor, partner_id: int, name: str) -> IssuedKey:
    """An API key for the partner's system, scoped to this partner; the plaintext is shown once."""
    partner = managed_partner(staff, partner_id)
    key, plaintext = identity_services.create_api_key(name=name, kind=ServiceKind.PARTNER, partner_id=partner.id)
    return IssuedKey(name=key.name, prefix=key.prefix, partner_id=partner.id, api_key=plaintext)


def create_offering(*, staff: Actor, partner_id: int, **details: Any) -> Offering:
    """Add an offering to a partner I manage; its price is in the partner's currency."""
    partner = managed_partner(staff, partner_id)
    _check_ages(details.get("min_age"), details.get("max_age"))
    offering = Offering(partner=partner, currency=partner.currency, **details)
    db.session.add(offering)
    db.session.flush()
    return offering


def list_partner_offerings(*, partner: Partner, cursor: str | None, limit: int) -> Page:
    return paginate(select(Offering).where(Offering.partner_id == partner.id), keys=[Offering.id], cursor=cursor,
                    limit=limit)


def list_managed_offerings(*, staff: Actor, partner_id: int, cursor: str | None, limit: int) -> Page:
    return list_partner_offerings(partner=managed_partner(staff, partner_id), cursor=cursor, limit=limit)


def update_offering(*, staff: Actor, offering_id: int, changes: dict[str, Any]) -> Offering:
    offering = managed_offering(staff, offering_id)
    _check_ages(changes.get("min_age", offering.min_age), changes.get("max_age", offering.max_age))
    for field, value in changes.items():
        setattr(offering, field, value)
    db.session.flush()
    return offering


def _check_ages(min_age: int | None, max_age: int | None) -> None:
    if min_age is not None and max_age is not None and min_age > max_age:
        raise Unprocessable("The minimum age is above the maximum.", errors={"max_age": ["Below min_age."]})


# -- the partner's schedule (API key) ------------------------------------------------------------------------------

def create_slot(*, partner: Partner, offering_id: int, starts_at: datetime, capacity: int) -> ExperienceSlot:
    """Open a new start time with some places."""
    offering = partner_owned(partner, Offering, offering_id, what="offering")
    now = clock.now()
    if not now < starts_at <= now + MAX_SLOT_HORIZON:
        raise Unprocessable("A slot starts in the future, within 400 days.", errors={"starts_at": ["Out of range."]})
    slot = ExperienceSlot(offering=offering, starts_at=starts_at, capacity=capacity, booked=0)
    db.session.add(slot)
    db.session.flush()
    return slot


def list_partner_slots(*, partner: Partner, cursor: str | None, limit: int, offering_id: int | None = None,
                       starts_from: datetime | None = None) -> Page:
    stmt = select(ExperienceSlot).join(Offering).where(Offering.partner_id == partner.id)
    if offering_id is not None:
        stmt = stmt.where(ExperienceSlot.offering_id == offering_id)
    if starts_from is not None:
        stmt = stmt.where(ExperienceSlot.starts_at >= starts_from)
    return paginate(stmt, keys=[ExperienceSlot.starts_at, ExperienceSlot.id], cursor=cursor, limit=limit)


def update_slot(*, partner: Partner, slot_id: int, capacity: int | None = None,
                status: str | None = None) -> ExperienceSlot:
    """Change a slot's capacity (never below the places already booked) or close/reopen it."""
    slot = partner_slot(partner, slot_id)
    if capacity is not None:
        # Conditional, like booking: a booking committed since we read the slot cannot be squeezed out.
        result = db.session.execute(update(ExperienceSlot).where(ExperienceSlot.id == slot.id,
                                                                 ExperienceSlot.booked <= capacity)
                                    .values(capacity=capacity).execution_options(synchronize_session=False))
        if result.rowcount != 1:
            raise Conflict("More places are booked than that capacity.", code="capacity_below_booked")
    if status is not None:
        slot.status = SlotStatus(status).value
    db.session.flush()
    db.session.refresh(slot)
    return slot


# -- guests browsing ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BrowseFilters:
    on: date | None = None  # a day (hotel-local) with a slot that has places left
    language: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    kind: str | None = None
    recommended: bool = False  # only those matching the guest's interests


def _available_near(hotel: Hotel) -> Select:
    """Active offerings of active partners linked to the hotel or working in its city."""
    return select(Offering).join(Partner).where(
        Offering.is_active.is_(True), Partner.is_active.is_(True),
        or_(Partner.hotels.any(Hotel.id == hotel.id), Partner.city_key == hotel.city_key),  # type: ignore
    )


def _day_bounds(hotel: Hotel, day: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(hotel.time_zone)
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start, start + timedelta(days=1)


def _open_slot_exists(start: datetime, end: datetime) -> Any:
    return exists().where(ExperienceSlot.offering_id == Offering.id, ExperienceSlot.status == SlotStatus.OPEN.value,
                          ExperienceSlot.booked < ExperienceSlot.capacity, ExperienceSlot.starts_at >= start,
                          ExperienceSlot.starts_at < end, ExperienceSlot.starts_at > clock.now())


def _matching_tags(interests: set[str]) -> Any:
    return or_(*[Offering.tag_index.like(f"%,{tag},%") for tag in sorted(interests)])


def _apply(stmt: Select, hotel: Hotel, filters: BrowseFilters, interests: set[str]) -> Select:
    if filters.on is not None:
        stmt = stmt.where(_open_slot_exists(*_day_bounds(hotel, filters.on)))
    if filters.language:
        stmt = stmt.where(Offering.language_index.like(f"%,{filters.language},%"))
    if filters.min_price is not None:
        stmt = stmt.where(Offering.price >= filters.min_price)
    if filters.max_price is not None:
        stmt = stmt.where(Offering.price <= filters.max_price)
    if filters.kind:
        stmt = stmt.where(Partner.kind == filters.kind)
    if filters.recommended:
        stmt = stmt.where(_matching_tags(interests) if interests else false())
    return stmt


@dataclass(frozen=True)
class Experience:
    """An offering as a guest sees it, marked when it matches the guest's interests."""

    offering: Offering
    recommended: bool

    def __getattr__(self, name: str) -> Any:
        return getattr(self.offering, name)


def browse(*, hotel_id: int, guest: Any | None, filters: BrowseFilters, cursor: str | None, limit: int) -> Page:
    """Experiences near a hotel, filtered; with a guest who allows profiling, those matching their interests are
    marked `recommended` (and `recommended=true` keeps only those)."""
    hotel = hotels_services.get_hotel(hotel_id=hotel_id)
    interests = guest_interests(guest) if guest is not None else set()
    stmt = _apply(_available_near(hotel), hotel, filters, interests)
    page = paginate(stmt, keys=[Offering.id], cursor=cursor, limit=limit)
    marked = [Experience(item, bool(interests & set(item.tags))) for item in page.items]
    return Page(marked, page.next_cursor)


def public_offering(offering_id: int) -> Offering:
    """An offering a guest may see and book (active, of an active partner)."""
    offering = db.session.get(Offering, offering_id)
    if offering is None or not offering.is_active or not offering.partner.is_active:
        raise NotFound("No such experience.")
    return offering


def get_experience(*, offering_id: int) -> Offering:
    return public_offering(offering_id)


def list_open_slots(*, offering_id: int, starts_from: datetime | None = None, cursor: str | None, limit: int) -> Page:
    """Future open slots of an experience (full ones included, with 0 places left)."""
    offering = public_offering(offering_id)
    after = max(starts_from or clock.now(), clock.now())
    stmt = select(ExperienceSlot).where(ExperienceSlot.offering_id == offering.id, ExperienceSlot.starts_at > after,
                                        ExperienceSlot.status == SlotStatus.OPEN.value)
    return paginate(stmt, keys=[ExperienceSlot.starts_at, ExperienceSlot.id], cursor=cursor, limit=limit)
