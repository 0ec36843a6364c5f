"""Voucher codes: the booking id and an HMAC of it under VOUCHER_SIGNING_KEY, so a partner can tell a real code
from an invented one, and nobody without the key can make one ("EXP-42-K7Q2...", typeable, case-insensitive)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from flask import current_app

PREFIX = "EXP"
# 20 base32 characters = 100 bits of HMAC-SHA256: out of reach of guessing, short enough to read out.
SIGNATURE_CHARS = 20
CODE_PATTERN = re.compile(rf"^{PREFIX}-([1-9][0-9]{{0,18}})-([A-Z2-7]{{{SIGNATURE_CHARS}}})$")


def _signature(booking_id: int) -> str:
    key = current_app.config["VOUCHER_SIGNING_KEY"].encode()
    digest = hmac.new(key, f"experience_booking:{booking_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:SIGNATURE_CHARS]


def voucher_code(booking_id: int) -> str:
    return f"{PREFIX}-{booking_id}-{_signature(booking_id)}"


def booking_id_from(code: str) -> int | None:
    """The booking id a genuine code names, or None for a malformed or forged one (compared in constant time)."""
    match = CODE_PATTERN.match(code.strip().upper())
    if match is None:
        return None
    booking_id = int(match.group(1))
    if booking_id > 2**63 - 1 or not hmac.compare_digest(match.group(2), _signature(booking_id)):
        return None
    return booking_id
