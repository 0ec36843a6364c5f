"""The console's Flask blueprint: templates, static files, CSRF on every POST, errors as HTML pages."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, g, get_flashed_messages, render_template
from werkzeug.exceptions import HTTPException

from app.console import access, forms, pages
from app.console.texts import language, t
from app.core.errors import DomainError

blp = Blueprint("console", __name__, template_folder="templates", static_folder="static",
                static_url_path="/static")


@blp.before_request
def _csrf() -> None:
    access.check_csrf()


@blp.after_request
def _no_store(response: Any) -> Any:
    # Pages show guests' data and per-session tokens: never kept by shared caches or the back button's cache.
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
    return response


@blp.app_template_global("t")
def _t(key: str) -> str:
    return t(key)


# Digits after the decimal point of the currencies whose minor unit is not a hundredth (ISO 4217).
_MINOR_DIGITS = {"JPY": 0, "KRW": 0, "VND": 0, "ISK": 0, "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3, "TND": 3}


@blp.app_template_filter("money")
def _money(amount: int, currency: str) -> str:
    """Minor units as the desk reads them: "14,544.00 RUB"."""
    digits = _MINOR_DIGITS.get(currency, 2)
    return f"{amount / 10 ** digits:,.{digits}f} {currency}"


@blp.context_processor
def _globals() -> dict[str, Any]:
    staff = g.get("staff")
    return {"lang": language(), "staff": staff, "nav": pages.nav(staff) if staff is not None else [],
            "csrf_token": access.csrf_token, "once_key": forms.once_key,
            "messages": get_flashed_messages(with_categories=True), "zone": ZoneInfo}


def error_page(status: int, key: str, detail: str | None = None) -> tuple[str, int]:
    return render_template("console/error.html", status=status, message=t(key), detail=detail), status


@blp.errorhandler(access.ConsoleForbidden)
def _forbidden(_error: Exception) -> tuple[str, int]:
    return error_page(403, "forbidden")


@blp.errorhandler(DomainError)
def _domain_error(error: DomainError) -> tuple[str, int, dict[str, str]]:
    key = {403: "forbidden", 404: "not_found"}.get(error.status, "error")
    page, status = error_page(error.status, key, None if error.status == 404 else error.detail)
    return page, status, error.headers  # Retry-After, say


@blp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> tuple[str, int]:
    if error.description == "csrf_failed":
        return error_page(400, "csrf_failed")
    status = error.code or 500
    return error_page(status, {403: "forbidden", 404: "not_found"}.get(status, "error"))
