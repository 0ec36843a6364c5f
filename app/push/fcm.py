"""The FCM adapter: the ONLY module that imports firebase_admin. Plain dataclasses in, plain dataclasses out.

Facts it relies on (firebase-admin 7.x):
- FCM v1 takes one message per HTTP request. `messaging.send_each` (at most 500 messages) makes those requests
  on a thread pool it starts per call, one thread per message; FcmSender calls it with FCM_SEND_EACH_SIZE messages.
  `send_all`/`send_multicast` hit a removed endpoint and are not used.
- The endpoint is built once per firebase App, in `_MessagingService.__init__`, from the class attribute FCM_URL
  into the instance attribute `_fcm_url`. There is no public option for it, so development and tests point that
  instance's `_fcm_url` at a local server (app/push/dev_fcm_server.py); the class attribute is left alone, so
  nothing else in the process is redirected.
- With a static-token credential the library never calls Google's token endpoint: no network beyond the endpoint.
- FCM answers: 404 + FcmError UNREGISTERED (dead token: delete it); 400 INVALID_ARGUMENT + FcmError detail (bad
  token: delete it) or + BadRequest detail (bad payload: our bug, keep the token); 429 + Retry-After (quota);
  500/503 (retry later). firebase-admin maps these to exception classes; `_classify` maps them to our words.
"""

from __future__ import annotations

import itertools
import json as _json
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.request import getproxies

import firebase_admin
import requests
import urllib3
from firebase_admin import credentials, exceptions, messaging
from google.auth import credentials as google_credentials
from urllib3.util import parse_url, retry

log = logging.getLogger(__name__)

_names = itertools.count(1)
MAX_PER_CALL = 500  # firebase-admin's limit for send_each


@dataclass(frozen=True)
class PushMessage:
    token: str
    title: str
    body: str
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PushResult:
    """`error` is None on success, else one of: unregistered, invalid_token, invalid_payload, quota, unavailable,
    other. `retry_after` (seconds) comes from a 429's Retry-After header."""

    message_id: str | None = None
    error: str | None = None
    detail: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class _StaticTokenCredential(google_credentials.Credentials):
    """A bearer token that never expires and never refreshes: for the local server, which checks only its shape."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.expiry = None

    def refresh(self, request: Any) -> None:
        """Nothing to refresh: the token is static."""


class LocalCredential(credentials.Base):
    def __init__(self, token: str = "local-dev-token") -> None:
        self._credential = _StaticTokenCredential(token)

    def get_credential(self) -> google_credentials.Credentials:
        return self._credential


class FcmSender:
    """Sends through the real firebase-admin library, to FCM or to the endpoint given (a local server).

    Messages go out in `messaging.send_each` calls of `per_call` messages (at most 500, the library's limit). FCM v1
    takes one message per HTTP request, and `send_each` makes those requests at once on a thread pool it starts per
    call, one thread per message: `per_call` is how many requests a sender process has in flight. It is kept well
    under 500 because each call waits for its slowest answer and each thread needs its own keep-alive connection
    (`pool_size`); more throughput comes from more sender processes (`flask push send --loop`), see
    docs/decisions.md "Push: sending faster, second pass".
    """

    def __init__(self, *, project_id: str, endpoint: str | None = None, credentials_file: str | None = None,
                 timeout: float = 10.0, pool_size: int = 64, per_call: int = 16) -> None:
        self._per_call = max(1, min(per_call, MAX_PER_CALL))
        credential = credentials.Certificate(credentials_file) if credentials_file else LocalCredential()
        self._app = firebase_admin.initialize_app(
            credential, {"projectId": project_id, "httpTimeout": timeout}, name=f"push-sender-{next(_names)}")
        if endpoint:
            _point_at(self._app, endpoint.rstrip("/"), project_id)
        # A configured endpoint is reached directly (no proxy lookup); FCM itself through HTTPS_PROXY if set.
        _use_lean_transport(self._app, credential, pool_size=max(pool_size, self._per_call), direct=bool(endpoint))

    def send(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        """Send every message; one result per message, in order. FCM's answers (errors included) are results;
        a message the library refuses to encode is raised once every other message has been tried."""
        with warnings.catch_warnings():
            # 7.x deprecates `token` for Firebase installation ids (`fid`); the app registers FCM tokens,
            # which FCM v1 still takes. Moving to fids is a change of what the app registers (decisions.md).
            warnings.filterwarnings("ignore", "Message.token is deprecated", DeprecationWarning)
            batch = [_to_fcm(message) for message in messages]
        results: list[PushResult] = []
        refused: ValueError | None = None
        for start in range(0, len(batch), self._per_call):
            chunk = batch[start:start + self._per_call]
            try:
                results.extend(_result(answer) for answer in self._send_each(chunk))
            except ValueError as error:
                # send_each encodes the whole call before sending any of it: one bad message stops its
                # neighbours. Send them one by one so only the bad one is left out (a bug of ours, raised).
                refused = error
                for message in chunk:
                    try:
                        results.extend(_result(answer) for answer in self._send_each([message]))
                    except ValueError as single:
                        refused = single
        if refused is not None:
            raise refused
        return results

    def _send_each(self, messages: list[messaging.Message]) -> list[messaging.SendResponse]:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Message.token is deprecated", DeprecationWarning)
            return messaging.send_each(messages, app=self._app).responses

    def close(self) -> None:
        firebase_admin.delete_app(self._app)


class LoggingSender:
    """Development without any server: log each message and call it delivered."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def send(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        results = []
        for message in messages:
            log.info("push to %s...: %s / %s %s", message.token[:12], message.title, message.body, message.data)
            results.append(PushResult(message_id=f"logged/{next(self._ids)}"))
        return results

    def close(self) -> None:
        """Nothing to release."""


def _point_at(app: firebase_admin.App, endpoint: str, project_id: str) -> None:
    service = messaging._get_messaging_service(app)  # private: no public option exists (module doc)
    service._fcm_url = f"{endpoint}/v1/projects/{project_id}/messages:send"


def _use_lean_transport(app: firebase_admin.App, credential: credentials.Base, *, pool_size: int,
                        direct: bool) -> None:
    """Give firebase-admin's HTTP client a lean session (see _LeanSession); everything else stays the library's."""
    service = messaging._get_messaging_service(app)
    client = service._client
    client._session = _LeanSession(credential.get_credential(), pool_size=pool_size, direct=direct)


class _LeanSession:
    """The one method of a requests.Session that firebase-admin's HttpClient calls, `request()`, made directly
    on a urllib3 connection pool.

    requests spends about half of firebase-admin's CPU per message (measured in bench/: preparing and merging
    settings, hooks, cookies, adapters) and gives nothing a JSON POST to FCM needs. The answer is returned as a
    requests.Response and failures are raised as requests exceptions, so the library's error mapping (FCM error
    codes, Retry-After, unavailable) is unchanged. Authorization comes from the google-auth credential, which
    refreshes its token when due. Retries on 5xx are ours (durable, with back-off); the pool retries a dropped
    connection once. One keep-alive connection per sending thread, up to `pool_size`.
    """

    def __init__(self, credential: google_credentials.Credentials, *, pool_size: int, direct: bool) -> None:
        import certifi
        from google.auth.transport.requests import Request

        self._credential = credential
        self._refresh_request = Request()
        self._retries = retry.Retry(connect=1, read=1, status=0, redirect=0, allowed_methods=None,
                                    raise_on_status=False)
        proxy = None if direct else getproxies().get("https")  # the proxy requests would have used
        options = {"maxsize": pool_size, "block": False, "ca_certs": certifi.where()}
        self._pool = urllib3.ProxyManager(proxy, **options) if proxy else urllib3.PoolManager(**options)
        self._pool.pool_classes_by_scheme = _ONE_WRITE_POOLS  # urllib3's hook for the pool (and connection) class
        self._proxied = bool(proxy)
        self._routes: dict[str, tuple[Any, str]] = {}  # url -> (connection pool, request target)
        self.headers: dict[str, str] = {}

    def request(self, method: str, url: str, *, json: Any = None, data: Any = None,
                headers: dict[str, str] | None = None, timeout: float | None = None, **_: Any) -> requests.Response:
        send_headers = {**self.headers, **(headers or {})}
        self._credential.before_request(self._refresh_request, method, url, send_headers)
        body = data
        if json is not None:
            body = _json.dumps(json, separators=(",", ":")).encode()
            send_headers["Content-Type"] = "application/json; charset=UTF-8"
        try:
            pool, target = self._route(url)
            answer = pool.urlopen(method.upper(), target, body=body, headers=send_headers, timeout=timeout,
                                  retries=self._retries, redirect=False, assert_same_host=False,
                                  preload_content=True)
        except urllib3.exceptions.TimeoutError as error:
            raise requests.exceptions.Timeout(str(error)) from error
        except urllib3.exceptions.HTTPError as error:
            raise requests.exceptions.ConnectionError(str(error)) from error
        response = requests.Response()
        response.status_code, response.reason, response.url = answer.status, answer.reason, url
        response.headers = answer.headers  # urllib3's HTTPHeaderDict: case-insensitive, like requests' own
        response._content, response.encoding = answer.data, "utf-8"
        return response

    def _route(self, url: str) -> tuple[Any, str]:
        """The connection pool and request target of `url`, looked up once per URL (PoolManager.urlopen parses the
        URL and normalises a pool key on every call). A plain-http URL through a proxy goes the manager's way."""
        route = self._routes.get(url)
        if route is None or route[0].pool is None:  # unknown, or a pool the manager has since closed
            if self._proxied and url.startswith("http:"):
                return self._pool, url
            route = self._routes[url] = (self._pool.connection_from_url(url), parse_url(url).request_uri)
        return route

    def mount(self, *_: Any) -> None:
        """Adapters are requests' business; this session has its own pool."""

    def close(self) -> None:
        self._pool.clear()


class _OneWrite:
    """A request in one write instead of two: http.client sends the head with one send() (in endheaders) and
    urllib3 the body with another, so the server wakes up twice per request. The head is held and leaves with
    the body, or before the answer is awaited when there is no body. A connection not yet open is opened
    first, so a proxy tunnel's CONNECT still goes out on its own."""

    _holding = False
    _held: bytes | None = None

    def endheaders(self, message_body: Any = None, *, encode_chunked: bool = False) -> None:
        self._holding = message_body is None  # a body given here leaves in the same send() anyway
        try:
            super().endheaders(message_body, encode_chunked=encode_chunked)  # type: ignore[misc]
        finally:
            self._holding = False

    def send(self, data: Any) -> None:
        if self._holding and isinstance(data, bytes):
            self._held = data
            return
        held, self._held = self._held, None
        if held is not None:
            if self.sock is None:  # type: ignore[attr-defined]
                self.connect()  # type: ignore[attr-defined]
            data = held + bytes(data)
        super().send(data)  # type: ignore[misc]

    def getresponse(self) -> Any:
        if self._held is not None:
            self.send(b"")
        return super().getresponse()  # type: ignore[misc]

    def close(self) -> None:
        self._held = None
        super().close()  # type: ignore[misc]


class _OneWriteHTTPConnection(_OneWrite, urllib3.connection.HTTPConnection):
    pass


class _OneWriteHTTPSConnection(_OneWrite, urllib3.connection.HTTPSConnection):
    pass


class _OneWriteHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _OneWriteHTTPConnection


class _OneWriteHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _OneWriteHTTPSConnection


_ONE_WRITE_POOLS = {"http": _OneWriteHTTPPool, "https": _OneWriteHTTPSPool}


def _to_fcm(message: PushMessage) -> messaging.Message:
    return messaging.Message(
        token=message.token,
        notification=messaging.Notification(title=message.title, body=message.body),
        data=dict(message.data),
        android=messaging.AndroidConfig(priority="high"),
        apns=messaging.APNSConfig(payload=messaging.APNSPayload(aps=messaging.Aps(sound="default"))),
    )


def _result(answer: messaging.SendResponse) -> PushResult:
    return PushResult(message_id=answer.message_id) if answer.success else _classify(answer.exception)


def _classify(error: exceptions.FirebaseError | None) -> PushResult:
    detail = str(error)[:500] if error else None
    if isinstance(error, messaging.UnregisteredError):
        return PushResult(error="unregistered", detail=detail)
    if isinstance(error, messaging.QuotaExceededError | exceptions.ResourceExhaustedError):
        return PushResult(error="quota", detail=detail, retry_after=_retry_after(error))
    if isinstance(error, exceptions.InvalidArgumentError):
        # An FcmError detail names a bad token; a BadRequest detail (no FCM code) a bad payload.
        return PushResult(error="invalid_token" if _fcm_error_code(error) else "invalid_payload", detail=detail)
    if isinstance(error, exceptions.UnavailableError | exceptions.InternalError | exceptions.DeadlineExceededError):
        return PushResult(error="unavailable", detail=detail)
    if isinstance(error, exceptions.UnknownError) and getattr(error, "http_response", None) is None:
        return PushResult(error="unavailable", detail=detail)  # no answer at all (connection refused, timeout)
    return PushResult(error="other", detail=detail)


def _fcm_error_code(error: exceptions.FirebaseError) -> str | None:
    response = error.http_response
    try:
        details = response.json()["error"].get("details", []) if response is not None else []
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    for item in details:
        if isinstance(item, dict) and item.get("@type", "").endswith("google.firebase.fcm.v1.FcmError"):
            return item.get("errorCode")
    return None


def _retry_after(error: exceptions.FirebaseError) -> float | None:
    response = error.http_response
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date; the caller's back-off applies


def build_sender(config: dict[str, Any]) -> FcmSender | LoggingSender:
    """The sender the config names: "fcm" (real library; FCM_ENDPOINT may point it at a local server) or "logging"."""
    if config["PUSH_SENDER"] == "logging":
        return LoggingSender()
    return FcmSender(project_id=config["FCM_PROJECT_ID"], endpoint=config.get("FCM_ENDPOINT") or None,
                     credentials_file=config.get("FCM_CREDENTIALS_FILE") or None,
                     timeout=config["FCM_TIMEOUT_SECONDS"], pool_size=config["FCM_HTTP_POOL"],
                     per_call=config["FCM_SEND_EACH_SIZE"])


def sender() -> FcmSender | LoggingSender:
    """The process's sender, built from config on first use (never at import time)."""
    from flask import current_app

    extensions = current_app.extensions
    if "push_sender" not in extensions:
        extensions["push_sender"] = build_sender(current_app.config)
    return extensions["push_sender"]


def reset_sender() -> None:
    """Drop the process's sender (tests that change the config)."""
    from flask import current_app

    old = current_app.extensions.pop("push_sender", None)
    if old is not None:
        old.close()
