"""Bearer tokens: the quick check of a valid access token accepts exactly what flask-jwt-extended would, no more."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from tests.factories import PASSWORD, make_guest


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _sign(header: dict, claims: dict, secret: str) -> str:
    head, body = _b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(signature)}"


def _claims(token: str) -> dict:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def _me(client, token: str):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def tokens(client) -> dict:
    make_guest(email="vera@example.com")
    response = client.post("/api/v1/auth/login", json={"login": "vera@example.com", "password": PASSWORD})
    assert response.status_code == 200, response.json
    return response.json


def test_a_valid_access_token_opens_the_profile(client, tokens) -> None:
    response = _me(client, tokens["access_token"])
    assert response.status_code == 200 and response.json["email"] == "vera@example.com"


def test_a_refresh_token_is_no_access_token(client, tokens) -> None:
    response = _me(client, tokens["refresh_token"])
    assert response.status_code == 401 and response.json["code"] == "token_invalid"


def test_a_signature_in_a_non_canonical_encoding_is_refused(client, tokens) -> None:
    head, body, signature = tokens["access_token"].split(".")
    # 32 bytes take 43 characters; the last one carries 2 bits and 4 unused ones. Setting an unused bit keeps
    # the bytes a lenient decoder sees, but it is another token, and PyJWT refuses it.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(signature[-1])
    twin = signature[:-1] + alphabet[last ^ 1]
    assert base64.urlsafe_b64decode(twin + "=") == base64.urlsafe_b64decode(signature + "=")
    response = _me(client, f"{head}.{body}.{twin}")
    assert response.status_code == 401 and response.json["code"] == "token_invalid"


def test_tokens_not_signed_with_our_key_or_algorithm_are_refused(client, app, tokens) -> None:
    claims = _claims(tokens["access_token"])
    assert _me(client, _sign({"alg": "HS256", "typ": "JWT"}, claims, app.config["JWT_SECRET_KEY"])).status_code == 200
    forged = _sign({"alg": "HS256", "typ": "JWT"}, claims, "another secret of at least thirty-two chars")
    assert _me(client, forged).json["code"] == "token_invalid"
    head, body = _b64(b'{"alg":"none","typ":"JWT"}'), _b64(json.dumps(claims).encode())
    assert _me(client, f"{head}.{body}.").json["code"] == "token_invalid"
    other_account = {**claims, "sub": "guest:999999"}  # the signature no longer matches the claims
    head, body, signature = tokens["access_token"].split(".")
    assert _me(client, f"{head}.{_b64(json.dumps(other_account).encode())}.{signature}").status_code == 401


def test_expired_and_not_yet_valid_tokens_are_refused(client, app, tokens) -> None:
    secret, header = app.config["JWT_SECRET_KEY"], {"alg": "HS256", "typ": "JWT"}
    claims, now = _claims(tokens["access_token"]), int(time.time())
    expired = _me(client, _sign(header, {**claims, "exp": now - 5}, secret))
    assert expired.status_code == 401 and expired.json["code"] == "token_expired"
    early = _me(client, _sign(header, {**claims, "nbf": now + 600}, secret))
    assert early.status_code == 401 and early.json["code"] == "token_invalid"


def test_a_logged_out_session_ends_its_access_tokens_at_once(client, tokens) -> None:
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.post("/api/v1/auth/logout", headers=headers).status_code in (200, 204)
    response = _me(client, tokens["access_token"])
    assert response.status_code == 401 and response.json["code"] == "session_ended"


def test_a_cached_token_is_no_longer_accepted_once_it_expires(app, tokens, monkeypatch) -> None:
    # The quick check caches verified tokens; their time claims are checked on every use. Past expiry it hands the
    # token to flask-jwt-extended (which refuses it with token_expired, as test_expired_and_not_yet_valid_... shows).
    from app.core import auth

    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    for _ in range(2):  # the second time from the cache
        with app.test_request_context("/api/v1/me", headers=headers):
            assert auth._fast_decode() is not None
    assert tokens["access_token"] in app.extensions["verified_tokens"]
    expires = _claims(tokens["access_token"])["exp"]
    monkeypatch.setattr(time, "time", lambda: expires + 1)
    with app.test_request_context("/api/v1/me", headers=headers):
        assert auth._fast_decode() is None


def test_the_verified_tokens_cache_is_bounded(client, app, tokens, monkeypatch) -> None:
    from app.core import auth

    monkeypatch.setattr(auth, "VERIFIED_TOKENS_MAX", 2)
    secret, header, claims = app.config["JWT_SECRET_KEY"], {"alg": "HS256", "typ": "JWT"}, _claims(
        tokens["access_token"])
    for n in range(5):  # five distinct valid tokens of the same session
        assert _me(client, _sign(header, {**claims, "jti": f"token-{n}"}, secret)).status_code == 200
        assert len(app.extensions["verified_tokens"]) <= 2
