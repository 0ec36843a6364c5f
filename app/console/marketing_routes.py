"""The marketing desk: segments with their live size, the campaign composer, scheduling, results, season calendars."""

from __future__ import annotations

from flask import Response, flash, g, redirect, render_template, request, url_for

from app.console import access, forms, pages
from app.console import marketing as shapes
from app.console.blueprint import blp
from app.console.texts import t
from app.core.db import unit_of_work
from app.core.errors import DomainError, NotFound
from app.hotels import services as hotels_services
from app.push import services as push_services
from app.push.schemas import CampaignScheduleSchema
from app.push.services.results import campaign_timeline

marketer = access.login_required(*pages.MARKETING_ROLES)
LIST_LIMIT = 50


@blp.route("/marketing")
@marketer
def marketing() -> str:
    segments = push_services.list_segments(staff=g.staff, cursor=None, limit=LIST_LIMIT).items
    sizes = {segment.id: push_services.preview_segment(staff=g.staff, segment_id=segment.id)["size"]
             for segment in segments}
    campaigns = push_services.list_campaigns(staff=g.staff, cursor=None, limit=LIST_LIMIT).items
    hotels = pages.my_hotels(g.staff)
    return render_template("console/marketing.html", segments=segments, sizes=sizes, campaigns=campaigns,
                           hotel_names=pages.hotel_names(hotels))


@blp.route("/marketing/segments/new", methods=["GET", "POST"])
@marketer
def new_segment() -> Response | str | tuple[str, int]:
    hotels = pages.my_hotels(g.staff)
    if request.method == "GET":
        return render_template("console/segment_form.html", hotels=hotels, form=request.form, errors=[])
    data, errors = shapes.segment_form(request.form)
    if data is not None:
        try:
            return forms.submit_once(lambda: redirect(url_for(
                "console.segment", segment_id=push_services.create_segment(staff=g.staff, **data).id), code=303))
        except DomainError as error:
            errors = {"": [error.detail]}
    return render_template("console/segment_form.html", hotels=hotels, form=request.form,
                           errors=forms.flatten_errors(errors)), 422


@blp.route("/marketing/segments/<int:segment_id>")
@marketer
def segment(segment_id: int) -> str:
    found = push_services.get_segment(staff=g.staff, segment_id=segment_id)
    preview = push_services.preview_segment(staff=g.staff, segment_id=segment_id)
    return render_template("console/segment.html", segment=found, preview=preview,
                           hotel_names=pages.hotel_names(pages.my_hotels(g.staff)))


@blp.route("/marketing/campaigns/new", methods=["GET", "POST"])
@marketer
def new_campaign() -> Response | str | tuple[str, int]:
    segments = push_services.list_segments(staff=g.staff, cursor=None, limit=LIST_LIMIT).items
    form = request.form if request.method == "POST" else {"segment_id": request.args.get("segment_id", "")}
    if request.method == "GET":
        return render_template("console/campaign_form.html", segments=segments, form=form, errors=[], preview=None)
    chosen = next((s for s in segments if str(s.id) == request.form.get("segment_id")), None)
    zone = hotels_services.get_hotel(hotel_id=chosen.hotel_id).time_zone if chosen else None
    data, errors = shapes.campaign_form(request.form, time_zone=zone)
    if data is not None and request.form.get("intent") != "preview":
        try:
            return forms.submit_once(lambda: redirect(url_for(
                "console.campaign", campaign_id=push_services.create_campaign(staff=g.staff, **data).id), code=303))
        except DomainError as error:
            errors = {"": [error.detail]}
    status = 422 if errors else 200
    return render_template("console/campaign_form.html", segments=segments, form=request.form,
                           errors=forms.flatten_errors(errors), preview=data), status


@blp.route("/marketing/campaigns/<int:campaign_id>")
@marketer
def campaign(campaign_id: int) -> str:
    found = push_services.get_campaign(staff=g.staff, campaign_id=campaign_id)
    stats = push_services.campaign_stats(staff=g.staff, campaign_id=campaign_id)
    points = campaign_timeline(staff=g.staff, campaign_id=campaign_id)
    hotel = hotels_services.get_hotel(hotel_id=found.hotel_id)
    return render_template("console/campaign.html", campaign=found, stats=stats, points=points, hotel=hotel,
                           chart=shapes.results_chart(points) if points else None)


@blp.route("/marketing/campaigns/<int:campaign_id>/schedule", methods=["POST"])
@marketer
def schedule_campaign(campaign_id: int) -> Response:
    found = push_services.get_campaign(staff=g.staff, campaign_id=campaign_id)
    zone = hotels_services.get_hotel(hotel_id=found.hotel_id).time_zone
    send_at, problem = shapes.local_time(forms.text(request.form, "send_at"), zone)
    data, errors = forms.load(CampaignScheduleSchema(), {"send_at": send_at})
    if problem or errors:
        flash(problem or " ".join(forms.flatten_errors(errors)), "error")
    else:
        try:
            with unit_of_work():
                push_services.schedule_campaign(staff=g.staff, campaign_id=campaign_id, **data)
            flash(t("schedule") + " ✓", "ok")
        except NotFound:
            raise  # another hotel's (or no) resource: the 404 page, as for a GET
        except DomainError as error:
            flash(error.detail, "error")
    return redirect(url_for("console.campaign", campaign_id=campaign_id), code=303)


@blp.route("/marketing/campaigns/<int:campaign_id>/cancel", methods=["POST"])
@marketer
def cancel_campaign(campaign_id: int) -> Response:
    try:
        with unit_of_work():
            push_services.cancel_campaign(staff=g.staff, campaign_id=campaign_id)
        flash(t("cancel_campaign") + " ✓", "ok")
    except NotFound:
        raise  # another hotel's (or no) resource: the 404 page, as for a GET
    except DomainError as error:
        flash(error.detail, "error")
    return redirect(url_for("console.campaign", campaign_id=campaign_id), code=303)


@blp.route("/marketing/seasons")
@marketer
def seasons() -> str:
    calendars = [{"hotel": hotel, "bars": shapes.season_bars(hotels_services.season_calendar(hotel_id=hotel.id))}
                 for hotel in pages.my_hotels(g.staff)]
    return render_template("console/seasons.html", calendars=calendars, kinds=shapes.SEASON_KINDS)
