"""Request use cases, split by what they manage: catalogue, creation, lifecycle, alerts and escalation, the queue,
statistics, messages and the guest summary."""

from app.requests.services.alerts import (
    acknowledge_alert,
    escalate_overdue,
    list_recoveries,
    pending_alerts,
    repeat_due_alerts,
    resolve_recovery,
)
from app.requests.services.catalog import create_item, managed_catalog, public_catalog, update_item
from app.requests.services.creation import (
    create_for_guest,
    create_for_staff,
    open_device_repair,
    prepare_room_on_check_in,
)
from app.requests.services.lifecycle import bulk_action, guest_cancel, rate, room_state_changed, staff_action
from app.requests.services.messages import convert_message, guest_post, guest_thread, staff_post, staff_thread
from app.requests.services.queue import (
    guest_requests,
    guest_view,
    history,
    latest_event_id,
    queue_events,
    scope_hotels,
    staff_queue,
    staff_view,
)
from app.requests.services.sla import hotel_targets, replace_targets
from app.requests.services.stats import queue_stats
from app.requests.services.summary import guest_summary

__all__ = [
    "acknowledge_alert", "bulk_action", "convert_message", "create_for_guest", "create_for_staff", "create_item",
    "escalate_overdue", "guest_cancel", "guest_post", "guest_requests", "guest_summary", "guest_thread",
    "guest_view", "history", "hotel_targets", "latest_event_id", "list_recoveries", "managed_catalog",
    "open_device_repair", "pending_alerts", "prepare_room_on_check_in", "public_catalog", "queue_events", "queue_stats",
    "rate", "repeat_due_alerts", "replace_targets", "resolve_recovery", "room_state_changed", "scope_hotels",
    "staff_action", "staff_post", "staff_queue", "staff_thread", "staff_view", "update_item",
]
