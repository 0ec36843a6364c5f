"""Console pages at /console: login, logout and the language switch here; the pages in the modules imported below."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.console import (  # noqa: F401  (registers routes)
    access,
    desk_routes,
    marketing_routes,
    pages,
    queue_routes,
    stays_routes,
)
from app.console.blueprint import blp
from app.console.texts import LANGUAGES
from app.core.db import unit_of_work
from app.core.errors import TooManyRequests, Unauthorized
from app.extensions import limiter
from app.identity import services as identity
from app.identity.web import client_info
from app.staff import services as staff_services
from app.staff.schemas import StaffLoginSchema

__all__ = ["blp"]


@blp.route("/")
@access.login_required()
def index() -> Response:
    return redirect(url_for(pages.home_endpoint(g.staff)))


@blp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def login() -> Response | tuple[str, int] | str:
    """The staff login form; the same password check (and back-off) as POST /api/v1/staff/auth/login."""
    next_path = access.safe_next(request.values.get("next"), url_for("console.index"))
    if request.method == "GET":
        return render_template("console/login.html", next=next_path, error=None)
    try:
        data = StaffLoginSchema().load({"email": request.form.get("email", ""),
                                        "password": request.form.get("password", "")})
        check = staff_services.check_login(email=data["email"], password=data["password"])  # slow hash, no lock
        with unit_of_work():
            pair = staff_services.log_in(check=check, client=client_info("console"))
    except ma.ValidationError:
        return render_template("console/login.html", next=next_path, error="wrong_login"), 400
    except TooManyRequests:
        return render_template("console/login.html", next=next_path, error="locked"), 429
    except Unauthorized:
        return render_template("console/login.html", next=next_path, error="wrong_login"), 401
    access.start(check.account_id, pair.session_id)
    return redirect(next_path, code=303)


@blp.route("/logout", methods=["POST"])
def logout() -> Response:
    session_id = access.end()
    if session_id is not None:
        with unit_of_work():
            identity.end_session(session_id=session_id)
    return redirect(url_for("console.login"), code=303)


@blp.route("/language", methods=["POST"])
def switch_language() -> Response:
    chosen = request.form.get("lang")
    if chosen in LANGUAGES:
        access.remember_language(chosen)
    return redirect(access.safe_next(request.form.get("next"), url_for("console.index")), code=303)
