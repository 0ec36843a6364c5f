"""A local server that speaks FCM HTTP v1 `messages:send`, for development and tests (there is no FCM emulator).

    python -m app.push.dev_fcm_server --port 9099       (the Procfile's `fcm:` line)

It answers like FCM: 200 {"name": "projects/<p>/messages/<id>"}; 404 NOT_FOUND with an FcmError detail
UNREGISTERED for a dead token; 400 INVALID_ARGUMENT with an FcmError detail for a malformed token, or with a
BadRequest detail for a bad payload; 429 RESOURCE_EXHAUSTED (FcmError QUOTA_EXCEEDED) with Retry-After; 500/503.
Tests tell it which tokens get which answer (`server.answer(token, "unregistered", times=...)`); tokens that start
with `dead-` are always unregistered, so a developer can try pruning by hand. Messages it accepted are recorded
(`server.messages`) and listed at GET /__dev/messages. It never imports firebase_admin: it is the other side.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import re
import socket
import threading
from collections import deque
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

log = logging.getLogger(__name__)

SEND_PATH = re.compile(r"^/v1/projects/(?P<project>[A-Za-z0-9_.:-]+)/messages:send$")
FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
KINDS = ("unregistered", "invalid_token", "bad_payload", "quota", "unavailable", "internal")


@dataclass
class _Rule:
    kind: str
    times: int | None  # None: for ever
    retry_after: int


def _error(status: int, rpc_status: str, message: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {"error": {"code": status, "message": message, "status": rpc_status, "details": [detail]}}


# kind -> (HTTP status, body)
_ANSWERS: dict[str, tuple[int, dict[str, Any]]] = {
    "unregistered": (404, _error(404, "NOT_FOUND", "Requested entity was not found.",
                                 {"@type": FCM_ERROR, "errorCode": "UNREGISTERED"})),
    "invalid_token": (400, _error(400, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration "
                                  "token", {"@type": FCM_ERROR, "errorCode": "INVALID_ARGUMENT"})),
    "bad_payload": (400, _error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.",
                                {"@type": BAD_REQUEST, "fieldViolations": [{"field": "message",
                                                                            "description": "Invalid payload"}]})),
    "quota": (429, _error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Messages sent'.",
                          {"@type": FCM_ERROR, "errorCode": "QUOTA_EXCEEDED"})),
    "unavailable": (503, _error(503, "UNAVAILABLE", "The service is currently unavailable.",
                                {"@type": FCM_ERROR, "errorCode": "UNAVAILABLE"})),
    "internal": (500, _error(500, "INTERNAL", "Internal error encountered.",
                             {"@type": FCM_ERROR, "errorCode": "INTERNAL"})),
}


class FcmState:
    """What the server has accepted and how it should answer; shared by the handler threads."""

    def __init__(self, keep: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: dict[str, _Rule] = {}
        self._ids = itertools.count(1)
        self.messages: deque[dict[str, Any]] = deque(maxlen=keep)  # accepted messages, oldest first
        self.accepted = 0
        self.requests = 0

    def answer(self, token: str, kind: str, *, times: int | None = None, retry_after: int = 1) -> None:
        """Answer `kind` (one of KINDS) for `token`, the next `times` times (always when None)."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        with self._lock:
            self._rules[token] = _Rule(kind, times, retry_after)

    def reset(self) -> None:
        with self._lock:
            self._rules.clear()
            self.messages.clear()
            self.accepted = self.requests = 0

    def tokens(self) -> list[str]:
        """Tokens of the accepted messages, in order (a token sent twice appears twice)."""
        with self._lock:
            return [message.get("token") for message in self.messages]

    def handle(self, project: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        message = body.get("message") if isinstance(body, dict) else None
        with self._lock:
            self.requests += 1
            if not isinstance(message, dict) or not any(k in message for k in ("token", "fid", "topic", "condition")):
                status, answer = _ANSWERS["bad_payload"]
                return status, answer, {}
            token = message.get("token") or message.get("fid") or ""
            rule = self._take_rule(token)
            if rule is not None:
                status, answer = _ANSWERS[rule.kind]
                headers = {"Retry-After": str(rule.retry_after)} if rule.kind == "quota" else {}
                return status, answer, headers
            if body.get("validate_only"):
                return 200, {"name": f"projects/{project}/messages/fake_message_id"}, {}
            self.accepted += 1
            self.messages.append(message)
            return 200, {"name": f"projects/{project}/messages/{next(self._ids)}"}, {}

    def _take_rule(self, token: str) -> _Rule | None:
        if token.startswith("dead-"):
            return _Rule("unregistered", None, 0)
        rule = self._rules.get(token)
        if rule is None:
            return None
        if rule.times is not None:
            rule.times -= 1
            if rule.times <= 0:
                del self._rules[token]
        return rule


_REASONS = {status.value: status.phrase for status in HTTPStatus}
_MAX_HEAD = 64 * 1024  # a request head larger than this is refused (431) and the connection closed
_NOT_FOUND = {"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}}
_UNAUTHENTICATED = {"error": {"code": 401, "message": "Missing credentials", "status": "UNAUTHENTICATED"}}


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: just enough of the protocol for firebase-admin and curl.

    Why not http.server: a thread per connection and the email package's header parser cost about 0.25 ms of CPU
    per request, as much as a third of what the sender under test spends per message, on the same cores
    (bench/push-RESULTS.md). FCM itself does not share our CPU, so the local server should cost as little as it can.
    Requests are framed by Content-Length (firebase-admin always sends one); chunked request bodies are refused
    (411), as http.server did not read them either. Pipelined requests are answered in order.
    """

    def __init__(self, server: FcmServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._buffer = b""
        self._head: tuple[str, str, dict[str, str], bool, int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        if self._server._stopped is not None and self._server._stopped.is_set():
            transport.abort()  # accepted while stopping
            return
        self._server._connections.add(transport)  # asyncio sets TCP_NODELAY: each answer leaves at once

    def connection_lost(self, exc: Exception | None) -> None:
        self._server._connections.discard(self._transport)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        while buffer:
            if self._head is None:  # a head that arrived before its body is parsed once, not again per segment
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(buffer) > _MAX_HEAD:
                        self._close_with(431, "Request header too large")
                        return
                    break
                self._head = self._read_head(buffer[:end])
                if self._head is None:
                    return
                buffer = buffer[end + 4:]
            method, target, headers, keep_alive, length = self._head
            if len(buffer) < length:
                break
            self._head = None
            body, buffer = buffer[:length], buffer[length:]
            status, answer, extra = self._server.respond(method, target, headers, body)
            self._write(status, answer, extra, keep_alive)
            if not keep_alive:
                return
        self._buffer = buffer

    def _read_head(self, head: bytes) -> tuple[str, str, dict[str, str], bool, int] | None:
        """(method, target, headers, keep-alive, body length), or None after answering a request we refuse."""
        request = _parse_head(head)
        if request is None:
            self._close_with(400, "Malformed request")
            return None
        if "transfer-encoding" in request[2]:
            self._close_with(411, "Content-Length required")
            return None
        try:
            length = int(request[2].get("content-length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self._close_with(400, "Bad Content-Length")
            return None
        return *request, length

    def _write(self, status: int, answer: dict[str, Any], extra: dict[str, str], keep_alive: bool) -> None:
        data = json.dumps(answer).encode()
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, '')}", "Content-Type: application/json; charset=UTF-8",
                 f"Content-Length: {len(data)}"]
        lines.extend(f"{name}: {value}" for name, value in extra.items())
        if not keep_alive:
            lines.append("Connection: close")
        lines.append("\r\n")
        self._transport.write("\r\n".join(lines).encode("latin-1") + data)  # one write: no delayed-ACK wait
        if not keep_alive:
            self._transport.close()

    def _close_with(self, status: int, message: str) -> None:
        self._buffer, self._head = b"", None
        self._write(status, {"error": {"code": status, "message": message, "status": "INVALID_ARGUMENT"}}, {},
                    keep_alive=False)


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str], bool] | None:
    """(method, target, headers with lower-case names, keep-alive) or None when the head is malformed."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return None
    headers = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            return None
        headers[name.lower()] = value.strip()
    connection = headers.get("connection", "").lower()
    keep_alive = "close" not in connection if parts[2] == "HTTP/1.1" else "keep-alive" in connection
    return parts[0], parts[1], headers, keep_alive


class FcmServer:
    """`FcmServer(("127.0.0.1", 0))` binds an ephemeral port; `.url` is the base URL to configure as FCM_ENDPOINT.

    An asyncio server on one thread (`start()` for tests, `serve_forever()` for the command line). The socket is
    bound in the constructor, so `server_address` and `url` are known before it serves.
    """

    def __init__(self, address: tuple[str, int] = ("127.0.0.1", 0), *, keep: int | None = None) -> None:
        self.state = FcmState(keep=keep)
        self._socket = socket.create_server(address, backlog=256, reuse_port=False)
        self.server_address = self._socket.getsockname()
        self._connections: set[asyncio.BaseTransport] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._done = threading.Event()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def respond(self, method: str, target: str, headers: dict[str, str],
                body: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        """The answer to one request: (status, JSON body, extra headers)."""
        if method == "GET" and target == "/__dev/messages":
            return 200, {"accepted": self.state.accepted, "latest": list(self.state.messages)[-100:]}, {}
        match = SEND_PATH.match(target) if method == "POST" else None
        if match is None:
            return 404, _NOT_FOUND, {}
        if not headers.get("authorization", "").startswith("Bearer "):
            return 401, _UNAUTHENTICATED, {}
        try:
            message = json.loads(body or b"{}")
        except ValueError:
            message = None
        return self.state.handle(match["project"], message)

    async def _serve(self) -> None:
        server = await asyncio.get_running_loop().create_server(lambda: _Connection(self), sock=self._socket)
        async with server:
            await self._stopped.wait()
            # Connections accepted just now are set up by tasks of their own, which fail (and leak the socket)
            # if the server is closed first: let them finish (connection_made aborts them, as we are stopping).
            current = asyncio.current_task()
            while pending := [task for task in asyncio.all_tasks() if task is not current]:
                await asyncio.gather(*pending, return_exceptions=True)
            server.close()  # no await since the last check: nothing was accepted in between
            for transport in list(self._connections):
                transport.abort()
            await asyncio.sleep(0)  # abort() closes each socket on the loop's next turn: let it run

    def serve_forever(self) -> None:
        """Serve on this thread until `stop()` (from another thread) or Ctrl-C."""
        loop = asyncio.new_event_loop()
        self._stopped = asyncio.Event()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.close()
            self._done.set()

    def start(self) -> FcmServer:
        """Serve on a background thread (tests)."""
        self._thread = threading.Thread(target=self.serve_forever, name="fcm-dev", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the listening socket and every open connection (clients then see it gone)."""
        if self._thread is not None:
            while self._loop is None and self._thread.is_alive():  # started, loop not made yet
                self._done.wait(0.01)
        loop, stopped = self._loop, self._stopped
        if loop is not None and stopped is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                loop.call_soon_threadsafe(stopped.set)
            self._done.wait(timeout=5)
        self.server_close()

    def server_close(self) -> None:
        self._socket.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9099)
    parser.add_argument("--keep", type=int, default=1000, help="how many accepted messages to remember")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s fcm-dev %(message)s")
    server = FcmServer((args.host, args.port), keep=args.keep)
    log.info("local FCM-compatible server on %s", server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
