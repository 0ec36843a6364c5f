"""What the scheduler does with campaigns: queue due runs chunk by chunk, finish them, birthday offers, low season.

A run's audience is queued in chunks of guest ids, each chunk and the campaign's `audience_cursor` committed
together, so a crash resumes after the last committed chunk; each notification's dedupe key
("campaign:<id>:<run>:<guest>") makes a repeated chunk queue nothing twice.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import exists, func, select

from app.core import clock, events
from app.extensions import db
from app.guests.models import Guest
from app.hotels import services as hotels_services
from app.hotels.models import Hotel, SeasonKind
from app.push.models import (
    Campaign,
    CampaignOrigin,
    CampaignStatus,
    CampaignTrigger,
    Category,
    Delivery,
    DeliveryStatus,
    HotelMarketingSettings,
    Segment,
)
from app.push.services.queueing import Draft, guest_zone, queue
from app.push.services.segments import audience_condition, month_day, stream_audience

CHUNK = 1000


def start_due_campaigns() -> list[int]:
    """Open a run for each scheduled campaign whose time has come; returns the ids of campaigns being queued."""
    now = clock.now()
    for campaign in db.session.scalars(select(Campaign).where(
            Campaign.status == CampaignStatus.SCHEDULED.value, Campaign.trigger == CampaignTrigger.SCHEDULE.value,
            Campaign.send_at <= now).with_for_update()):
        campaign.status = CampaignStatus.SENDING.value
        campaign.run_number += 1
        campaign.audience_cursor = 0
        campaign.last_run_at = now
    db.session.flush()
    return list(db.session.scalars(select(Campaign.id).where(
        Campaign.status == CampaignStatus.SENDING.value, Campaign.audience_cursor.is_not(None))))


def queue_campaign_chunk(*, campaign_id: int) -> bool:
    """Queue the next chunk of the campaign's current run; False once the run is fully queued (or cancelled)."""
    campaign = db.session.get(Campaign, campaign_id, with_for_update=True)
    if campaign is None or campaign.status != CampaignStatus.SENDING or campaign.audience_cursor is None:
        return False
    condition = audience_condition(campaign.segment, marketing=True)
    ids = next(stream_audience(condition, after_id=campaign.audience_cursor, chunk=CHUNK), [])
    if not ids:
        _end_run(campaign)
        return False
    queue([Draft(guest_id=guest_id, category=Category.OFFER.value,
                 dedupe_key=f"campaign:{campaign.id}:{campaign.run_number}:{guest_id}", title=campaign.title,
                 body=campaign.body, deep_link=campaign.deep_link, campaign_id=campaign.id) for guest_id in ids],
          marketing=True)
    campaign.audience_cursor = ids[-1]
    db.session.flush()
    return True


def _end_run(campaign: Campaign) -> None:
    campaign.audience_cursor = None
    if campaign.repeat_every_days and campaign.send_at is not None:
        following = campaign.send_at + timedelta(days=campaign.repeat_every_days)
        while following <= clock.now():  # a scheduler that was down skips the runs it missed
            following += timedelta(days=campaign.repeat_every_days)
        if campaign.repeat_until is None or following <= campaign.repeat_until:
            campaign.send_at = following
            campaign.status = CampaignStatus.SCHEDULED.value
    db.session.flush()


def finish_campaigns() -> int:
    """A fully queued run with nothing left to send is sent (`campaign.sent` is recorded)."""
    in_flight = exists().where(Delivery.campaign_id == Campaign.id, Delivery.status.in_(
        [DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value]))
    done = list(db.session.scalars(select(Campaign).where(
        Campaign.status == CampaignStatus.SENDING.value, Campaign.audience_cursor.is_(None), ~in_flight)))
    for campaign in done:
        campaign.status = CampaignStatus.SENT.value
        events.record("campaign.sent", hotel_id=campaign.hotel_id, subject_id=campaign.id,
                      payload={"run": campaign.run_number})
    db.session.flush()
    return len(done)


# -- birthdays ---------------------------------------------------------------------------------------------------

def queue_birthday_offers() -> int:
    """Each active birthday campaign reaches its guests PUSH_BIRTHDAY_LEAD_DAYS before the birthday, by the date in
    the guest's own time zone; one birthday offer per guest and birthday, whichever campaign comes first."""
    config, now = current_app.config, clock.now()
    default_zone = config["PUSH_DEFAULT_TIME_ZONE"]
    zone_column = func.coalesce(Guest.time_zone, default_zone)
    zones = list(db.session.scalars(select(zone_column).where(Guest.birth_date.is_not(None)).distinct()))
    campaigns = list(db.session.scalars(select(Campaign).where(
        Campaign.trigger == CampaignTrigger.BIRTHDAY.value, Campaign.status == CampaignStatus.SCHEDULED.value)))
    queued = 0
    for campaign in campaigns:
        for zone in zones:
            target = now.astimezone(guest_zone(zone, default_zone)).date() + timedelta(
                days=config["PUSH_BIRTHDAY_LEAD_DAYS"])
            condition = audience_condition(campaign.segment, marketing=True) & (zone_column == zone) & (
                month_day(Guest.birth_date).in_(_birthday_keys(target)))
            for ids in stream_audience(condition, chunk=CHUNK):
                queued += len(queue([Draft(
                    guest_id=guest_id, category=Category.OFFER.value, dedupe_key=f"birthday:{guest_id}:{target.year}",
                    title=campaign.title, body=campaign.body, deep_link=campaign.deep_link, campaign_id=campaign.id,
                ) for guest_id in ids], marketing=True))
    return queued


def _birthday_keys(target: date) -> list[int]:
    """Birthdays celebrated on `target`: its own date, and 29 February on 28 February of a common year."""
    keys = [target.month * 100 + target.day]
    if (target.month, target.day) == (2, 28) and not calendar.isleap(target.year):
        keys.append(229)
    return keys


# -- low season --------------------------------------------------------------------------------------------------

def propose_low_season_campaigns() -> list[int]:
    """For each hotel whose low season starts within its lead time, propose (or, opted in, schedule) a campaign to
    its former guests, once per low season. Returns the ids of the campaigns made."""
    today, made = clock.now().date(), []
    settings = {row.hotel_id: row for row in db.session.scalars(select(HotelMarketingSettings))}
    for hotel in db.session.scalars(select(Hotel).where(Hotel.is_active.is_(True)).order_by(Hotel.id)):
        choice = settings.get(hotel.id)
        weeks = (choice and choice.low_season_weeks_before) or current_app.config["PUSH_LOW_SEASON_WEEKS"]
        for season in hotels_services.season_calendar(hotel_id=hotel.id):
            start = _next_start(season.start_month, season.start_day, today)
            if season.kind != SeasonKind.LOW or today < start - timedelta(weeks=weeks):
                continue
            campaign = _propose(hotel, start, auto=bool(choice and choice.auto_low_season))
            if campaign is not None:
                made.append(campaign.id)
    return made


def _next_start(month: int, day: int, today: date) -> date:
    for year in (today.year, today.year + 1):
        start = date(year, month, min(day, calendar.monthrange(year, month)[1]))
        if start >= today:
            return start
    raise AssertionError("unreachable: some start within a year")


def _propose(hotel: Hotel, start: date, *, auto: bool) -> Campaign | None:
    key = f"low_season:{hotel.id}:{start.isoformat()}"
    if db.session.scalar(select(Campaign.id).where(Campaign.automation_key == key)) is not None:
        return None
    name_en, name_ru = hotel.name.get("en", ""), hotel.name.get("ru") or hotel.name.get("en", "")
    segment = Segment(hotel_id=hotel.id, name=f"Former guests of {name_en} (low season {start})",
                      filters={"stayed_at_hotel_ids": [hotel.id]})
    db.session.add(segment)
    db.session.flush()
    campaign = Campaign(
        hotel_id=hotel.id, segment_id=segment.id, name=f"Low season {start.year} at {name_en}",
        origin=CampaignOrigin.LOW_SEASON.value, automation_key=key, trigger=CampaignTrigger.SCHEDULE.value,
        title={"en": f"Come back to {name_en}", "ru": f"Возвращайтесь в {name_ru}"},
        body={"en": f"Quiet days and special prices from {start:%d %B}. Book in the app.",
              "ru": f"Тихий сезон и особые цены с {start:%d.%m}. Бронируйте в приложении."},
        deep_link=f"app://hotels/{hotel.id}/book?check_in={start.isoformat()}",
        status=(CampaignStatus.SCHEDULED if auto else CampaignStatus.DRAFT).value,
        send_at=clock.now() if auto else None)  # quiet hours still move each guest's push to their morning
    db.session.add(campaign)
    db.session.flush()
    return campaign
