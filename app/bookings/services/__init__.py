"""Bookings use cases, split by what they manage. Other domains use these, never the models' tables directly."""

from app.bookings.services.admin import create_promo_code, create_rate_plan, list_rate_plans, set_pricing_policy
from app.bookings.services.booking import cancel_booking, create_booking, list_bookings, make_quote, modify_booking
from app.bookings.services.desk import DeskList, desk_book, desk_list, desk_quote, desk_stay
from app.bookings.services.folio import guest_folio, open_folio, post_charge
from app.bookings.services.inventory import search as search_availability
from app.bookings.services.pricing import StayRequest
from app.bookings.services.queries import find_booking, guest_bookings
from app.bookings.services.stay_ops import (
    check_in,
    desk_check_in,
    desk_checkout,
    express_checkout,
    private_preferences,
)
from app.bookings.services.stays import (
    current_stay,
    guest_booking,
    guest_stay_in_house,
    guest_stay_in_house_keys,
    occupied_stay_for_room,
    set_guest_room_state,
    set_room_state,
)
from app.bookings.services.survey import guest_survey, submit_survey

__all__ = [
    "DeskList", "StayRequest", "cancel_booking", "check_in", "create_booking", "create_promo_code",
    "create_rate_plan", "current_stay", "desk_book", "desk_check_in", "desk_checkout", "desk_list", "desk_quote",
    "desk_stay", "express_checkout", "find_booking", "guest_booking", "guest_bookings", "guest_folio",
    "guest_stay_in_house", "guest_stay_in_house_keys", "guest_survey", "list_bookings", "list_rate_plans",
    "make_quote", "modify_booking", "occupied_stay_for_room", "open_folio", "post_charge", "private_preferences",
    "search_availability", "set_guest_room_state", "set_pricing_policy", "set_room_state", "submit_survey",
]
