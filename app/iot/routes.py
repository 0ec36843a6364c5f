"""The room from the guest's app, the staff's room view and commands, and the device registry (admin)."""

from flask.views import MethodView
from flask_smorest import Blueprint

from app.core.auth import (
    MANAGERS,
    Role,
    current_guest,
    current_guest_principal,
    current_staff,
    guest_required,
    staff_required,
)
from app.core.db import unit_of_work
from app.core.idempotency import idempotent
from app.iot import services
from app.iot.schemas import (
    CommandCreateSchema,
    CommandSchema,
    DeviceAdminSchema,
    DeviceCreateSchema,
    DeviceSchema,
    KeyBlockSchema,
    SceneResultSchema,
    StaffRoomsArgsSchema,
    StaffRoomSchema,
)

room_blp = Blueprint("room", __name__, description="The guest's room: devices, commands, scenes, the door")
staff_blp = Blueprint("staff-rooms", __name__, description="Rooms of my hotel: devices and commands")
admin_blp = Blueprint("admin-devices", __name__, description="The device registry of each room")

ROOM_STAFF = (Role.FRONT_DESK, Role.HOUSEKEEPING, Role.MAINTENANCE, Role.CONCIERGE, *MANAGERS)
KEY_STAFF = (Role.FRONT_DESK, *MANAGERS)


# -- /stays/{id}/room (guest) ------------------------------------------------------------------------------------

@room_blp.route("/<int:stay_id>/room/devices")
class RoomDevices(MethodView):
    @guest_required
    @room_blp.response(200, DeviceSchema(many=True))
    def get(self, stay_id: int):
        """List the devices of my room with their last state (during my stay)."""
        return services.views(services.guest_devices(guest=current_guest(), stay_id=stay_id))


@room_blp.route("/<int:stay_id>/room/commands")
class RoomCommands(MethodView):
    @guest_required
    @idempotent
    @room_blp.arguments(CommandCreateSchema)
    @room_blp.response(201, CommandSchema)
    def post(self, data: dict, stay_id: int):
        """Send a command to a device of my room; follow it at the returned command's URL."""
        with unit_of_work():
            # The principal, not the profile: the command needs the guest's id (and audit kind), not their row.
            return services.guest_command(guest=current_guest_principal(), stay_id=stay_id, **data)


@room_blp.route("/<int:stay_id>/room/commands/<int:command_id>")
class RoomCommandById(MethodView):
    @guest_required
    @room_blp.response(200, CommandSchema)
    def get(self, stay_id: int, command_id: int):
        """Show a command of my stay: pending, sent, acknowledged, failed or expired."""
        return services.guest_command_status(guest=current_guest(), stay_id=stay_id, command_id=command_id)


@room_blp.route("/<int:stay_id>/room/scenes/<scene>")
class RoomScene(MethodView):
    @guest_required
    @idempotent
    @room_blp.response(201, SceneResultSchema)
    def post(self, stay_id: int, scene: str):
        """Apply a scene to my room: welcome, sleep, away or checkout."""
        with unit_of_work():
            commands = services.guest_scene(guest=current_guest(), stay_id=stay_id, scene=scene)
            return {"scene": scene, "commands": commands}


@room_blp.route("/<int:stay_id>/room/unlock")
class RoomUnlock(MethodView):
    @guest_required
    @idempotent
    @room_blp.response(201, CommandSchema)
    def post(self, stay_id: int):
        """Open the door of my room (the command expires within seconds if the lock cannot be reached)."""
        with unit_of_work():
            return services.guest_unlock(guest=current_guest(), stay_id=stay_id)


# -- /staff/rooms ------------------------------------------------------------------------------------------------

@staff_blp.route("/rooms")
class StaffRooms(MethodView):
    @staff_required(*ROOM_STAFF)
    @staff_blp.arguments(StaffRoomsArgsSchema, location="query")
    @staff_blp.response(200, StaffRoomSchema(many=True))
    def get(self, args: dict):
        """List the rooms of my hotel with occupancy, DND state and devices."""
        return services.staff_rooms(staff=current_staff(), hotel_id=args["hotel_id"])


@staff_blp.route("/rooms/<int:room_id>/devices")
class StaffRoomDevices(MethodView):
    @staff_required(*ROOM_STAFF)
    @staff_blp.response(200, DeviceSchema(many=True))
    def get(self, room_id: int):
        """List the devices of a room of my hotel."""
        return services.list_room_devices(staff=current_staff(), room_id=room_id)


@staff_blp.route("/rooms/<int:room_id>/commands")
class StaffRoomCommands(MethodView):
    @staff_required(*ROOM_STAFF)
    @idempotent
    @staff_blp.arguments(CommandCreateSchema)
    @staff_blp.response(201, CommandSchema)
    def post(self, data: dict, room_id: int):
        """Send a command to a device of a room of my hotel (locks are audited)."""
        with unit_of_work():
            return services.staff_command(staff=current_staff(), room_id=room_id, **data)


@staff_blp.route("/room-commands/<int:command_id>")
class StaffCommandById(MethodView):
    @staff_required(*ROOM_STAFF)
    @staff_blp.response(200, CommandSchema)
    def get(self, command_id: int):
        """Show a command sent to a room of my hotel."""
        return services.staff_command_status(staff=current_staff(), command_id=command_id)


@staff_blp.route("/stays/<int:stay_id>/key-block")
class StaffKeyBlock(MethodView):
    @staff_required(*KEY_STAFF)
    @staff_blp.arguments(KeyBlockSchema)
    @staff_blp.response(204)
    def put(self, data: dict, stay_id: int):
        """Block the digital key of a stay at my hotel: the guest can no longer unlock from the app."""
        with unit_of_work():
            services.block_key(staff=current_staff(), stay_id=stay_id, reason=data["reason"])

    @staff_required(*KEY_STAFF)
    @staff_blp.response(204)
    def delete(self, stay_id: int):
        """Give the stay its digital key back."""
        with unit_of_work():
            services.unblock_key(staff=current_staff(), stay_id=stay_id)


# -- /admin/rooms/{id}/devices -----------------------------------------------------------------------------------

@admin_blp.route("/rooms/<int:room_id>/devices")
class AdminRoomDevices(MethodView):
    @staff_required(*MANAGERS)
    @admin_blp.response(200, DeviceAdminSchema(many=True))
    def get(self, room_id: int):
        """List the devices registered in a room of my hotel, with their topics."""
        return services.list_room_devices(staff=current_staff(), room_id=room_id)

    @staff_required(*MANAGERS)
    @admin_blp.arguments(DeviceCreateSchema)
    @admin_blp.response(201, DeviceAdminSchema)
    def post(self, data: dict, room_id: int):
        """Register a device in a room of my hotel (the bridge announces it to Home Assistant discovery)."""
        with unit_of_work():
            return services.register_device(staff=current_staff(), room_id=room_id, **data)


@admin_blp.route("/devices/<int:device_id>")
class AdminDeviceById(MethodView):
    @staff_required(*MANAGERS)
    @admin_blp.response(204)
    def delete(self, device_id: int):
        """Remove a device from the registry."""
        with unit_of_work():
            services.remove_device(staff=current_staff(), device_id=device_id)
