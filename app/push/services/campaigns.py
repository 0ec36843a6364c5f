"""Campaigns as marketers manage them: draft -> scheduled -> sending -> sent, or cancelled; statistics; suggestions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select, update

from app.bookings.models import Booking
from app.core import clock
from app.core.errors import Conflict, NotFound, Unprocessable
from app.core.pagination import Page, paginate
from app.extensions import db
from app.push.models import (
    Campaign,
    CampaignOrigin,
    CampaignStatus,
    CampaignTrigger,
    Delivery,
    DeliveryStatus,
    HotelMarketingSettings,
    Notification,
    PushState,
)
from app.push.services.segments import get_segment

CANCELLABLE = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.SENDING)


def create_campaign(*, staff: Any, segment_id: int, name: str, title: dict[str, str], body: dict[str, str],
                    deep_link: str | None = None, trigger: str = CampaignTrigger.SCHEDULE.value,
                    send_at: datetime | None = None, repeat_every_days: int | None = None,
                    repeat_until: datetime | None = None) -> Campaign:
    """Create a draft campaign for a segment of one of the marketer's hotels."""
    segment = get_segment(staff=staff, segment_id=segment_id)
    if trigger == CampaignTrigger.BIRTHDAY and (send_at or repeat_every_days):
        raise Unprocessable("A birthday campaign runs for each guest's birthday; it has no send time.",
                            code="birthday_has_no_schedule", errors={"trigger": ["No send_at or repeat for it."]})
    campaign = Campaign(
        hotel_id=segment.hotel_id, segment_id=segment.id, name=name, title=title, body=body, deep_link=deep_link,
        trigger=trigger, send_at=send_at, repeat_every_days=repeat_every_days, repeat_until=repeat_until,
        origin=CampaignOrigin.MARKETER.value, status=CampaignStatus.DRAFT.value, created_by_staff_id=staff.id)
    db.session.add(campaign)
    db.session.flush()
    return campaign


def list_campaigns(*, staff: Any, cursor: str | None, limit: int, status: str | None = None,
                   origin: str | None = None) -> Page:
    """Campaigns of the marketer's hotels, newest first."""
    stmt = select(Campaign)
    if not staff.is_chain_wide:
        stmt = stmt.where(Campaign.hotel_id.in_(staff.hotel_ids or {0}))
    if status:
        stmt = stmt.where(Campaign.status == status)
    if origin:
        stmt = stmt.where(Campaign.origin == origin)
    return paginate(stmt, keys=[Campaign.id], cursor=cursor, limit=limit, descending=True)


def get_campaign(*, staff: Any, campaign_id: int) -> Campaign:
    """A campaign of one of the marketer's hotels; any other is not found."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or not staff.can_access_hotel(campaign.hotel_id):
        raise NotFound("No such campaign.")
    return campaign


def schedule_campaign(*, staff: Any, campaign_id: int, send_at: datetime | None = None) -> Campaign:
    """Schedule a draft: it goes out at `send_at` (now when absent); a birthday campaign becomes active."""
    campaign = get_campaign(staff=staff, campaign_id=campaign_id)
    if campaign.status != CampaignStatus.DRAFT:
        raise Conflict(f"Only a draft can be scheduled; this campaign is {campaign.status}.", code="invalid_state")
    if campaign.trigger == CampaignTrigger.SCHEDULE:
        campaign.send_at = send_at or campaign.send_at or clock.now()
    campaign.status = CampaignStatus.SCHEDULED.value
    db.session.flush()
    return campaign


def cancel_campaign(*, staff: Any, campaign_id: int) -> Campaign:
    """Cancel a campaign that has not finished: nothing more is queued, pushes not yet sent are dropped."""
    campaign = get_campaign(staff=staff, campaign_id=campaign_id)
    if campaign.status not in CANCELLABLE:
        raise Conflict(f"A {campaign.status} campaign cannot be cancelled.", code="invalid_state")
    campaign.status = CampaignStatus.CANCELLED.value
    campaign.audience_cursor = None
    db.session.execute(update(Delivery).where(
        Delivery.campaign_id == campaign.id, Delivery.status == DeliveryStatus.PENDING.value,
    ).values(status=DeliveryStatus.CANCELLED.value))
    db.session.execute(update(Notification).where(
        Notification.campaign_id == campaign.id, Notification.push_state == PushState.QUEUED.value,
        ~exists().where(Delivery.notification_id == Notification.id, Delivery.status.in_(
            [DeliveryStatus.SENT.value, DeliveryStatus.SENDING.value])),
    ).values(push_state=PushState.CANCELLED.value))
    db.session.flush()
    return campaign


def campaign_stats(*, staff: Any, campaign_id: int) -> dict[str, Any]:
    """Targeted, pushed, failed, invalid tokens, opened, and bookings made within 7 days of the guest's push."""
    campaign = get_campaign(staff=staff, campaign_id=campaign_id)
    notes = dict(db.session.execute(select(Notification.push_state, func.count()).where(
        Notification.campaign_id == campaign.id).group_by(Notification.push_state)).all())
    deliveries = dict(db.session.execute(select(Delivery.status, func.count()).where(
        Delivery.campaign_id == campaign.id).group_by(Delivery.status)).all())
    opened = db.session.scalar(select(func.count()).where(
        Notification.campaign_id == campaign.id, Notification.opened_at.is_not(None)))
    bookings = db.session.scalar(
        select(func.count(func.distinct(Booking.id))).select_from(Notification).join(Booking, and_(
            Booking.guest_id == Notification.guest_id, Booking.created_at >= Notification.push_after,
            Booking.created_at < Notification.attribution_ends_at))
        .where(Notification.campaign_id == campaign.id)) if notes else 0
    return {
        "campaign_id": campaign.id, "status": campaign.status, "runs": campaign.run_number,
        "targeted": sum(notes.values()), "inbox_only_no_device": notes.get(PushState.NO_DEVICE.value, 0),
        "capped": notes.get(PushState.CAPPED.value, 0),
        "deliveries": sum(deliveries.values()), "sent": deliveries.get(DeliveryStatus.SENT.value, 0),
        "pending": deliveries.get(DeliveryStatus.PENDING.value, 0) + deliveries.get(DeliveryStatus.SENDING.value, 0),
        "failed": deliveries.get(DeliveryStatus.FAILED.value, 0) + deliveries.get(DeliveryStatus.UNKNOWN.value, 0),
        "invalid_tokens": deliveries.get(DeliveryStatus.INVALID_TOKEN.value, 0),
        "opened": opened, "bookings_within_7_days": bookings,
    }


def list_suggestions(*, staff: Any, cursor: str | None, limit: int) -> Page:
    """Low-season campaigns the automation proposed for the marketer's hotels and nobody scheduled yet."""
    return list_campaigns(staff=staff, cursor=cursor, limit=limit, status=CampaignStatus.DRAFT.value,
                          origin=CampaignOrigin.LOW_SEASON.value)


def get_hotel_settings(*, staff: Any, hotel_id: int) -> HotelMarketingSettings:
    """A hotel's marketing automation settings."""
    if not staff.can_access_hotel(hotel_id):
        raise NotFound("No such hotel.")
    return db.session.get(HotelMarketingSettings, hotel_id) or HotelMarketingSettings(
        hotel_id=hotel_id, auto_low_season=False, low_season_weeks_before=None)


def replace_hotel_settings(*, staff: Any, hotel_id: int, auto_low_season: bool,
                           low_season_weeks_before: int | None) -> HotelMarketingSettings:
    """Opt a hotel in or out of creating low-season campaigns itself, and how many weeks ahead."""
    get_hotel_settings(staff=staff, hotel_id=hotel_id)
    row = db.session.get(HotelMarketingSettings, hotel_id)
    if row is None:
        row = HotelMarketingSettings(hotel_id=hotel_id)
        db.session.add(row)
    row.auto_low_season = auto_low_season
    row.low_season_weeks_before = low_season_weeks_before
    db.session.flush()
    return row
