"""Headers every response carries: security headers, and CORS for the origins the configuration allows.

A small after_request hook rather than flask-cors: the API needs one rule (bearer tokens, no cookies, an explicit
allow-list), and owning it keeps preflights, `Vary` and the exposed headers visible in one place (docs/decisions.md).
"""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request

# JSON and problem responses: nothing may load, frame or be framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE"
ALLOWED_HEADERS = ("Authorization, Content-Type, Accept-Language, Idempotency-Key, If-Match, If-None-Match, "
                   "Last-Event-ID, X-Request-ID")
EXPOSED_HEADERS = ("ETag, Location, Link, Retry-After, X-Request-ID, X-RateLimit-Limit, X-RateLimit-Remaining, "
                   "X-RateLimit-Reset")
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def init_app(app: Flask) -> None:
    app.before_request(_answer_preflight)
    app.after_request(_add_headers)


def _allowed_origin(origin: str | None) -> str | None:
    """The value of Access-Control-Allow-Origin for `origin`, or None when it is not on the allow-list."""
    allowed = current_app.config["CORS_ORIGINS"]
    if not origin:
        return None
    if "*" in allowed:  # development only: production refuses a wildcard (config.py)
        return "*"
    return origin if origin in allowed else None


def _answer_preflight() -> Response | None:
    if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
        return None
    # Answered here for every path (so a preflight never reaches authentication); _add_headers adds the CORS
    # headers when the origin is allowed. Without them the browser refuses the real request.
    response = Response(status=204)
    response.headers.pop("Content-Type", None)
    return response


def _add_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Content-Security-Policy", _docs_csp(response) if _is_docs(response) else API_CSP)
    hsts = current_app.config["SECURITY_HSTS_SECONDS"]
    if hsts:
        headers.setdefault("Strict-Transport-Security", f"max-age={hsts}; includeSubDomains")
    _add_cors(response)
    return response


def _add_cors(response: Response) -> None:
    allowed = _allowed_origin(request.headers.get("Origin"))
    response.vary.add("Origin")
    if allowed is None:
        return
    response.headers["Access-Control-Allow-Origin"] = allowed
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = str(current_app.config["CORS_MAX_AGE_SECONDS"])
    else:
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS


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
