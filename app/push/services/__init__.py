"""Push use cases, split by what they manage: devices, the inbox and transactional feed, segments, campaigns,
campaign automation, and the outbox's sending transactions."""

from app.push.services.automation import (
    finish_campaigns,
    propose_low_season_campaigns,
    queue_birthday_offers,
    queue_campaign_chunk,
    start_due_campaigns,
)
from app.push.services.campaigns import (
    campaign_stats,
    cancel_campaign,
    create_campaign,
    get_campaign,
    get_hotel_settings,
    list_campaigns,
    list_suggestions,
    replace_hotel_settings,
    schedule_campaign,
)
from app.push.services.devices import list_devices, prune_stale_devices, register_device, remove_device
from app.push.services.inbox import (
    get_settings,
    list_inbox,
    mark_opened,
    queue_checkout_reminders,
    queue_event_notifications,
    replace_settings,
)
from app.push.services.segments import create_segment, get_segment, list_segments, preview_segment
from app.push.services.sending import claim_batch, expire_stale_claims, record_results

__all__ = [
    "campaign_stats", "cancel_campaign", "claim_batch", "create_campaign", "create_segment", "expire_stale_claims",
    "finish_campaigns", "get_campaign", "get_hotel_settings", "get_segment", "get_settings", "list_campaigns",
    "list_devices", "list_inbox", "list_segments", "list_suggestions", "mark_opened", "preview_segment",
    "propose_low_season_campaigns", "prune_stale_devices", "queue_birthday_offers", "queue_campaign_chunk",
    "queue_checkout_reminders", "queue_event_notifications", "record_results", "register_device", "remove_device",
    "replace_hotel_settings", "replace_settings", "schedule_campaign", "start_due_campaigns",
]
