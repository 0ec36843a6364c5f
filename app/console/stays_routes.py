"""The front desk's day in the browser: arrivals, who is in the house, departures; check-in and checkout.

The pages call the same services as `/api/v1/staff/stays` (and are audited the same way): the console holds no
rules of its own.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.bookings import services as bookings
from app.bookings.schemas import CheckoutSchema
from app.console import access, forms, pages
from app.console.blueprint import blp
from app.console.texts import t
from app.core.auth import DESK_ROLES
from app.core.db import unit_of_work
from app.core.errors import DomainError, NotFound


@blp.route("/stays")
@access.login_required(*pages.STAY_ROLES)
def stays() -> str:
    hotels = pages.my_hotels(g.staff)
    hotel = pages.chosen_hotel(hotels, request.args.get("hotel_id"))
    kind = request.args.get("list")
    kind = kind if kind in {list_kind.value for list_kind in bookings.DeskList} else bookings.DeskList.ARRIVALS.value
    data = {"day": None, "entries": [], "more": False}
    if hotel is not None:
        with unit_of_work():  # the read is audited
            data = pages.desk_day(g.staff, hotel.id, kind)
    return render_template("console/stays.html", hotels=hotels, hotel=hotel, kind=kind,
                           kinds=[list_kind.value for list_kind in bookings.DeskList],
                           may_act=access.may(g.staff, DESK_ROLES), **data)


@blp.route("/stays/<int:stay_id>")
@access.login_required(*pages.STAY_ROLES)
def stay(stay_id: int) -> str:
    with unit_of_work():  # the read is audited
        seen = bookings.desk_stay(staff=g.staff, booking_id=stay_id)
    return render_template("console/stay.html", stay=seen, may_act=access.may(g.staff, DESK_ROLES))


@blp.route("/stays/<int:stay_id>/actions/<action>", methods=["POST"])
@access.login_required(*DESK_ROLES)
def stay_action(stay_id: int, action: str) -> Response:
    """The Check in button of a list row, and the Check out button of a stay's page."""
    if action not in ("check-in", "checkout"):
        abort(404)
    back = access.safe_next(request.form.get("next"), url_for("console.stay", stay_id=stay_id))
    data, errors = {}, {}
    if action == "checkout":
        data, errors = forms.load(CheckoutSchema(), {"confirmed_balance": forms.text(request.form,
                                                                                     "confirmed_balance")})
    if errors:
        flash(" ".join(forms.flatten_errors(errors)), "error")
        return redirect(back, code=303)
    try:
        with unit_of_work():
            if action == "check-in":
                booking = bookings.desk_check_in(staff=g.staff, booking_id=stay_id)
                flash(f"{booking.reference}: {t('checked_in')} · {t('room')} {booking.room.number}", "ok")
            else:
                result = bookings.desk_checkout(staff=g.staff, booking_id=stay_id, **data)
                flash(f"{result.stay.reference}: {t('checked_out')}", "ok")
    except NotFound:
        raise  # another hotel's (or no) booking: the 404 page, as for a GET
    except DomainError as error:
        flash(error.detail, "error")
    return redirect(back, code=303)
