"""flask-jwt-extended callbacks: who a token belongs to, whether its session is alive, errors as problems."""

from __future__ import annotations

from flask import Flask, Response, current_app, g

from app.core.auth import Principal, parse_subject
from app.core.errors import problem
from app.extensions import jwt
from app.identity import services


def register_jwt_callbacks(app: Flask, *, account_models: dict[str, type]) -> None:
    """Wire token checks to this app. `account_models` maps a kind ("guest") to its account class."""
    app.extensions["account_models"] = account_models
    app.extensions["api_key_resolver"] = services.resolve_api_key

    @jwt.token_in_blocklist_loader
    def session_ended(_header: dict, payload: dict) -> bool:
        # Every token names its session. One query answers both questions flask-jwt-extended asks (is the token
        # revoked? may its account still sign in?); the answer to the second is kept for the lookup that follows.
        kind, principal_id = parse_subject(payload["sub"])
        alive, can_sign_in = services.load_session_principal(
            model=current_app.extensions["account_models"][kind.value], kind=kind.value,
            principal_id=principal_id, session_id=payload.get("sid"),
        )
        g.token_principal = Principal(kind, principal_id) if can_sign_in else None
        return not alive

    @jwt.user_lookup_loader
    def load_principal(_header: dict, _payload: dict) -> Principal | None:
        # Who the token speaks for, not the account row: app.core.auth loads that when an endpoint needs it.
        return g.pop("token_principal", None)

    def unauthorized(code: str, detail: str) -> Response:
        return problem(401, code, "Unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})

    jwt.unauthorized_loader(lambda reason: unauthorized("token_missing", "A bearer token is required."))
    jwt.invalid_token_loader(lambda reason: unauthorized("token_invalid", "The token is not valid."))
    jwt.expired_token_loader(lambda _h, _p: unauthorized("token_expired", "The token has expired; refresh it."))

    @jwt.revoked_token_loader
    def refused_revoked(_header: dict, payload: dict) -> Response:
        # An erased account's app may be retrying the erasure whose answer it lost: tell it the erasure happened.
        if services.session_end_reason(session_id=payload.get("sid")) == "erased":
            return unauthorized("account_erased", "This account was erased at its owner's request.")
        return unauthorized("session_ended", "The session has ended; log in again.")

    jwt.needs_fresh_token_loader(
        lambda _h, _p: unauthorized("fresh_login_required", "Log in again to do this.")
    )
    jwt.user_lookup_error_loader(
        lambda _h, _p: unauthorized("account_unavailable", "The account is no longer available.")
    )
