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
import itertools
import json
import logging
import re
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: firebase-admin reuses its connections
    disable_nagle_algorithm = True  # headers and body leave at once, not 40 ms apart (delayed ACK)
    server: FcmServer

    def do_POST(self) -> None:
        match = SEND_PATH.match(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if match is None:
            self._reply(404, {"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}})
            return
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            self._reply(401, {"error": {"code": 401, "message": "Missing credentials", "status": "UNAUTHENTICATED"}})
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        status, answer, headers = self.server.state.handle(match["project"], body)
        self._reply(status, answer, headers)

    def do_GET(self) -> None:
        if self.path != "/__dev/messages":
            self._reply(404, {"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}})
            return
        state = self.server.state
        self._reply(200, {"accepted": state.accepted, "latest": list(state.messages)[-100:]})

    def _reply(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self._headers_buffer.append(b"\r\n")  # end_headers() without its flush: one write for the whole answer
        self._headers_buffer.append(data)
        self.flush_headers()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("fcm-dev: " + format, *args)


class FcmServer(ThreadingHTTPServer):
    """`FcmServer(("127.0.0.1", 0))` binds an ephemeral port; `.url` is the base URL to configure as FCM_ENDPOINT."""

    daemon_threads = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int] = ("127.0.0.1", 0), *, keep: int | None = None) -> None:
        super().__init__(address, _Handler)
        self.state = FcmState(keep=keep)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FcmServer:
        """Serve on a background thread (tests)."""
        self._thread = threading.Thread(target=self.serve_forever, name="fcm-dev", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


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
