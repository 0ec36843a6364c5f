"""The live queue: the page, its rows as an HTML fragment, the SSE stream, actions, request detail, guest summary."""

from __future__ import annotations

from flask import Response, abort, flash, g, redirect, render_template, request, url_for

from app.console import access, forms, pages
from app.console.blueprint import blp
from app.console.texts import t
from app.core.auth import GUEST_DATA_ROLES
from app.core.db import unit_of_work
from app.core.errors import DomainError, NotFound
from app.requests import services as requests_services
from app.requests.schemas import AssignSchema, BulkSchema, ReasonSchema
from app.requests.services.lifecycle import QUEUE_ROLES
from app.requests.stream import SESSION_ENDED, STREAMS_BUSY_RETRY_SECONDS, event_stream_response, queue_stream

ACTIONS = ("acknowledge", "assign", "start", "hold", "resume", "complete", "reject")


def _back(default: str) -> str:
    return access.safe_next(request.form.get("next"), default)


@blp.route("/queue")
@access.login_required(*QUEUE_ROLES)
def queue() -> str:
    filters = pages.QueueFilters.from_args(request.args)
    return render_template("console/queue.html", filters=filters, hotels=pages.my_hotels(g.staff),
                           departments=pages.DEPARTMENTS, last_event_id=requests_services.latest_event_id(),
                           stream_retry_ms=STREAMS_BUSY_RETRY_SECONDS * 1000, **pages.queue(g.staff, filters))


@blp.route("/queue/rows")
@access.login_required(*QUEUE_ROLES, when_logged_out=lambda: ("", 401))
def queue_rows() -> str:
    """The queue's rows alone: the page fetches them again whenever the stream reports a change."""
    filters = pages.QueueFilters.from_args(request.args)
    return render_template("console/_queue_rows.html", filters=filters, **pages.queue(g.staff, filters))


def _stream_of_session_ended() -> Response:
    """The page reloads on this frame, and its reload is the navigation that shows the login page and why."""
    return Response(SESSION_ENDED, mimetype="text/event-stream", headers={"Cache-Control": "no-cache"})


@blp.route("/queue/stream")
@access.login_required(*QUEUE_ROLES, when_logged_out=_stream_of_session_ended)
def queue_events() -> Response:
    """The API's queue stream (same generator), authenticated by the console's cookie instead of a bearer token."""
    filters = pages.QueueFilters.from_args(request.args)
    hotel_ids = requests_services.scope_hotels(g.staff, filters.hotel_id)
    after = _stream_start()
    return event_stream_response(lambda: queue_stream(
        hotel_ids=hotel_ids, after=after, still_allowed=lambda: access.current_staff_or_none() is not None))


def _stream_start() -> int:
    """Last-Event-ID (the browser's reconnect), else ?after= (the event id the page was rendered at)."""
    for raw in (request.headers.get("Last-Event-ID"), request.args.get("after")):
        if raw is not None:
            if not raw.isdigit() or len(raw) > 18:
                abort(400)
            return int(raw)
    return requests_services.latest_event_id()


@blp.route("/requests/<int:request_id>/actions/<action>", methods=["POST"])
@access.login_required(*QUEUE_ROLES)
def act(request_id: int, action: str) -> Response:
    """One button of a queue row or of the detail page."""
    if action not in ACTIONS:
        abort(404)
    data, errors = _action_data(action)
    if errors:
        flash(" ".join(forms.flatten_errors(errors)), "error")
    else:
        try:
            with unit_of_work():
                requests_services.staff_action(staff=g.staff, request_id=request_id, action=action, data=data)
            flash(f"#{request_id}: {t(action)} ✓", "ok")
        except NotFound:
            raise  # another hotel's (or no) resource: the 404 page, as for a GET
        except DomainError as error:
            flash(f"#{request_id}: {error.detail}", "error")
    return redirect(_back(url_for("console.queue")), code=303)


def _action_data(action: str) -> tuple[dict, dict]:
    if action == "assign":
        return forms.load(AssignSchema(), {"staff_id": forms.id_value(request.form.get("staff_id"))})
    if action in ("hold", "reject"):
        return forms.load(ReasonSchema(), {"reason": forms.text(request.form, "reason")})
    return {}, {}


@blp.route("/requests/bulk", methods=["POST"])
@access.login_required(*QUEUE_ROLES)
def bulk() -> Response:
    """Acknowledge, assign to me or complete the ticked requests; each succeeds or fails on its own."""
    ids = [forms.id_value(raw) for raw in request.form.getlist("ids")]
    data, errors = forms.load(BulkSchema(), {"action": request.form.get("action"), "ids": ids})
    if errors:
        flash(" ".join(forms.flatten_errors(errors)), "error")
        return redirect(_back(url_for("console.queue")), code=303)
    action = "complete" if data["action"] == "close" else data["action"]
    with unit_of_work():
        results = requests_services.bulk_action(staff=g.staff, action=action, ids=data["ids"])
    done = [str(r["id"]) for r in results if r["ok"]]
    failed = [f"#{r['id']}: {r['detail']}" for r in results if not r["ok"]]
    flash(f"{t('done_count')}: {len(done)}" + (f" · {t('failed_count')}: " + "; ".join(failed) if failed else ""),
          "error" if failed else "ok")
    return redirect(_back(url_for("console.queue")), code=303)


@blp.route("/requests/<int:request_id>")
@access.login_required(*QUEUE_ROLES)
def request_detail(request_id: int) -> str:
    return render_template("console/request.html", **pages.request_detail(g.staff, request_id))


@blp.route("/guests/<int:guest_id>")
@access.login_required(*GUEST_DATA_ROLES)
def guest_summary(guest_id: int) -> str:
    """The API's guest summary: masked by role, and the read is audited (hence a unit of work)."""
    with unit_of_work():
        summary = requests_services.guest_summary(staff=g.staff, guest_id=guest_id)
    return render_template("console/guest.html", summary=summary)
