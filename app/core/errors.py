"""Errors in one shape everywhere: RFC 7807 problem+json with a stable machine `code`."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, json
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

PROBLEM_MIMETYPE = "application/problem+json"

# Stable codes for plain HTTP errors; domain errors carry their own.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    411: "length_required",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    428: "precondition_required",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


class DomainError(Exception):
    """A use case refused; routes let it propagate and the handler renders it."""

    status = 400
    code = "bad_request"
    title = "Bad request"
    # A refusal that must still be recorded (a failed login counted, a stolen token family revoked): the unit of
    # work commits what the use case did before raising, instead of rolling it back.
    keeps_changes = False

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra


class NotFound(DomainError):
    """Also used for resources that exist but belong to someone else (never leak existence)."""

    status, code, title = 404, "not_found", "Not found"


class Unauthorized(DomainError):
    status, code, title = 401, "unauthorized", "Unauthorized"


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "Forbidden"


class Conflict(DomainError):
    status, code, title = 409, "conflict", "Conflict"


class Unprocessable(DomainError):
    status, code, title = 422, "validation_failed", "Unprocessable content"


class TooManyRequests(DomainError):
    status, code, title = 429, "rate_limited", "Too many requests"


class ServiceUnavailable(DomainError):
    """The service cannot take this now, through no fault of the request: retry after `Retry-After`."""

    status, code, title = 503, "service_unavailable", "Service unavailable"


def problem(
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    *,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """Build an application/problem+json response."""
    body: dict[str, Any] = {"type": f"/problems/{code}", "title": title, "status": status, "code": code}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body.update(extra)
    request_id = g.get("request_id") if g else None
    if request_id:
        body["request_id"] = request_id
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MIMETYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _flatten_validation_messages(messages: dict[str, Any]) -> dict[str, Any]:
    """webargs nests errors by location ({"json": {"email": [...]}}); clients want them by field."""
    flat: dict[str, Any] = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            flat.update(fields)
        else:
            flat[location] = fields
    return _string_keys(flat)


def _string_keys(value: Any) -> Any:
    """marshmallow keys list items by index ({0: {...}, "_schema": [...]}): JSON wants (sortable) string keys."""
    if isinstance(value, dict):
        return {str(key): _string_keys(item) for key, item in value.items()}
    return value


def http_exception_to_problem(error: HTTPException) -> Response:
    status = error.code or 500
    code = HTTP_CODES.get(status, "http_error")
    title = error.name
    detail = error.description if status != 500 else "An unexpected error occurred."
    data = getattr(error, "data", None) or {}
    errors = None
    if "messages" in data:
        errors = _flatten_validation_messages(data["messages"])
        if status == 400:
            # webargs answers an unparsable body with 400 {"json": ["Invalid JSON body."]}
            status, code, title, detail = 400, "malformed_json", "Malformed JSON", "The body is not valid JSON."
            errors = None
        else:
            detail = "The request has invalid fields; see `errors`."
    headers = dict(data.get("headers") or {})
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    if status == 429:
        detail = f"Too many requests: limit {error.description}. Retry later."
    return problem(status, code, title, detail, errors=errors, headers=headers)


# SQLite reports some programming mistakes as OperationalError too; those are bugs (500), not an outage.
_SQLITE_PROGRAMMING_ERRORS = ("no such table", "no such column", "has no column named", "no such function",
                              "syntax error", "already exists", "no such index")


# PostgreSQL's serialization_failure and deadlock_detected: the server rolled the transaction back, nothing is
# down (psycopg raises them as OperationalError subclasses).
_TRANSACTION_CONFLICTS = {"40001", "40P01"}


def _sqlstate(error: BaseException) -> str | None:
    return getattr(getattr(error, "orig", None), "sqlstate", None)


def is_transaction_conflict(error: BaseException) -> bool:
    """A deadlock or serialization failure: retrying the whole request succeeds; the database is fine."""
    return _sqlstate(error) in _TRANSACTION_CONFLICTS


def is_database_unavailable(error: BaseException) -> bool:
    """Whether a database error means "the database cannot be reached or used now" (503), not a bug (500).

    Connection refused or dropped, server shutting down, pool exhausted, a locked or unreadable SQLite file:
    OperationalError / InterfaceError / DisconnectionError / pool TimeoutError, or any DBAPIError that
    invalidated its connection. Integrity and programming errors stay 500s.
    """
    if isinstance(error, (DisconnectionError, PoolTimeoutError, InterfaceError)):
        return True
    if isinstance(error, OperationalError):
        message = str(error.orig or error).lower()
        return not any(marker in message for marker in _SQLITE_PROGRAMMING_ERRORS)
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def register_error_handlers(app: Flask) -> None:
    """HTTP errors come through flask-smorest's Api (ProblemApi); these cover everything else."""

    @app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError) -> Response:
        return problem(
            error.status, error.code, error.title, error.detail,
            errors=error.errors, headers=error.headers, **error.extra,
        )

    @app.errorhandler(DBAPIError)
    @app.errorhandler(DisconnectionError)
    @app.errorhandler(PoolTimeoutError)
    def handle_database_error(error: Exception) -> Response:
        if is_transaction_conflict(error):
            log.warning("transaction rolled back by the database (%s); the client may retry", _sqlstate(error))
            return problem(503, "database_busy", "Service unavailable",
                           "The database rolled this request back to resolve a conflict; retry it.",
                           headers={"Retry-After": "1"})
        if not is_database_unavailable(error):
            return handle_unexpected(error)
        log.error("database unavailable: %s", error.__class__.__name__, exc_info=error)
        return database_unavailable()

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        if isinstance(error, HTTPException):
            return http_exception_to_problem(error)
        log.exception("unhandled error")
        return problem(500, "internal_error", "Internal server error", "An unexpected error occurred.")


def database_unavailable(detail: str = "The database is unavailable; retry shortly.") -> Response:
    """The one answer while the database cannot be used: 503 `database_unavailable`, retry in a few seconds."""
    return problem(503, "database_unavailable", "Service unavailable", detail, headers={"Retry-After": "5"})
