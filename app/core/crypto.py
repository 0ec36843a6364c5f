"""Encryption at rest for sensitive fields (identity documents), with rotatable keys.

DATA_ENCRYPTION_KEYS is a list of Fernet keys: the first encrypts, every one decrypts. To rotate, put a new key
first, keep the old ones, run `flask keys rotate` (re-encrypts every row), then drop the old key.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator


def init_keyring(app: Flask) -> None:
    keys = app.config["DATA_ENCRYPTION_KEYS"]
    if not keys:
        raise RuntimeError("DATA_ENCRYPTION_KEYS is empty")
    app.extensions["keyring"] = MultiFernet([Fernet(key) for key in keys])


def _keyring() -> MultiFernet:
    return current_app.extensions["keyring"]


def encrypt(plaintext: bytes) -> str:
    return _keyring().encrypt(plaintext).decode()


def decrypt(token: str) -> bytes:
    try:
        return _keyring().decrypt(token.encode())
    except InvalidToken as exc:
        raise RuntimeError("cannot decrypt a field: is its key missing from DATA_ENCRYPTION_KEYS?") from exc


def rotate(token: str) -> str:
    """Re-encrypt under the first key (no-op in meaning, new ciphertext)."""
    return _keyring().rotate(token.encode()).decode()


class EncryptedJSON(TypeDecorator):
    """A JSON value stored as Fernet ciphertext: the database (and its backups) never see the plaintext."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return encrypt(json.dumps(value, ensure_ascii=False).encode())

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        if value is None:
            return None
        return json.loads(decrypt(value))
