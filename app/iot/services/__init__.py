"""IoT use cases, split by what they manage: the registry, commands, scenes, and what the bridge stores."""

from app.iot.services.commands import (
    CommandToPublish,
    block_key,
    guest_command,
    guest_command_status,
    guest_devices,
    guest_unlock,
    issue,
    staff_command,
    staff_command_status,
    unblock_key,
)
from app.iot.services.ingest import (
    Report,
    bridge_stopped,
    claim_due_commands,
    expire_overdue,
    heartbeat,
    last_event_id,
    mark_refused,
    mark_sent,
    mark_sent_many,
    record_answers_at_once,
    record_availability,
    record_reports,
    record_response,
    record_state,
    record_states_at_once,
    room_aggregate,
    room_aggregates,
    rooms_touched_after,
)
from app.iot.services.registry import (
    all_devices,
    bridge_alive,
    discovery_configs,
    hotel_devices,
    list_room_devices,
    register_demo_devices,
    register_device,
    remove_device,
    room_devices,
    views,
)
from app.iot.services.rooms import staff_rooms
from app.iot.services.scenes import apply_scene, guest_scene, on_checked_in, on_checked_out, on_dnd_changed

__all__ = [
    "CommandToPublish", "Report", "all_devices", "apply_scene", "block_key", "bridge_alive", "bridge_stopped",
    "claim_due_commands", "discovery_configs", "expire_overdue", "guest_command", "guest_command_status",
    "guest_devices", "guest_scene", "guest_unlock", "heartbeat", "hotel_devices", "issue", "last_event_id",
    "list_room_devices", "mark_refused", "mark_sent", "mark_sent_many", "on_checked_in", "on_checked_out",
    "on_dnd_changed", "record_answers_at_once", "record_availability", "record_reports", "record_response",
    "record_state", "record_states_at_once", "register_demo_devices",
    "register_device", "remove_device", "room_aggregate", "room_aggregates", "room_devices", "rooms_touched_after",
    "staff_command", "staff_command_status", "staff_rooms", "unblock_key", "views",
]
