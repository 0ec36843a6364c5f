"""Use cases of authentication: sessions with rotating refresh tokens, password checks with back-off, codes, keys."""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy import bindparam, delete, select, update

from app.core import clock
from app.core.auth import PrincipalKind, ServiceKind, hash_password, hash_secret, token_subject, verify_password
from app.core.errors import NotFound, TooManyRequests, Unauthorized
from app.core.prepared_reads import PreparedRead
from app.core.records import as_records
from app.extensions import db
from app.identity.models import ApiKey, AuthSession, LoginCode, PasswordCredentialMixin, RefreshToken


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: int
    token_type: str = "Bearer"


@dataclass(frozen=True)
class ClientInfo:
    """What we note about the device a session was opened from (shown in the guest's session list)."""

    device_name: str | None = None
    user_agent: str | None = None
    ip: str | None = None


# -- sessions and tokens -----------------------------------------------------------------------------------------

def open_session(*, kind: PrincipalKind, principal_id: int, method: str, client: ClientInfo) -> TokenPair:
    """Start a session (a new token family) and issue its first access and refresh tokens."""
    now = clock.now()
    session = AuthSession(
        principal_kind=kind.value, principal_id=principal_id, method=method,
        device_name=client.device_name, user_agent=(client.user_agent or "")[:300] or None, ip=client.ip,
        created_at=now, last_seen_at=now, expires_at=now + _refresh_ttl(),
    )
    db.session.add(session)
    db.session.flush()
    return _issue_tokens(session, now=now, fresh=True)


def rotate_refresh_token(*, jti: str, session_id: int) -> TokenPair:
    """Exchange a refresh token for a new pair. A token used twice revokes its whole family (theft detection)."""
    now = clock.now()
    token = db.session.scalars(select(RefreshToken).where(RefreshToken.jti == jti)).one_or_none()
    session = db.session.get(AuthSession, session_id)
    if token is None or session is None or token.session_id != session.id or not session.is_active(now):
        raise Unauthorized("The session has ended; log in again.", code="session_ended")
    # Conditional update: of two concurrent refreshes with one token, exactly one wins.
    claimed = db.session.execute(
        update(RefreshToken).where(RefreshToken.id == token.id, RefreshToken.used_at.is_(None)).values(used_at=now)
    ).rowcount
    if claimed != 1:
        session.revoked_at, session.revoked_reason = now, "refresh_token_reuse"
        raise RefreshTokenReused()
    session.last_seen_at = now
    session.expires_at = now + _refresh_ttl()
    return _issue_tokens(session, now=now, fresh=False)


class RefreshTokenReused(Unauthorized):
    """Raised after the family is revoked; the unit of work still commits that revocation."""

    code = "refresh_token_reused"
    keeps_changes = True

    def __init__(self) -> None:
        super().__init__("This refresh token was already used; every session of its family is now ended.")


def _issue_tokens(session: AuthSession, *, now: datetime, fresh: bool) -> TokenPair:
    subject = token_subject(PrincipalKind(session.principal_kind), session.principal_id)
    jti = str(uuid.uuid4())
    ttl = _refresh_ttl()
    db.session.add(RefreshToken(session_id=session.id, jti=jti, issued_at=now, expires_at=now + ttl))
    claims = {"sid": session.id, "amr": session.method}
    access = create_access_token(identity=subject, fresh=fresh, additional_claims=claims)
    refresh = create_refresh_token(identity=subject, additional_claims={**claims, "jti": jti})
    expires_in = int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds())
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=expires_in, session_id=session.id)


def _refresh_ttl() -> timedelta:
    return current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]


def load_session_principal(
    *, model: type, kind: str, principal_id: int, session_id: int | None
) -> tuple[bool, bool]:
    """(is the session alive, may its account still sign in): one indexed query on every request.

    `model` is the account class of `kind` (given by create_app: identity knows no higher domain); its
    `can_sign_in` is a hybrid property, read here in SQL: the account itself is loaded only by the endpoints that
    need it (app.core.auth.current_guest). Logout, password change, merge and deactivation take effect at once,
    not after 15 minutes.
    """
    if session_id is None:
        return False, False
    row = _session_principal_query(model, kind).first(session_id=session_id, principal_id=principal_id)
    if row is None:
        return False, False
    return row.revoked_at is None and row.expires_at > clock.now(), bool(row.can_sign_in)


@cache
def _session_principal_query(model: type, kind: str) -> PreparedRead:
    # Built once per account class: composing a SELECT costs more than running this one on an indexed key.
    # On the tables' columns (SQLAlchemy Core), not the ORM entities: the ORM would load the whole account and
    # build its object. Run outside the ORM Session (app/core/prepared_reads.py): on every authenticated call.
    sessions, accounts = AuthSession.__table__, model.__table__
    return PreparedRead(
        select(sessions.c.revoked_at, sessions.c.expires_at, model.can_sign_in.label("can_sign_in"))
        .join(accounts, accounts.c.id == sessions.c.principal_id)
        .where(sessions.c.id == bindparam("session_id"), sessions.c.principal_kind == kind,
               sessions.c.principal_id == bindparam("principal_id"))
    )


def still_signed_in(*, model: type, kind: str, principal_id: int, session_id: int,
                    token_expires: float | None = None) -> Callable[[], bool]:
    """A check that a long-lived answer (an event stream) asks again while it runs: is the session still alive,
    may its account still sign in, and has the access token (Unix time `token_expires`) not expired?"""

    def check() -> bool:
        if token_expires is not None and clock.now().timestamp() >= token_expires:
            return False
        alive, can_sign_in = load_session_principal(model=model, kind=kind, principal_id=principal_id,
                                                    session_id=session_id)
        return alive and can_sign_in

    return check


def session_end_reason(*, session_id: int | None) -> str | None:
    """Why a session was revoked ("logout", "erased", ...): asked only when a token is refused, to say why."""
    if session_id is None:
        return None
    return db.session.scalar(select(AuthSession.revoked_reason).where(AuthSession.id == session_id))


def end_session(*, session_id: int) -> None:
    """Log out: the session's refresh tokens and access tokens stop working at once."""
    session = db.session.get(AuthSession, session_id)
    if session is not None and session.revoked_at is None:
        session.revoked_at, session.revoked_reason = clock.now(), "logout"


def list_sessions(*, kind: PrincipalKind, principal_id: int) -> list[AuthSession]:
    now = clock.now()
    return list(db.session.scalars(
        select(AuthSession).where(
            AuthSession.principal_kind == kind.value, AuthSession.principal_id == principal_id,
            AuthSession.revoked_at.is_(None), AuthSession.expires_at > now,
        ).order_by(AuthSession.last_seen_at.desc(), AuthSession.id.desc())
    ))


def revoke_session(*, kind: PrincipalKind, principal_id: int, session_id: int) -> None:
    """End one of my sessions (a lost phone); someone else's session is not found."""
    session = db.session.get(AuthSession, session_id)
    if session is None or session.principal_kind != kind.value or session.principal_id != principal_id:
        raise NotFound("No such session.")
    if session.revoked_at is None:
        session.revoked_at, session.revoked_reason = clock.now(), "revoked_by_owner"


def revoke_sessions(*, kind: PrincipalKind, principal_id: int, reason: str, keep_session_id: int | None = None) -> int:
    """End every session of an account except `keep_session_id` (password change, merge, erasure)."""
    stmt = update(AuthSession).where(
        AuthSession.principal_kind == kind.value, AuthSession.principal_id == principal_id,
        AuthSession.revoked_at.is_(None),
    )
    if keep_session_id is not None:
        stmt = stmt.where(AuthSession.id != keep_session_id)
    return db.session.execute(stmt.values(revoked_at=clock.now(), revoked_reason=reason)).rowcount


# -- passwords ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PasswordCheck:
    """The outcome of verifying a password, computed before the unit of work and settled inside it."""

    account_id: int | None
    matches: bool
    new_hash: str | None = None  # the password re-hashed at today's cost, when the stored hash is older


def verify_account_password(account: PasswordCredentialMixin | None, password: str) -> PasswordCheck:
    """Verify a password: CPU-heavy (argon2id) and read-only, so call it *before* the unit of work.

    Holding a write transaction during the hash would serialise every login behind SQLite's write lock. An unknown
    account costs the same hash as a known one and answers the same, so logins reveal nothing.
    """
    now = clock.now()
    if account is not None and account.locked_until is not None and account.locked_until > now:
        raise _locked(account.locked_until, now)
    ok, needs_rehash = verify_password(account.password_hash if account else None, password)
    return PasswordCheck(
        account_id=account.id if account is not None else None, matches=ok,
        new_hash=hash_password(password) if ok and needs_rehash else None,
    )


def settle_password_check(account: PasswordCredentialMixin | None, check: PasswordCheck) -> None:
    """Inside the unit of work: count a failure (locking with doubling back-off) and refuse, or clear the count."""
    if account is None:
        raise InvalidCredentials()
    if not check.matches:
        now = clock.now()
        account.failed_login_count += 1
        threshold = current_app.config["LOGIN_FAILURES_BEFORE_LOCK"]
        if account.failed_login_count >= threshold:
            doublings = min(account.failed_login_count - threshold, 10)
            account.locked_until = now + timedelta(seconds=current_app.config["LOGIN_LOCK_BASE_SECONDS"] * 2**doublings)
        raise InvalidCredentials()
    account.failed_login_count, account.locked_until = 0, None
    if check.new_hash:
        account.password_hash = check.new_hash


class InvalidCredentials(Unauthorized):
    """The failure counter is committed even though the login fails."""

    code = "invalid_credentials"
    keeps_changes = True

    def __init__(self) -> None:
        super().__init__("Wrong login or password.")


def _locked(until: datetime, now: datetime) -> TooManyRequests:
    seconds = max(1, int((until - now).total_seconds()) + 1)
    return TooManyRequests(
        "Too many failed logins; try again later or log in with a one-time code.", code="login_locked",
        headers={"Retry-After": str(seconds)},
    )


def set_password(account: PasswordCredentialMixin, new_password: str) -> None:
    account.password_hash = hash_password(new_password)
    account.failed_login_count, account.locked_until = 0, None


# -- one-time codes ----------------------------------------------------------------------------------------------

def issue_login_code(*, destination: str) -> str:
    """Create a 6-digit code for `destination` (earlier unused codes stop working) and return it for sending."""
    now = clock.now()
    db.session.execute(
        update(LoginCode).where(LoginCode.destination == destination, LoginCode.consumed_at.is_(None))
        .values(consumed_at=now)
    )
    code = f"{secrets.randbelow(1_000_000):06d}"
    ttl = timedelta(seconds=current_app.config["LOGIN_CODE_TTL_SECONDS"])
    db.session.add(LoginCode(destination=destination, code_hash=_code_hash(destination, code),
                             created_at=now, expires_at=now + ttl))
    return code


def consume_login_code(*, destination: str, code: str) -> None:
    """Accept the code once, within its window and attempt limit; raise otherwise."""
    now = clock.now()
    entry = db.session.scalars(
        select(LoginCode).where(LoginCode.destination == destination, LoginCode.consumed_at.is_(None))
        .order_by(LoginCode.id.desc()).limit(1)
    ).one_or_none()
    if entry is None or entry.expires_at <= now:
        raise Unauthorized("The code has expired or was not requested; ask for a new one.", code="code_invalid")
    if entry.attempts >= current_app.config["LOGIN_CODE_MAX_ATTEMPTS"]:
        raise TooManyRequests("Too many wrong codes; ask for a new one.", code="code_attempts_exceeded")
    entry.attempts += 1
    if not hmac.compare_digest(entry.code_hash, _code_hash(destination, code)):
        raise WrongCode()
    entry.consumed_at = now


class WrongCode(Unauthorized):
    """The attempt counter is committed even though the login fails."""

    code = "code_invalid"
    keeps_changes = True

    def __init__(self) -> None:
        super().__init__("The code is wrong.")


def _code_hash(destination: str, code: str) -> str:
    # Keyed hash: six digits are a tiny space, so a plain hash in a leaked table would be reversed at once.
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{destination}:{code}".encode(), "sha256").hexdigest()


# -- API keys ----------------------------------------------------------------------------------------------------

def create_api_key(*, name: str, kind: ServiceKind, partner_id: int | None = None) -> tuple[ApiKey, str]:
    """Create a service account key; the plaintext is returned once and never stored."""
    prefix = "hk_" + secrets.token_hex(6)
    plaintext = f"{prefix}.{secrets.token_urlsafe(32)}"
    key = ApiKey(name=name, kind=kind.value, partner_id=partner_id, prefix=prefix, key_hash=hash_secret(plaintext))
    db.session.add(key)
    db.session.flush()
    return key, plaintext


def resolve_api_key(plaintext: str) -> ApiKey | None:
    """The live key matching `plaintext`, or None. Looked up by its prefix, compared in constant time."""
    prefix = plaintext.split(".", 1)[0]
    key = db.session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one_or_none()
    if key is None or key.revoked_at is not None or not hmac.compare_digest(key.key_hash, hash_secret(plaintext)):
        return None
    return key


def revoke_api_key(*, prefix: str) -> None:
    key = db.session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one_or_none()
    if key is None:
        raise NotFound("No such API key.")
    key.revoked_at = key.revoked_at or clock.now()


# -- data rights and retention (app/privacy) ---------------------------------------------------------------------

def export_sessions(*, kind: PrincipalKind, principal_id: int) -> list[dict[str, Any]]:
    """Every session of an account, as its data export shows them (devices, addresses, times)."""
    return as_records(db.session.scalars(select(AuthSession).where(
        AuthSession.principal_kind == kind.value, AuthSession.principal_id == principal_id).order_by(AuthSession.id)))


def erase_account_traces(*, kind: PrincipalKind, principal_id: int, contacts: list[str]) -> dict[str, int]:
    """End every session, forget the devices and addresses they were opened from, drop codes sent to `contacts`."""
    revoked = revoke_sessions(kind=kind, principal_id=principal_id, reason="erased")
    db.session.execute(update(AuthSession).where(
        AuthSession.principal_kind == kind.value, AuthSession.principal_id == principal_id,
    ).values(device_name=None, user_agent=None, ip=None))
    codes = db.session.execute(delete(LoginCode).where(LoginCode.destination.in_(contacts))).rowcount if contacts \
        else 0
    return {"sessions_revoked": revoked, "login_codes": codes}


def purge_stale_credentials(*, sessions_before: datetime, codes_before: datetime) -> dict[str, int]:
    """Retention: sessions that ended (expired or revoked) before `sessions_before`, with their refresh tokens, and
    one-time codes that expired before `codes_before`."""
    ended = select(AuthSession.id).where(
        (AuthSession.expires_at < sessions_before) | (AuthSession.revoked_at < sessions_before))
    tokens = db.session.execute(delete(RefreshToken).where(RefreshToken.session_id.in_(ended))).rowcount
    sessions = db.session.execute(delete(AuthSession).where(
        (AuthSession.expires_at < sessions_before) | (AuthSession.revoked_at < sessions_before))).rowcount
    codes = db.session.execute(delete(LoginCode).where(LoginCode.expires_at < codes_before)).rowcount
    return {"sessions": sessions, "refresh_tokens": tokens, "login_codes": codes}
