"""Headers every response carries: security headers, and CORS for the origins the configuration allows.

A small after_request hook rather than flask-cors: the API needs one rule (bearer tokens, no cookies, an explicit
allow-list), and owning it keeps preflights, `Vary` and the exposed headers visible in one place (docs/decisions.md).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Request, Response, current_app, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

# JSON and problem responses: nothing may load, frame or be framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE"
ALLOWED_HEADERS = ("Authorization, Content-Type, Accept-Language, Idempotency-Key, If-Match, If-None-Match, "
                   "Last-Event-ID, X-Request-ID")
EXPOSED_HEADERS = ("ETag, Location, Link, Retry-After, X-Request-ID, X-RateLimit-Limit, X-RateLimit-Remaining, "
                   "X-RateLimit-Reset")
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


# Added to every answer unless the answer already has its own (the console's pages and Swagger UI set a CSP).
STATIC_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Content-Security-Policy", API_CSP),
)


def init_app(app: Flask) -> None:
    app.before_request(_answer_preflight)
    app.after_request(_swagger_ui_csp)
    app.wsgi_app = SecurityHeaders(app.wsgi_app, app.config)  # type: ignore[method-assign]
    app.session_interface = SessionOnlyWithCookie()


class SessionOnlyWithCookie(SecureCookieSessionInterface):
    """Flask's signed cookie session (the console's login), opened only when the request carries its cookie.

    Flask builds the cookie's signing serializer (a key derivation) on every request, cookie or not: a tenth of the
    app's own cost of GET /me, for API calls that never carry the console's cookie. Without the cookie the session
    is empty either way; with it, Flask's own code reads and checks it.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


class SecurityHeaders:
    """WSGI middleware: the security headers and CORS, appended to the header list the app gives the server.

    An after_request hook did this through werkzeug's Headers (a setdefault per header, Vary parsed and rebuilt):
    a twentieth of the app's cost of GET /me. Here it is one pass over a plain list. `config` is the app's live
    config (read on every answer, so a changed CORS allow-list applies at once).
    """

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], config: Mapping[str, Any]) -> None:
        self.wsgi_app = wsgi_app
        self.config = config

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def start_with_headers(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            self.add_headers(environ, headers)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start_with_headers)

    def add_headers(self, environ: dict[str, Any], headers: list[tuple[str, str]]) -> None:
        present = {name.lower(): index for index, (name, _) in enumerate(headers)}
        headers.extend(header for header in STATIC_HEADERS if header[0].lower() not in present)
        hsts = self.config["SECURITY_HSTS_SECONDS"]
        if hsts and "strict-transport-security" not in present:
            headers.append(("Strict-Transport-Security", f"max-age={hsts}; includeSubDomains"))
        _vary_on_origin(headers, present.get("vary"))
        allowed = _allowed_origin(environ.get("HTTP_ORIGIN"), self.config["CORS_ORIGINS"])
        if allowed is None:
            return
        headers.append(("Access-Control-Allow-Origin", allowed))
        if _is_preflight(environ.get("REQUEST_METHOD"), environ):
            headers.append(("Access-Control-Allow-Methods", ALLOWED_METHODS))
            headers.append(("Access-Control-Allow-Headers", ALLOWED_HEADERS))
            headers.append(("Access-Control-Max-Age", str(self.config["CORS_MAX_AGE_SECONDS"])))
        else:
            headers.append(("Access-Control-Expose-Headers", EXPOSED_HEADERS))


def _vary_on_origin(headers: list[tuple[str, str]], vary_index: int | None) -> None:
    """Answers differ by Origin (CORS): say so in Vary, merged into a Vary the answer already has."""
    if vary_index is None:
        headers.append(("Vary", "Origin"))
        return
    name, value = headers[vary_index]
    if "origin" not in (part.strip().lower() for part in value.split(",")):
        headers[vary_index] = (name, f"{value}, Origin" if value.strip() else "Origin")


def _allowed_origin(origin: str | None, allowed: list[str]) -> str | None:
    """The value of Access-Control-Allow-Origin for `origin`, or None when it is not on the allow-list."""
    if not origin:
        return None
    if "*" in allowed:  # development only: production refuses a wildcard (config.py)
        return "*"
    return origin if origin in allowed else None


def _is_preflight(method: str | None, headers: Mapping[str, Any]) -> bool:
    """An OPTIONS request asking for another method: `headers` is the WSGI environ (HTTP_* keys)."""
    return method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in headers


def _answer_preflight() -> Response | None:
    if not _is_preflight(request.method, request.environ):
        return None
    # Answered here for every path (so a preflight never reaches authentication); SecurityHeaders adds the CORS
    # headers when the origin is allowed. Without them the browser refuses the real request.
    response = Response(status=204)
    response.headers.pop("Content-Type", None)
    return response


def _swagger_ui_csp(response: Response) -> Response:
    if _is_docs(response):
        response.headers["Content-Security-Policy"] = _docs_csp(response)
    return response


def _is_docs(response: Response) -> bool:
    path = current_app.config.get("OPENAPI_SWAGGER_UI_PATH") or "/docs"
    return response.mimetype == "text/html" and request.path.rstrip("/") == path.rstrip("/")


def _docs_csp(response: Response) -> str:
    """Swagger UI: its files from the configured CDN, its one inline script by hash, the document from here."""
    cdn = urlsplit(current_app.config["OPENAPI_SWAGGER_UI_URL"])
    source = f"{cdn.scheme}://{cdn.netloc}" if cdn.netloc else "'self'"
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(response.get_data()))
    return (f"default-src 'none'; script-src {source} {hashes}; style-src {source} 'unsafe-inline'; "
            f"img-src 'self' data: {source}; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'none'")
