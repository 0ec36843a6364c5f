"""The one module that speaks HTTP to partners: Standard Webhooks signing and a POST over stdlib urllib.

Partners choose the URLs we POST to, so a URL could aim at the chain's own network (a database, the cloud's metadata
service at 169.254.169.254). Unless `allow_private_addresses` (development and tests, whose receivers are local),
the connection resolves the host itself and connects only if every address it resolves to is public; it connects to
the address it checked, so a DNS answer that changes between check and connect (rebinding) cannot slip through.

Standard Webhooks (https://www.standardwebhooks.com/): headers `webhook-id`, `webhook-timestamp` (Unix seconds) and
`webhook-signature`, a space-separated list of "v1,<base64 HMAC-SHA256>" over "{id}.{timestamp}.{body}", keyed with
the base64-decoded part of the "whsec_..." secret. During a secret rotation every active secret signs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
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


class AddressNotAllowed(OSError):
    """The URL's host resolves to a private, loopback, link-local or otherwise non-public address."""


def public_addresses(host: str, port: int) -> list[tuple[socket.AddressFamily, tuple[Any, ...]]]:
    """Every (family, address) `host` resolves to, or AddressNotAllowed if any of them is not public."""
    resolved = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not resolved:
        raise AddressNotAllowed(f"{host} does not resolve")
    for _, _, _, _, address in resolved:
        ip = ipaddress.ip_address(address[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
        if not ip.is_global or ip.is_multicast:
            raise AddressNotAllowed(f"{host} resolves to {ip}, which is not a public address")
    return [(family, address) for family, _, _, _, address in resolved]


def _connect_public(host: str, port: int, timeout: float | None) -> socket.socket:
    last_error: OSError = AddressNotAllowed(f"{host} does not resolve")
    for family, address in public_addresses(host, port):
        sock = socket.socket(family, socket.SOCK_STREAM)
        if timeout is not None:
            sock.settimeout(timeout)
        try:
            sock.connect(address)
            return sock
        except OSError as error:
            sock.close()
            last_error = error
    raise last_error


class _PublicHTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        self.sock = _connect_public(self.host, self.port, self.timeout)


class _PublicHTTPSConnection(http.client.HTTPSConnection):
    def connect(self) -> None:
        sock = _connect_public(self.host, self.port, self.timeout)
        # The certificate is checked against the host name, as for any https request.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _PublicHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(_PublicHTTPConnection, req)


class _PublicHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self) -> None:
        super().__init__(context=ssl.create_default_context())

    def https_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(_PublicHTTPSConnection, req, context=self._context)


class WebhookClient:
    """POSTs signed bodies; built per job run from config (no client made at import time)."""

    def __init__(self, *, timeout: float, allow_private_addresses: bool = False) -> None:
        self.timeout = timeout
        handlers: list[Any] = [_NoRedirects]
        if not allow_private_addresses:
            handlers += [_PublicHTTPHandler, _PublicHTTPSHandler()]
        self._opener = urllib.request.build_opener(*handlers)

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
