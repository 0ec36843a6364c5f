"""Rooms (occupancy, DND, devices and their faults) and today's excursion bookings per partner."""

from __future__ import annotations

from flask import g, render_template, request

from app.console import access, pages
from app.console.blueprint import blp


@blp.route("/rooms")
@access.login_required(*pages.ROOM_ROLES)
def rooms() -> str:
    hotels = pages.my_hotels(g.staff)
    hotel = pages.chosen_hotel(hotels, request.args.get("hotel_id"))
    data = pages.rooms(g.staff, hotel.id) if hotel else {"rooms": [], "alerts": [], "bridge_down": False}
    return render_template("console/rooms.html", hotels=hotels, hotel=hotel, **data)


@blp.route("/partners")
@access.login_required(*pages.PARTNER_DESK_ROLES)
def partners() -> str:
    hotels = pages.my_hotels(g.staff)
    hotel = pages.chosen_hotel(hotels, request.args.get("hotel_id"))
    groups = pages.partner_day(g.staff, hotel.id) if hotel else []
    return render_template("console/partners.html", hotels=hotels, hotel=hotel, groups=groups)
