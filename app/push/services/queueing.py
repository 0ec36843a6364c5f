"""Turning drafts into notifications (the inbox) and deliveries (the outbox), in the caller's unit of work.

Marketing drafts get the guest's quiet hours (the push waits until they end, in the guest's time zone) and the
frequency cap (over the cap the offer still lands in the inbox, but is not pushed). Transactional drafts go out
at once. A draft whose dedupe key exists already is skipped: a repeated run queues nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from sqlalchemy import func, select

from app.core import clock
from app.extensions import db
from app.guests.models import Guest
from app.push.models import Category, Delivery, Device, Notification, PushState

ATTRIBUTION_DAYS = 7  # a booking within this many days of a push counts for its campaign


@dataclass(frozen=True)
class Draft:
    guest_id: int
    category: str
    dedupe_key: str
    title: dict[str, str]
    body: dict[str, str]
    deep_link: str | None = None
    campaign_id: int | None = None
    event_id: int | None = None


def live_token_cutoff(now: datetime) -> datetime:
    """Devices not seen since then hold tokens FCM has most likely dropped."""
    return now - timedelta(days=current_app.config["PUSH_TOKEN_STALE_DAYS"])


def queue(drafts: Iterable[Draft], *, marketing: bool) -> list[Notification]:
    """Create the notifications and deliveries of `drafts` not queued before; returns the new notifications."""
    drafts = list(drafts)
    if not drafts:
        return []
    now = clock.now()
    known = set(db.session.scalars(
        select(Notification.dedupe_key).where(Notification.dedupe_key.in_([d.dedupe_key for d in drafts]))))
    drafts = [draft for draft in drafts if draft.dedupe_key not in known]
    guest_ids = list({draft.guest_id for draft in drafts})
    devices = _live_devices(guest_ids, now)
    push_after, capped = ({}, set()) if not marketing else (_quiet_hours_end(guest_ids, now), _capped(guest_ids, now))
    made, window = [], timedelta(days=ATTRIBUTION_DAYS)
    for draft in drafts:
        state = PushState.QUEUED
        if draft.guest_id in capped:
            state = PushState.CAPPED
        elif not devices.get(draft.guest_id):
            state = PushState.NO_DEVICE
        made.append(Notification(
            guest_id=draft.guest_id, category=draft.category, dedupe_key=draft.dedupe_key,
            campaign_id=draft.campaign_id, event_id=draft.event_id, title=draft.title, body=draft.body,
            deep_link=draft.deep_link, push_state=state.value, push_after=push_after.get(draft.guest_id, now),
            attribution_ends_at=push_after.get(draft.guest_id, now) + window, created_at=now))
    db.session.add_all(made)
    db.session.flush()
    db.session.add_all([
        Delivery(notification_id=note.id, device_id=device_id, campaign_id=note.campaign_id,
                 next_attempt_at=note.push_after)
        for note in made if note.push_state == PushState.QUEUED for device_id in devices[note.guest_id]
    ])
    db.session.flush()
    return made


def _live_devices(guest_ids: list[int], now: datetime) -> dict[int, list[int]]:
    found: dict[int, list[int]] = defaultdict(list)
    rows = db.session.execute(select(Device.guest_id, Device.id).where(
        Device.guest_id.in_(guest_ids), Device.last_seen_at >= live_token_cutoff(now)).order_by(Device.id))
    for guest_id, device_id in rows:
        found[guest_id].append(device_id)
    return found


def _capped(guest_ids: list[int], now: datetime) -> set[int]:
    """Guests who already have the cap's worth of marketing pushes within the window."""
    config = current_app.config
    since = now - timedelta(days=config["PUSH_MARKETING_CAP_DAYS"])
    rows = db.session.execute(
        select(Notification.guest_id, func.count()).where(
            Notification.guest_id.in_(guest_ids), Notification.category == Category.OFFER.value,
            Notification.push_state == PushState.QUEUED.value, Notification.push_after > since,
        ).group_by(Notification.guest_id))
    return {guest_id for guest_id, count in rows if count >= config["PUSH_MARKETING_CAP"]}


def _quiet_hours_end(guest_ids: list[int], now: datetime) -> dict[int, datetime]:
    """For guests inside their quiet hours now, when those end (UTC); others are absent (push now)."""
    config = current_app.config
    start, end = parse_quiet_hours(config["PUSH_QUIET_HOURS"])
    result = {}
    for guest_id, zone_name in db.session.execute(select(Guest.id, Guest.time_zone).where(Guest.id.in_(guest_ids))):
        ends = quiet_hours_end(now, zone=guest_zone(zone_name, config["PUSH_DEFAULT_TIME_ZONE"]), start=start, end=end)
        if ends is not None:
            result[guest_id] = ends
    return result


def guest_zone(name: str | None, default: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def parse_quiet_hours(spec: str) -> tuple[time, time]:
    """"21:00-09:00" -> (21:00, 09:00); the window may wrap over midnight."""
    first, _, second = spec.partition("-")
    return time.fromisoformat(first.strip()), time.fromisoformat(second.strip())


def quiet_hours_end(now: datetime, *, zone: ZoneInfo, start: time, end: time) -> datetime | None:
    """When the quiet hours around `now` end (UTC), in `zone`'s local time; None when `now` is not quiet."""
    local = now.astimezone(zone)
    here = local.time().replace(tzinfo=None)
    if start == end:
        return None
    if start < end:
        quiet, end_day = start <= here < end, local.date()
    else:  # wraps over midnight: quiet from start to midnight, and from midnight to end
        quiet = here >= start or here < end
        end_day = local.date() + timedelta(days=1) if here >= start else local.date()
    if not quiet:
        return None
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(now.tzinfo)
