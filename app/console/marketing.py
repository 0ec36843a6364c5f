"""The marketing desk's forms and pictures: segment and campaign forms read into the push API's schemas, the
season calendar as bars over the year, and campaign results as an inline SVG chart."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.console import forms
from app.core.schemas import LANGUAGES
from app.push.schemas import CampaignCreateSchema, SegmentCreateSchema, SegmentFiltersSchema

SEASON_KINDS = ("high", "shoulder", "low")
_LEAP_YEAR = 2000  # day cells are laid out on a leap year, so that 29 February has its place


# -- forms -------------------------------------------------------------------------------------------------------

def segment_form(form: Any) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The segment form as SegmentCreateSchema data: (data, {}) or (None, errors)."""
    filters: dict[str, Any] = {
        "languages": [lang for lang in form.getlist("languages") if lang],
        "countries": [code.upper() for code in forms.split_list(forms.text(form, "countries"))],
        "cities": forms.split_list(forms.text(form, "cities")),
        "stayed_in_season": forms.text(form, "stayed_in_season"),
    }
    for name in ("past_guest", "marketing_consent", "has_live_token"):
        choice = form.get(name)
        if choice in ("yes", "no"):
            filters[name] = choice == "yes"
    birthday = forms.text(form, "birthday_within_days")
    if birthday:
        filters["birthday_within_days"] = int(birthday) if birthday.isdigit() and len(birthday) < 6 else birthday
    filters = {key: value for key, value in filters.items() if value not in ("", [], None)}
    _, filter_errors = forms.load(SegmentFiltersSchema(), filters)
    data, errors = forms.load(SegmentCreateSchema(), {
        "hotel_id": forms.id_value(form.get("hotel_id")), "name": forms.text(form, "name")})
    errors = {**errors, **({"filters": filter_errors} if filter_errors else {})}
    if errors:
        return None, errors
    return {**data, "filters": filters}, {}


def campaign_form(form: Any, *, time_zone: str | None) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The composer as CampaignCreateSchema data; send_at is typed in the hotel's local time."""
    texts = {kind: {lang: value for lang in LANGUAGES if (value := forms.text(form, f"{kind}_{lang}"))}
             for kind in ("title", "body")}
    send_at, send_at_error = local_time(forms.text(form, "send_at"), time_zone)
    data, errors = forms.load(CampaignCreateSchema(), {
        "segment_id": forms.id_value(form.get("segment_id")), "name": forms.text(form, "name"),
        "title": texts["title"] or None, "body": texts["body"] or None,
        "deep_link": forms.text(form, "deep_link"), "send_at": send_at})
    if send_at_error:
        errors = {**errors, "send_at": [send_at_error]}
    return (None, errors) if errors else (data, {})


def local_time(raw: str, time_zone: str | None) -> tuple[str | None, str | None]:
    """An <input type=datetime-local> value in the hotel's zone as an aware ISO string: (value, error)."""
    if not raw:
        return None, None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None, "Not a date and time."
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(time_zone or "UTC"))
    return moment.isoformat(), None


# -- season calendar ---------------------------------------------------------------------------------------------

def season_bars(seasons: list[Any]) -> list[dict[str, Any]]:
    """Runs of days of one kind across the year, as {start, days, kind, label} (day 0 = 1 January)."""
    runs: list[dict[str, Any]] = []
    first = date(_LEAP_YEAR, 1, 1)
    for offset in range(366):
        day = first + timedelta(days=offset)
        season = next((s for s in seasons if s.covers(day)), None)
        kind = season.kind if season else "shoulder"
        if runs and runs[-1]["kind"] == kind and runs[-1]["season"] is season:
            runs[-1]["days"] += 1
        else:
            runs.append({"start": offset, "days": 1, "kind": kind, "season": season,
                         "from": day.strftime("%d.%m")})
    for run in runs:
        run["until"] = (first + timedelta(days=run["start"] + run["days"] - 1)).strftime("%d.%m")
    return runs


# -- results chart -----------------------------------------------------------------------------------------------

SERIES = (("sent", "#2b6cb0"), ("opened", "#2f855a"), ("bookings", "#c05621"))


def results_chart(points: list[dict[str, Any]], *, width: int = 640, height: int = 220) -> dict[str, Any]:
    """Grouped bars per day for sends, opens and bookings, as shapes for the template's inline SVG."""
    left, bottom, top = 40, 30, 10
    peak = max([1, *(point[key] for point in points for key, _ in SERIES)])
    plot_height = height - bottom - top
    slot = (width - left) / max(1, len(points))
    bar = max(2.0, min(24.0, slot / (len(SERIES) + 1)))
    bars, labels = [], []
    for index, point in enumerate(points):
        x0 = left + index * slot + (slot - bar * len(SERIES)) / 2
        for series_index, (key, colour) in enumerate(SERIES):
            value = point[key]
            bar_height = plot_height * value / peak
            bars.append({"x": round(x0 + series_index * bar, 1), "y": round(top + plot_height - bar_height, 1),
                         "w": round(bar - 1, 1), "h": round(bar_height, 1), "colour": colour, "key": key,
                         "value": value, "day": point["day"].isoformat()})
        labels.append({"x": round(left + index * slot + slot / 2, 1), "text": point["day"].strftime("%d.%m")})
    ticks = [{"y": round(top + plot_height - plot_height * value / peak, 1), "value": value}
             for value in sorted({0, peak // 2, peak})]
    return {"width": width, "height": height, "bars": bars, "labels": labels, "ticks": ticks, "left": left,
            "baseline": top + plot_height, "series": SERIES}
