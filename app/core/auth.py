"""Who is calling: token identities, roles, password hashing and the decorators every endpoint declares."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app, g, request
from flask_jwt_extended import get_current_user, get_jwt, verify_jwt_in_request
from flask_jwt_extended.internal_utils import (
    custom_verification_for_token,
    verify_token_not_blocklisted,
    verify_token_type,
)
from flask_jwt_extended.view_decorators import _load_user
from flask_smorest import Blueprint

from app.core.errors import Forbidden, Unauthorized
from app.core.fair_slots import FairSlots, MachineSlots, SlotGate, machine_cores
from app.core.web_slots import stepping_out
from app.extensions import db

F = TypeVar("F", bound=Callable[..., Any])


class PrincipalKind(StrEnum):
    GUEST = "guest"
    STAFF = "staff"


class Role(StrEnum):
    FRONT_DESK = "front_desk"
    HOUSEKEEPING = "housekeeping"
    MAINTENANCE = "maintenance"
    KITCHEN = "kitchen"
    CONCIERGE = "concierge"
    MARKETER = "marketer"
    HOTEL_MANAGER = "hotel_manager"
    CHAIN_ADMIN = "chain_admin"


class ServiceKind(StrEnum):
    """Machines that call the API with an API key."""

    BRIDGE = "bridge"
    PARTNER = "partner"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a valid access token speaks for: an account that exists and may sign in (its row is not loaded)."""

    kind: PrincipalKind
    id: int

    @property
    def audit_kind(self) -> str:
        """Audit entries name a principal as they name its account (Guest.audit_kind, StaffMember.audit_kind)."""
        return self.kind.value


ALL_STAFF = tuple(Role)
# Roles whose work needs a guest's personal data (the rest see rooms and requests, not people).
GUEST_DATA_ROLES = (Role.FRONT_DESK, Role.CONCIERGE, Role.HOTEL_MANAGER, Role.CHAIN_ADMIN)
MANAGERS = (Role.HOTEL_MANAGER, Role.CHAIN_ADMIN)
# Who checks guests in and out at the desk (concierges see the desk's lists and stays, but do not move money).
DESK_ROLES = (Role.FRONT_DESK, *MANAGERS)


def token_subject(kind: PrincipalKind, principal_id: int) -> str:
    """JWT `sub` must be a string; the kind prefix keeps guest 5 and staff 5 apart."""
    return f"{kind.value}:{principal_id}"


def parse_subject(subject: str) -> tuple[PrincipalKind, int]:
    kind, _, raw_id = subject.partition(":")
    return PrincipalKind(kind), int(raw_id)


# -- passwords ---------------------------------------------------------------------------------------------------

def ensure_argon2_runs_here(marker: Path | None = None, cpuinfo: Path = Path("/proc/cpuinfo")) -> None:
    """Refuse to start where the argon2 library was built for AVX2 (scripts/lib.sh) but the CPU has none: the
    first password check would otherwise kill the worker with an illegal instruction."""
    marker = marker or Path(sys.prefix) / "argon2-build"
    if not marker.is_file() or marker.read_text().strip() != "avx2" or not cpuinfo.is_file():
        return
    if "avx2" not in cpuinfo.read_text().split():
        raise RuntimeError(
            f"argon2-cffi-bindings in {sys.prefix} was built for CPUs with AVX2 and this one has none: rebuild the "
            "virtualenv here, or with ARGON2_BUILD_AVX2=0 (docs/operations.md)")


def init_password_hasher(app: Flask) -> None:
    ensure_argon2_runs_here()
    app.extensions["password_hasher"] = PasswordHasher(
        time_cost=app.config["ARGON2_TIME_COST"],
        memory_cost=app.config["ARGON2_MEMORY_COST_KIB"],
        parallelism=app.config["ARGON2_PARALLELISM"],
    )
    # Every argon2 call waits for one of the machine's slots, first come first served (app/core/fair_slots.py).
    size = app.config["PASSWORD_HASH_SLOTS"] or machine_cores()
    app.extensions["password_hash_slots"] = SlotGate(
        FairSlots(size), MachineSlots(Path(app.config["LOCK_DIR"]), "password-hash", size))


def _hashing() -> tuple[PasswordHasher, SlotGate]:
    return current_app.extensions["password_hasher"], current_app.extensions["password_hash_slots"]


def hash_password(password: str) -> str:
    hasher, slots = _hashing()
    with stepping_out(), slots.held():
        return hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> tuple[bool, bool]:
    """Return (matches, needs_rehash). A missing hash never matches but still costs a hash, against timing probes."""
    hasher, slots = _hashing()
    # The hash waits for a machine slot and runs without the GIL: the request's running slot serves another meanwhile.
    if not password_hash:
        with stepping_out(), slots.held():
            hasher.hash(password)
        return False, False
    try:
        with stepping_out(), slots.held():
            hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False, False
    return True, hasher.check_needs_rehash(password_hash)


def hash_secret(secret: str) -> str:
    """SHA-256 for high-entropy secrets (API keys, refresh token ids); passwords use argon2id instead."""
    return hashlib.sha256(secret.encode()).hexdigest()


# -- endpoint decorators -----------------------------------------------------------------------------------------

BEARER = [{"bearerAuth": []}]
API_KEY = [{"apiKeyAuth": []}]


# -- bearer tokens ------------------------------------------------------------------------------------------------

def verify_bearer_token(optional: bool = False) -> Any:
    """`verify_jwt_in_request(optional=...)` with one cheap parse for the common case, a valid access token.

    PyJWT, as flask-jwt-extended drives it, parses a token four times and checks each base64 segment character by
    character in Python: that was over half the CPU of `GET /me`. A well-formed HS256 access token in the
    Authorization header whose signature and time claims check out is verified here with the standard library
    (strict base64: a segment must be exactly the canonical encoding of its bytes), then goes through
    flask-jwt-extended's own type, revocation (our session check) and user-lookup callbacks, and is stored where
    `get_jwt()` and `get_current_user()` read it. Anything else (no header, another scheme, a bad signature, an
    expired token, other algorithms or claims) takes the library's own path, so every refusal is exactly its refusal.
    """
    decoded = _fast_decode()
    if decoded is None:
        return verify_jwt_in_request(optional=optional)
    header, claims = decoded
    verify_token_type(claims, refresh=False)
    verify_token_not_blocklisted(header, claims)
    custom_verification_for_token(header, claims)
    g._jwt_extended_jwt_user = _load_user(header, claims)
    g._jwt_extended_jwt_header = header
    g._jwt_extended_jwt = claims
    g._jwt_extended_jwt_location = "headers"
    return header, claims


def _b64decode_strict(segment: str) -> bytes | None:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except ValueError:
        return None
    return raw if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() == segment else None


# Tokens this process has verified (signature, form): a phone sends the same access token for its 15 minutes of
# life, so the second and later requests skip the base64, HMAC and JSON work. Per app (the secret is the app's);
# bounded; the time claims are checked again on every use.
VERIFIED_TOKENS_MAX = 10_000


def _fast_decode() -> tuple[dict, dict] | None:
    """(header, claims) of a valid access token in the Authorization header, or None to let the library decide."""
    config = current_app.config
    if (request.method == "OPTIONS" or config.get("JWT_TOKEN_LOCATION") != ["headers"]
            or config.get("JWT_ALGORITHM", "HS256") != "HS256" or config.get("JWT_DECODE_ALGORITHMS")
            or config.get("JWT_DECODE_AUDIENCE") or config.get("JWT_DECODE_ISSUER")
            or config.get("JWT_DECODE_LEEWAY", 0) or config.get("JWT_HEADER_NAME", "Authorization") != "Authorization"
            or config.get("JWT_HEADER_TYPE", "Bearer") != "Bearer" or config.get("JWT_IDENTITY_CLAIM", "sub") != "sub"):
        return None
    value = request.headers.get("Authorization", "")
    if not value.startswith("Bearer ") or value.count(".") != 2 or "," in value or " " in value[7:]:
        return None
    token = value[7:]
    verified: dict[str, tuple[dict, dict]] = current_app.extensions.setdefault("verified_tokens", {})
    decoded = verified.get(token)
    if decoded is None:
        decoded = _verify_signature_and_form(token, config["JWT_SECRET_KEY"])
        if decoded is None:
            return None
        if len(verified) >= VERIFIED_TOKENS_MAX:
            verified.clear()  # simplest bound: tokens live 15 minutes, so the live ones come back at once
        verified[token] = decoded
    header, claims = decoded
    if not _within_time_claims(claims):
        return None
    return dict(header), dict(claims)  # copies: the cached ones must not be changed by a request


def _verify_signature_and_form(token: str, secret: str | bytes) -> tuple[dict, dict] | None:
    head_b64, claims_b64, signature_b64 = token.split(".")
    head_raw, claims_raw, signature = (_b64decode_strict(part) for part in (head_b64, claims_b64, signature_b64))
    if head_raw is None or claims_raw is None or signature is None:
        return None
    expected = hmac.new(secret.encode() if isinstance(secret, str) else secret,
                        f"{head_b64}.{claims_b64}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        return None
    try:
        header, claims = json.loads(head_raw), json.loads(claims_raw)
    except ValueError:
        return None
    return (header, claims) if _plain_access_claims(header, claims) else None


def _plain_access_claims(header: Any, claims: Any) -> bool:
    """Only what this app issues: HS256, an access token with the claims flask-jwt-extended fills in."""
    if not isinstance(header, dict) or header.get("alg") != "HS256" or set(header) - {"alg", "typ"}:
        return False
    if not isinstance(claims, dict) or not isinstance(claims.get("sub"), str) or "aud" in claims or "iss" in claims:
        return False
    exp, nbf, iat = claims.get("exp"), claims.get("nbf", 0), claims.get("iat", 0)
    numbers = all(isinstance(v, int) and not isinstance(v, bool) for v in (exp, nbf, iat))
    return (numbers and claims.get("type") == "access" and isinstance(claims.get("fresh"), bool | int | float)
            and "jti" in claims)


def _within_time_claims(claims: dict) -> bool:
    """Not expired, already valid, not issued in the future (checked on every use, cached or not)."""
    now = time.time()
    return claims["exp"] > now and claims.get("nbf", 0) <= now and claims.get("iat", 0) <= now


def _authenticated(kind: PrincipalKind) -> Principal:
    """The principal of the request's valid access token, which must be of `kind` (else 403)."""
    verify_bearer_token()
    principal: Principal = get_current_user()
    if principal.kind != kind:
        raise Forbidden(f"This endpoint is for {kind.value} accounts.", code="wrong_account_kind")
    return principal


def account_of(principal: Principal) -> Any:
    """The account row of `principal` (app.identity registers the account classes; app.core knows none)."""
    model = current_app.extensions["account_models"][principal.kind.value]
    account = db.session.get(model, principal.id)
    if account is None or not account.can_sign_in:  # gone or deactivated since the session check
        raise Unauthorized("The account is no longer available.", code="account_unavailable")
    return account


def guest_required(fn: F) -> F:
    """Only a logged-in guest: `current_guest_id()`, and `current_guest()` loads the profile when needed."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.guest_principal = _authenticated(PrincipalKind.GUEST)
        return fn(*args, **kwargs)

    return Blueprint.doc(security=BEARER)(wrapper)


def guest_optional(fn: F) -> F:
    """Open to anyone; a logged-in guest is recognised (`current_guest_or_none()`), e.g. for member prices."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.guest_principal = None
        if verify_bearer_token(optional=True) is not None:
            g.guest_principal = _authenticated(PrincipalKind.GUEST)
        return fn(*args, **kwargs)

    return Blueprint.doc(security=[{}, *BEARER])(wrapper)


def staff_required(*roles: Role) -> Callable[[F], F]:
    """Only staff with one of `roles` (any staff when none given); hotel scoping is the service's job."""
    allowed = set(roles or ALL_STAFF)

    def decorator(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            staff = account_of(_authenticated(PrincipalKind.STAFF))
            if staff.role not in allowed:
                raise Forbidden("Your role does not allow this.", code="role_forbidden")
            g.staff = staff
            return fn(*args, **kwargs)

        wrapper.__doc__ = fn.__doc__
        return Blueprint.doc(security=BEARER, description=_roles_note(allowed))(wrapper)

    return decorator


def _roles_note(roles: set[Role]) -> str:
    return "Staff roles: " + ", ".join(sorted(role.value for role in roles)) + "."


def account_required(fn: F) -> F:
    """Any logged-in account, guest or staff (sessions, logout)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verify_bearer_token()
        return fn(*args, **kwargs)

    return Blueprint.doc(security=BEARER)(wrapper)


# Set by create_app: resolves an API key to a service account (app.identity owns the table).
ApiKeyResolver = Callable[[str], Any]


def api_key_required(*kinds: ServiceKind) -> Callable[[F], F]:
    """Only machines holding a live API key of one of `kinds`: `Authorization: ApiKey <key>` or `X-API-Key`."""

    def decorator(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = _presented_api_key()
            if not key:
                raise Unauthorized("An API key is required.", code="api_key_missing")
            account = current_app.extensions["api_key_resolver"](key)
            if account is None:
                raise Unauthorized("The API key is not valid.", code="api_key_invalid")
            if kinds and account.kind not in kinds:
                raise Forbidden("This key may not call this endpoint.", code="api_key_forbidden")
            g.service_account = account
            return fn(*args, **kwargs)

        return Blueprint.doc(security=API_KEY)(wrapper)

    return decorator


def _presented_api_key() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("ApiKey "):
        return header.removeprefix("ApiKey ").strip() or None
    return request.headers.get("X-API-Key") or None


def current_guest_id() -> int:
    """The logged-in guest's id, known without loading the profile (see guest_required)."""
    return g.guest_principal.id


def current_guest_principal() -> Principal:
    """The logged-in guest as the token names them (`.id`, and `audit_kind` for audit entries): for use cases that
    need no more of the profile, which `current_guest()` would load."""
    return g.guest_principal


def current_guest() -> Any:
    """The logged-in guest's profile, loaded on first use in the request."""
    guest = g.get("guest")
    if guest is None:
        guest = g.guest = account_of(g.guest_principal)
    return guest


def current_guest_or_none() -> Any:
    return current_guest() if g.get("guest_principal") is not None else None


def current_staff() -> Any:
    return g.staff


def current_service_account() -> Any:
    return g.service_account


def caller_scope() -> str:
    """A stable name for whoever calls: scopes idempotency keys and rate limits."""
    for attr, prefix in (("guest_principal", "guest"), ("staff", "staff"), ("service_account", "key")):
        principal = g.get(attr)
        if principal is not None:
            return f"{prefix}:{principal.id}"
    return f"anon:{request.remote_addr}"


def current_subject() -> tuple[PrincipalKind, int]:
    """Kind and id of the account whose token authenticated this request."""
    return parse_subject(get_jwt()["sub"])


def current_session_id() -> int:
    return int(get_jwt()["sid"])
