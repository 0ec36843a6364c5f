"""Rooms (occupancy, DND, devices and their faults) and today's excursion bookings per partner."""

from __future__ import annotations

from typing import Any

from flask import g, render_template, request

from app.console import access, pages
from app.console.blueprint import blp


def _chosen_hotel(hotels: list[Any]) -> Any:
    """The hotel picked in ?hotel_id= if it is one of mine, else my first (None when I have none)."""
    raw = request.args.get("hotel_id", "")
    for hotel in hotels:
        if raw == str(hotel.id):
            return hotel
    return hotels[0] if hotels else None


@blp.route("/rooms")
@access.login_required(*pages.ROOM_ROLES)
def rooms() -> str:
    hotels = pages.my_hotels(g.staff)
    hotel = _chosen_hotel(hotels)
    data = pages.rooms(g.staff, hotel.id) if hotel else {"rooms": [], "alerts": [], "bridge_down": False}
    return render_template("console/rooms.html", hotels=hotels, hotel=hotel, **data)


@blp.route("/partners")
@access.login_required(*pages.PARTNER_DESK_ROLES)
def partners() -> str:
    hotels = pages.my_hotels(g.staff)
    hotel = _chosen_hotel(hotels)
    groups = pages.partner_day(g.staff, hotel.id) if hotel else []
    return render_template("console/partners.html", hotels=hotels, hotel=hotel, groups=groups)
