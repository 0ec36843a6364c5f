"""flask-jwt-extended callbacks: who a token belongs to, whether its session is alive, errors as problems."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app

from app.core.auth import parse_subject
from app.core.errors import problem
from app.extensions import jwt
from app.identity import services

PrincipalLoader = Callable[[int], Any]


def register_jwt_callbacks(app: Flask, *, principal_loaders: dict[str, PrincipalLoader]) -> None:
    """Wire token checks to this app. `principal_loaders` maps a kind ("guest") to a loader of active accounts."""
    app.extensions["principal_loaders"] = principal_loaders
    app.extensions["api_key_resolver"] = services.resolve_api_key

    @jwt.user_lookup_loader
    def load_principal(_header: dict, payload: dict) -> Any:
        kind, principal_id = parse_subject(payload["sub"])
        return current_app.extensions["principal_loaders"][kind.value](principal_id)

    @jwt.token_in_blocklist_loader
    def session_ended(_header: dict, payload: dict) -> bool:
        # Every token names its session: logout, password change and theft detection end it for all its tokens.
        return not services.is_session_active(payload.get("sid"))

    def unauthorized(code: str, detail: str) -> Response:
        return problem(401, code, "Unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})

    jwt.unauthorized_loader(lambda reason: unauthorized("token_missing", "A bearer token is required."))
    jwt.invalid_token_loader(lambda reason: unauthorized("token_invalid", "The token is not valid."))
    jwt.expired_token_loader(lambda _h, _p: unauthorized("token_expired", "The token has expired; refresh it."))
    jwt.revoked_token_loader(lambda _h, _p: unauthorized("session_ended", "The session has ended; log in again."))
    jwt.needs_fresh_token_loader(
        lambda _h, _p: unauthorized("fresh_login_required", "Log in again to do this.")
    )
    jwt.user_lookup_error_loader(
        lambda _h, _p: unauthorized("account_unavailable", "The account is no longer available.")
    )
