"""`Idempotency-Key` for POSTs that create money or work: one shared mechanism, used by every domain.

A retry with the same key and body gets the stored response and creates nothing; the same key with another body is
refused (422); a duplicate that arrives while the first is still running is refused (409, retry shortly).

How it stays exactly-once without a distributed lock:
1. the key is claimed in a short transaction of its own (a row marked in progress, visible to concurrent duplicates);
2. the use case runs, and the response is written onto the claim *in the use case's own transaction*, so either
   both the work and the stored response are committed, or neither is;
3. if the use case fails, the claim is released and the client may retry with the same key. A claim left behind by a
   crashed process holds no committed work (step 2 is atomic), so it may be taken over once it is stale.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Response, current_app, request
from flask_smorest import Blueprint
from sqlalchemy import JSON, Integer, String, Text, UniqueConstraint, bindparam, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.auth import caller_scope
from app.core.db import IdMixin, UTCDateTime, unit_of_work
from app.core.errors import Conflict, DomainError, Unprocessable
from app.core.prepared_reads import PreparedRead
from app.core.prepared_writes import PreparedWrite, insert_now
from app.extensions import db

F = TypeVar("F", bound=Callable[..., Any])

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces
# A claim older than this without a stored response belongs to a request that died; no request runs this long.
STALE_CLAIM = timedelta(seconds=60)
REPLAYED_HEADERS = ("Content-Type", "Location", "ETag")


class IdempotencyRecord(IdMixin, db.Model):
    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    scope: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    status_code: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict | None] = mapped_column(JSON)

    @property
    def completed(self) -> bool:
        return self.status_code is not None


# The two statements of every keyed call, compiled once (app/core/prepared_reads.py, prepared_writes.py): through
# the ORM, the lookup, the claim and the stored answer doubled the cost of a small POST.
_RECORD = PreparedRead(select(
    IdempotencyRecord.id, IdempotencyRecord.fingerprint, IdempotencyRecord.locked_at, IdempotencyRecord.expires_at,
    IdempotencyRecord.status_code, IdempotencyRecord.body, IdempotencyRecord.headers,
).where(IdempotencyRecord.scope == bindparam("scope"), IdempotencyRecord.key == bindparam("key")))
# The claim was written by another unit of work: the Session holds no changed object of it.
_STORE_RESPONSE = PreparedWrite(update(IdempotencyRecord).where(IdempotencyRecord.id == bindparam("claim_id")).values(
    status_code=bindparam("status"), body=bindparam("text"), headers=bindparam("replayed_headers")))


def idempotent(fn: F) -> F:
    """Make a POST view honour `Idempotency-Key`. Place it under the auth decorator, above @blp.arguments."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return run_once(request.headers.get(HEADER), lambda: fn(*args, **kwargs))

    # flask-smorest replaces a manual `parameters` list wholesale: fine for JSON-bodied POSTs without query args.
    return Blueprint.doc(
        parameters=[{
            "in": "header", "name": HEADER, "required": False, "schema": {"type": "string", "maxLength": 255},
            "description": "Retry-safe key: a repeat with the same key and body returns the first response.",
        }]
    )(wrapper)


def run_once(key: str | None, work: Callable[[], Any]) -> Any:
    """Run `work` (which returns a view's answer) once per `key` of this caller, in one unit of work with the
    stored answer; a retry with the key gets that answer again. No key: `work` simply runs.

    The API takes the key from the `Idempotency-Key` header (`idempotent`); the console from a hidden field of
    its forms. An error raised by `work` rolls its changes back and frees the key for a retry.
    """
    if key is None:
        return work()
    if not KEY_PATTERN.match(key):
        raise DomainError("Idempotency-Key must be 1-255 printable ASCII characters.",
                          code="idempotency_key_invalid")
    scope, fingerprint = caller_scope(), _fingerprint()
    claim = _claim(scope=scope, key=key, fingerprint=fingerprint)
    if isinstance(claim, Response):
        return claim
    try:
        with unit_of_work():
            response = current_app.make_response(work())
            if response.status_code >= 500:
                raise RuntimeError("view answered 5xx")  # releases the claim below; never stored
            _store_response(claim, response)
    except BaseException:
        _release(claim)
        raise
    return response


def _fingerprint() -> str:
    """Hash of what the request asks for: method, path and body (JSON canonicalised, so key order does not matter;
    a form as its parsed fields, since once parsed its raw body is gone)."""
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        body = json.dumps(sorted(request.form.items(multi=True)), separators=(",", ":")).encode()
    else:
        raw = request.get_data(cache=True)
        try:
            body = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode() if raw else b""
        except (ValueError, UnicodeDecodeError):
            body = raw
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), body):
        digest.update(part + b"\x00")
    return digest.hexdigest()


def _claim(*, scope: str, key: str, fingerprint: str) -> int | Response:
    """Claim the key (returns the claim id) or answer from a previous request with it."""
    if db.session().in_transaction():
        # End the caller's reads so far (a staff member loaded by auth) as the claim's unit of work would: their
        # connection goes back to the pool before the lookup takes one (a thread never waits holding two).
        db.session.commit()
    now = clock.now()
    existing = _find(scope, key)
    if existing is not None and existing.expires_at <= now:
        with unit_of_work():
            db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == existing.id))
        existing = None
    if existing is None:
        ttl = timedelta(hours=current_app.config["IDEMPOTENCY_TTL_HOURS"])
        record = IdempotencyRecord(scope=scope, key=key, fingerprint=fingerprint, locked_at=now, expires_at=now + ttl)
        try:
            with unit_of_work():
                insert_now(record)
            return record.id
        except IntegrityError:
            existing = _find(scope, key)  # a concurrent request claimed it first
            if existing is None:
                raise Conflict("A request with this Idempotency-Key is in progress.", code="idempotency_key_in_use",
                               headers={"Retry-After": "1"}) from None
    return _answer_existing(existing, fingerprint=fingerprint, now=now)


def _answer_existing(existing: Any, *, fingerprint: str, now: datetime) -> int | Response:
    if existing.fingerprint != fingerprint:
        raise Unprocessable(
            "This Idempotency-Key was used with a different request.", code="idempotency_key_reused"
        )
    if existing.status_code is not None:
        return _replay(existing)
    if now - existing.locked_at < STALE_CLAIM or not _take_over(existing, now=now):
        raise Conflict("A request with this Idempotency-Key is in progress.", code="idempotency_key_in_use",
                       headers={"Retry-After": "1"})
    return existing.id


def _find(scope: str, key: str) -> Any:
    """The key's record as committed (read outside the Session: a retry's most frequent question), or None."""
    return _RECORD.first(scope=scope, key=key)


def _take_over(record: Any, *, now: datetime) -> bool:
    with unit_of_work():
        result = db.session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.id == record.id, IdempotencyRecord.locked_at == record.locked_at,
                   IdempotencyRecord.status_code.is_(None))
            .values(locked_at=now)
        )
    return result.rowcount == 1


def _store_response(claim_id: int, response: Response) -> None:
    _STORE_RESPONSE.run(
        claim_id=claim_id, status=response.status_code, text=response.get_data(as_text=True),
        replayed_headers={name: response.headers[name] for name in REPLAYED_HEADERS if name in response.headers})


def _release(claim_id: int) -> None:
    with unit_of_work():
        db.session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.id == claim_id, IdempotencyRecord.status_code.is_(None))
        )


def _replay(record: Any) -> Response:
    response = Response(record.body, status=record.status_code)
    for name, value in (record.headers or {}).items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def purge_expired_keys() -> int:
    """Delete idempotency records past their expiry (the scheduler's hourly job)."""
    with unit_of_work() as session:
        result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= clock.now()))
    return result.rowcount


def forget_responses(*, scope: str, containing: list[str]) -> int:
    """Erasure: drop the stored responses of `scope` (a guest's own calls) and any others whose body contains one
    of `containing` (a walk-in profile created by a clerk holds the guest's contacts). A claim still in progress
    (no response yet: the erasure request itself) is left alone."""
    mentions = [IdempotencyRecord.body.contains(text, autoescape=True) for text in containing if text]
    return db.session.execute(delete(IdempotencyRecord).where(
        IdempotencyRecord.status_code.is_not(None),
        or_(IdempotencyRecord.scope == scope, *mentions))).rowcount
