"""The one module that speaks HTTP to partners: Standard Webhooks signing and a POST over stdlib urllib.

Standard Webhooks (https://www.standardwebhooks.com/): headers `webhook-id`, `webhook-timestamp` (Unix seconds) and
`webhook-signature`, a space-separated list of "v1,<base64 HMAC-SHA256>" over "{id}.{timestamp}.{body}", keyed with
the base64-decoded part of the "whsec_..." secret. During a secret rotation every active secret signs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


def sign(*, msg_id: str, timestamp: int, body: str, secret: str) -> str:
    """One "v1,<signature>" for one secret."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{msg_id}.{timestamp}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def signed_headers(*, msg_id: str, timestamp: int, body: str, secrets: tuple[str, ...]) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "hotel-partner-webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(msg_id=msg_id, timestamp=timestamp, body=body, secret=s) for s in secrets),
    }


@dataclass(frozen=True)
class SendResult:
    status_code: int | None  # None when no HTTP answer came (refused, timed out)
    error: str | None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer other than 2xx: a failure to retry, never a POST re-sent elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class WebhookClient:
    """POSTs signed bodies; built per job run from config (no client made at import time)."""

    def __init__(self, *, timeout: float) -> None:
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirects)

    def send(self, *, url: str, msg_id: str, body: str, secrets: tuple[str, ...], timestamp: int) -> SendResult:
        headers = signed_headers(msg_id=msg_id, timestamp=timestamp, body=body, secrets=secrets)
        request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read(1024)
                return SendResult(response.status, None)
        except urllib.error.HTTPError as error:
            return SendResult(error.code, f"HTTP {error.code}")
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            return SendResult(None, f"{type(error).__name__}: {reason}"[:300])
