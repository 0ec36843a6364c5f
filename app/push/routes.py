"""Guests' devices, notification settings and inbox (/me), and the marketing desk (/marketing, marketers only)."""

from flask.views import MethodView
from flask_smorest import Blueprint

from app.core.auth import Role, current_guest_id, current_staff, guest_required, staff_required
from app.core.db import unit_of_work
from app.core.idempotency import idempotent
from app.core.pagination import CursorArgsSchema, page_schema
from app.push import services
from app.push.schemas import (
    CampaignCreateSchema,
    CampaignQueryArgsSchema,
    CampaignScheduleSchema,
    CampaignSchema,
    CampaignStatsSchema,
    HotelMarketingSettingsSchema,
    InboxArgsSchema,
    InboxItemSchema,
    NotificationSettingsSchema,
    PushDeviceCreateSchema,
    PushDeviceSchema,
    SegmentCreateSchema,
    SegmentPreviewSchema,
    SegmentSchema,
)

me_blp = Blueprint("me-push", __name__, description="The guest's devices, notification settings and inbox")
marketing_blp = Blueprint("marketing", __name__, description="Segments and campaigns (marketers)")
marketer = staff_required(Role.MARKETER)


class StrictCursorArgsSchema(CursorArgsSchema):
    class Meta:
        unknown = "raise"


# -- /me ---------------------------------------------------------------------------------------------------------

@me_blp.route("/devices")
class Devices(MethodView):
    @guest_required
    @me_blp.response(200, PushDeviceSchema(many=True))
    def get(self):
        """List my registered devices."""
        return services.list_devices(guest_id=current_guest_id())

    @guest_required
    @me_blp.arguments(PushDeviceCreateSchema)
    @me_blp.response(201, PushDeviceSchema)
    def post(self, data: dict):
        """Register this device's FCM token (again at each app start: it refreshes last seen)."""
        with unit_of_work():
            return services.register_device(guest_id=current_guest_id(), **data)


@me_blp.route("/devices/<int:device_id>")
class DeviceById(MethodView):
    @guest_required
    @me_blp.response(204)
    def delete(self, device_id: int):
        """Forget a device (no more pushes to it)."""
        with unit_of_work():
            services.remove_device(guest_id=current_guest_id(), device_id=device_id)


@me_blp.route("/notification-settings")
class NotificationSettings(MethodView):
    @guest_required
    @me_blp.response(200, NotificationSettingsSchema)
    def get(self):
        """Show which transactional pushes I get."""
        return services.get_settings(guest_id=current_guest_id())

    @guest_required
    @me_blp.arguments(NotificationSettingsSchema)
    @me_blp.response(200, NotificationSettingsSchema)
    def put(self, data: dict):
        """Choose which transactional pushes I get (offers follow my marketing consent)."""
        with unit_of_work():
            return services.replace_settings(guest_id=current_guest_id(), settings=data)


@me_blp.route("/inbox")
class Inbox(MethodView):
    @guest_required
    @me_blp.arguments(InboxArgsSchema, location="query")
    @me_blp.response(200, page_schema(InboxItemSchema))
    def get(self, args: dict):
        """List my notifications and offers, newest first."""
        return services.list_inbox(guest_id=current_guest_id(), **args)


@me_blp.route("/inbox/<int:notification_id>/actions/open")
class OpenInboxItem(MethodView):
    @guest_required
    @me_blp.response(200, InboxItemSchema)
    def post(self, notification_id: int):
        """Report that I opened a notification (from the push or the inbox)."""
        with unit_of_work():
            return services.mark_opened(guest_id=current_guest_id(), notification_id=notification_id)


# -- /marketing --------------------------------------------------------------------------------------------------

@marketing_blp.route("/segments")
class Segments(MethodView):
    @marketer
    @marketing_blp.arguments(StrictCursorArgsSchema, location="query")
    @marketing_blp.response(200, page_schema(SegmentSchema))
    def get(self, args: dict):
        """List the segments of my hotels."""
        return services.list_segments(staff=current_staff(), **args)

    @marketer
    @idempotent
    @marketing_blp.arguments(SegmentCreateSchema)
    @marketing_blp.response(201, SegmentSchema)
    def post(self, data: dict):
        """Save a segment: composable filters over one of my hotels' guests."""
        with unit_of_work():
            return services.create_segment(staff=current_staff(), **data)


@marketing_blp.route("/segments/<int:segment_id>")
class SegmentById(MethodView):
    @marketer
    @marketing_blp.response(200, SegmentSchema)
    def get(self, segment_id: int):
        """Show a segment."""
        return services.get_segment(staff=current_staff(), segment_id=segment_id)


@marketing_blp.route("/segments/<int:segment_id>/preview")
class SegmentPreview(MethodView):
    @marketer
    @marketing_blp.response(200, SegmentPreviewSchema)
    def post(self, segment_id: int):
        """Count the segment's guests now and show a sample (no contact data)."""
        return services.preview_segment(staff=current_staff(), segment_id=segment_id)


@marketing_blp.route("/campaigns")
class Campaigns(MethodView):
    @marketer
    @marketing_blp.arguments(CampaignQueryArgsSchema, location="query")
    @marketing_blp.response(200, page_schema(CampaignSchema))
    def get(self, args: dict):
        """List my hotels' campaigns, newest first."""
        return services.list_campaigns(staff=current_staff(), **args)

    @marketer
    @idempotent
    @marketing_blp.arguments(CampaignCreateSchema)
    @marketing_blp.response(201, CampaignSchema)
    def post(self, data: dict):
        """Create a draft campaign: texts per language, deep link, segment, once, recurring or on birthdays."""
        with unit_of_work():
            return services.create_campaign(staff=current_staff(), **data)


@marketing_blp.route("/campaigns/<int:campaign_id>")
class CampaignById(MethodView):
    @marketer
    @marketing_blp.response(200, CampaignSchema)
    def get(self, campaign_id: int):
        """Show a campaign."""
        return services.get_campaign(staff=current_staff(), campaign_id=campaign_id)


@marketing_blp.route("/campaigns/<int:campaign_id>/actions/schedule")
class ScheduleCampaign(MethodView):
    @marketer
    @idempotent
    @marketing_blp.arguments(CampaignScheduleSchema)
    @marketing_blp.response(200, CampaignSchema)
    def post(self, data: dict, campaign_id: int):
        """Schedule a draft campaign (now, or at send_at)."""
        with unit_of_work():
            return services.schedule_campaign(staff=current_staff(), campaign_id=campaign_id, **data)


@marketing_blp.route("/campaigns/<int:campaign_id>/actions/cancel")
class CancelCampaign(MethodView):
    @marketer
    @marketing_blp.response(200, CampaignSchema)
    def post(self, campaign_id: int):
        """Cancel a campaign that has not finished; pushes not yet sent are dropped."""
        with unit_of_work():
            return services.cancel_campaign(staff=current_staff(), campaign_id=campaign_id)


@marketing_blp.route("/campaigns/<int:campaign_id>/stats")
class CampaignStats(MethodView):
    @marketer
    @marketing_blp.response(200, CampaignStatsSchema)
    def get(self, campaign_id: int):
        """Show a campaign's figures: targeted, sent, failed, invalid tokens, opened, bookings within 7 days."""
        return services.campaign_stats(staff=current_staff(), campaign_id=campaign_id)


@marketing_blp.route("/suggestions")
class Suggestions(MethodView):
    @marketer
    @marketing_blp.arguments(StrictCursorArgsSchema, location="query")
    @marketing_blp.response(200, page_schema(CampaignSchema))
    def get(self, args: dict):
        """List low-season campaigns proposed for my hotels (draft: schedule one to send it)."""
        return services.list_suggestions(staff=current_staff(), **args)


@marketing_blp.route("/hotels/<int:hotel_id>/settings")
class HotelSettings(MethodView):
    @marketer
    @marketing_blp.response(200, HotelMarketingSettingsSchema)
    def get(self, hotel_id: int):
        """Show a hotel's marketing automation settings."""
        return services.get_hotel_settings(staff=current_staff(), hotel_id=hotel_id)

    @marketer
    @marketing_blp.arguments(HotelMarketingSettingsSchema)
    @marketing_blp.response(200, HotelMarketingSettingsSchema)
    def put(self, data: dict, hotel_id: int):
        """Opt a hotel in or out of creating low-season campaigns itself, and choose how many weeks ahead."""
        with unit_of_work():
            return services.replace_hotel_settings(staff=current_staff(), hotel_id=hotel_id, **data)
