"""Hotels for guests (read) and for chain administration (write)."""

from flask.views import MethodView
from flask_smorest import Blueprint

from app.core.auth import MANAGERS, Role, current_staff, staff_required
from app.core.db import unit_of_work
from app.core.pagination import page_schema
from app.hotels import services
from app.hotels.schemas import (
    DepartmentListSchema,
    HotelAdminSchema,
    HotelCreateSchema,
    HotelQueryArgsSchema,
    HotelSchema,
    HotelUpdateSchema,
    RoomCreateSchema,
    RoomQueryArgsSchema,
    RoomSchema,
    RoomTypeAdminSchema,
    RoomTypeCreateSchema,
    RoomTypeSchema,
    RoomTypeUpdateSchema,
    RoomUpdateSchema,
    SeasonCalendarAdminSchema,
    SeasonCalendarSchema,
    SeasonSchema,
)

blp = Blueprint("hotels", __name__, description="Hotels of the chain, room types and seasons")
admin_blp = Blueprint("admin-hotels", __name__, description="Chain administration: hotels, room types, rooms")


# -- /hotels (public catalogue) ----------------------------------------------------------------------------------

@blp.route("")
class Hotels(MethodView):
    @blp.arguments(HotelQueryArgsSchema, location="query")
    @blp.response(200, page_schema(HotelSchema))
    def get(self, args: dict):
        """List the chain's hotels, optionally in one city."""
        return services.list_hotels(**args)


@blp.route("/<int:hotel_id>")
class HotelById(MethodView):
    @blp.response(200, HotelSchema)
    def get(self, hotel_id: int):
        """Show a hotel."""
        return services.get_hotel(hotel_id=hotel_id)


@blp.route("/<int:hotel_id>/room-types")
class HotelRoomTypes(MethodView):
    @blp.response(200, RoomTypeSchema(many=True))
    def get(self, hotel_id: int):
        """List a hotel's room types with photos and amenities."""
        return services.list_room_types(hotel_id=hotel_id)


@blp.route("/<int:hotel_id>/seasons")
class HotelSeasons(MethodView):
    @blp.response(200, SeasonSchema(many=True))
    def get(self, hotel_id: int):
        """Show a hotel's season calendar (days outside every period are shoulder season)."""
        return services.season_calendar(hotel_id=hotel_id)


# -- /admin ------------------------------------------------------------------------------------------------------

@admin_blp.route("/hotels")
class AdminHotels(MethodView):
    @staff_required(Role.CHAIN_ADMIN)
    @admin_blp.arguments(HotelCreateSchema)
    @admin_blp.response(201, HotelAdminSchema)
    def post(self, data: dict):
        """Create a hotel with its season calendar."""
        with unit_of_work():
            return services.create_hotel(**data)


@admin_blp.route("/hotels/<int:hotel_id>")
class AdminHotelById(MethodView):
    @staff_required(*MANAGERS)
    @admin_blp.response(200, HotelAdminSchema)
    def get(self, hotel_id: int):
        """Show a hotel I manage, with every translation and its season calendar."""
        return services.get_managed_hotel(staff=current_staff(), hotel_id=hotel_id)

    @staff_required(*MANAGERS)
    @admin_blp.arguments(HotelUpdateSchema)
    @admin_blp.response(200, HotelAdminSchema)
    def patch(self, changes: dict, hotel_id: int):
        """Change some fields of a hotel I manage (code and listing: chain admins only)."""
        with unit_of_work():
            return services.update_hotel(staff=current_staff(), hotel_id=hotel_id, changes=changes)


@admin_blp.route("/hotels/<int:hotel_id>/seasons")
class AdminSeasons(MethodView):
    @staff_required(*MANAGERS)
    @admin_blp.arguments(SeasonCalendarSchema)
    @admin_blp.response(200, SeasonCalendarAdminSchema)
    def put(self, data: dict, hotel_id: int):
        """Replace a hotel's season calendar."""
        with unit_of_work():
            return services.replace_seasons(staff=current_staff(), hotel_id=hotel_id, seasons=data["seasons"])


@admin_blp.route("/hotels/<int:hotel_id>/room-types")
class AdminRoomTypes(MethodView):
    @staff_required(*MANAGERS)
    @admin_blp.response(200, RoomTypeAdminSchema(many=True))
    def get(self, hotel_id: int):
        """List a hotel's room types with every translation."""
        return services.list_managed_room_types(staff=current_staff(), hotel_id=hotel_id)

    @staff_required(*MANAGERS)
    @admin_blp.arguments(RoomTypeCreateSchema)
    @admin_blp.response(201, RoomTypeAdminSchema)
    def post(self, data: dict, hotel_id: int):
        """Add a room type to a hotel."""
        with unit_of_work():
            return services.create_room_type(staff=current_staff(), hotel_id=hotel_id, **data)


@admin_blp.route("/room-types/<int:room_type_id>")
class AdminRoomTypeById(MethodView):
    @staff_required(*MANAGERS)
    @admin_blp.arguments(RoomTypeUpdateSchema)
    @admin_blp.response(200, RoomTypeAdminSchema)
    def patch(self, changes: dict, room_type_id: int):
        """Change some fields of a room type."""
        with unit_of_work():
            return services.update_room_type(staff=current_staff(), room_type_id=room_type_id, changes=changes)


@admin_blp.route("/hotels/<int:hotel_id>/rooms")
class AdminRooms(MethodView):
    @staff_required(*MANAGERS)
    @admin_blp.arguments(RoomQueryArgsSchema, location="query")
    @admin_blp.response(200, page_schema(RoomSchema))
    def get(self, args: dict, hotel_id: int):
        """List a hotel's rooms."""
        return services.list_rooms(staff=current_staff(), hotel_id=hotel_id, **args)

    @staff_required(*MANAGERS)
    @admin_blp.arguments(RoomCreateSchema)
    @admin_blp.response(201, RoomSchema)
    def post(self, data: dict, hotel_id: int):
        """Add a room of one of the hotel's room types."""
        with unit_of_work():
            return services.create_room(staff=current_staff(), hotel_id=hotel_id, **data)


@admin_blp.route("/rooms/<int:room_id>")
class AdminRoomById(MethodView):
    @staff_required(*MANAGERS)
    @admin_blp.arguments(RoomUpdateSchema)
    @admin_blp.response(200, RoomSchema)
    def patch(self, changes: dict, room_id: int):
        """Change some fields of a room."""
        with unit_of_work():
            return services.update_room(staff=current_staff(), room_id=room_id, changes=changes)


@admin_blp.route("/hotels/<int:hotel_id>/departments")
class AdminDepartments(MethodView):
    @staff_required(*MANAGERS)
    @admin_blp.response(200, DepartmentListSchema)
    def get(self, hotel_id: int):
        """List a hotel's departments."""
        return services.list_departments(staff=current_staff(), hotel_id=hotel_id)

    @staff_required(*MANAGERS)
    @admin_blp.arguments(DepartmentListSchema)
    @admin_blp.response(200, DepartmentListSchema)
    def put(self, data: dict, hotel_id: int):
        """Replace a hotel's departments."""
        with unit_of_work():
            return services.replace_departments(staff=current_staff(), hotel_id=hotel_id, **data)
