"""Who is at the console: a staff login kept in Flask's signed session cookie, checked on every page; CSRF tokens.

The cookie holds the staff id, the id of an identity session (the same `auth_sessions` row a token login opens,
so logout, deactivation and password changes end it at once) and a CSRF token; every POST must echo that token.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, flash, g, redirect, request, session, url_for

from app.console.texts import t
from app.core.auth import PrincipalKind, Role
from app.extensions import db
from app.identity import services as identity
from app.staff.models import StaffMember

F = TypeVar("F", bound=Callable[..., Any])
CSRF_FIELD = "csrf_token"


class ConsoleForbidden(Exception):
    """The staff member's role does not open this page (rendered as a 403 page)."""


def csrf_token() -> str:
    """This browser session's CSRF token (made on first use)."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Refuse a POST whose form (or X-CSRF-Token header) does not carry this session's token."""
    if request.method != "POST":
        return
    sent = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf") or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, description="csrf_failed")


def start(staff_id: int, session_id: int) -> None:
    """Remember the login; a fresh CSRF token, so a token seen before login is worth nothing after it."""
    lang = session.get("lang")
    session.clear()
    session.permanent = True
    session.update({"staff_id": staff_id, "sid": session_id, "csrf": secrets.token_urlsafe(32)})
    if lang:
        session["lang"] = lang


def end() -> int | None:
    """Forget the login; return the identity session to revoke."""
    session_id = session.get("sid")
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return session_id


def current_staff_or_none() -> StaffMember | None:
    """The logged-in staff member if the session is still alive and the account may sign in."""
    staff_id, session_id = session.get("staff_id"), session.get("sid")
    if not isinstance(staff_id, int) or not isinstance(session_id, int):
        return None
    alive, can_sign_in = identity.load_session_principal(
        model=StaffMember, kind=PrincipalKind.STAFF.value, principal_id=staff_id, session_id=session_id)
    return db.session.get(StaffMember, staff_id) if alive and can_sign_in else None


def login_required(*roles: Role, when_logged_out: Callable[[], Any] | None = None) -> Callable[[F], F]:
    """A console page for staff with one of `roles` (any staff when none): login page if logged out, 403 if not
    allowed. The staff member is then `g.staff`, as for the API's staff endpoints.

    `when_logged_out` answers a request a page makes in the background (its event stream, a fragment) instead.
    Such a request leaves the session and the "session ended" message alone: EventSource and fetch follow a
    redirect, so the login page would be rendered for them, unseen, and the message consumed before the staff
    member's next navigation could show it."""
    allowed = {role.value for role in roles} if roles else {role.value for role in Role}

    def decorator(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            staff = current_staff_or_none()
            if staff is None:
                if when_logged_out is not None:
                    return when_logged_out()
                if session.get("staff_id"):
                    end()
                    flash(t("session_ended"), "error")
                return redirect(url_for("console.login", next=request.full_path if request.method == "GET" else None))
            g.staff = staff
            if staff.role not in allowed:
                raise ConsoleForbidden()
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def may(staff: StaffMember, roles: tuple[Role, ...]) -> bool:
    return staff.role in {role.value for role in roles}


def safe_next(target: str | None, default: str) -> str:
    """Only a path inside the console: never redirect a login to another site."""
    if target and target.startswith("/console") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def remember_language(lang: str) -> None:
    session["lang"] = lang
