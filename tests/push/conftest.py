"""Push tests: the real firebase-admin library talking HTTP to a local FCM-compatible server on an ephemeral port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from app.push import fcm as push_fcm
from app.push.dev_fcm_server import FcmServer


@pytest.fixture(scope="session")
def fcm_server() -> Iterator[FcmServer]:
    server = FcmServer(("127.0.0.1", 0)).start()
    yield server
    server.stop()


@pytest.fixture
def fcm(app: Flask, fcm_server: FcmServer) -> Iterator[FcmServer]:
    """Send through firebase-admin to the local server for this test; the server starts with a clean slate."""
    fcm_server.state.reset()
    previous = {key: app.config[key] for key in ("PUSH_SENDER", "FCM_ENDPOINT", "FCM_PROJECT_ID")}
    app.config.update(PUSH_SENDER="fcm", FCM_ENDPOINT=fcm_server.url, FCM_PROJECT_ID="hotel-test")
    push_fcm.reset_sender()
    yield fcm_server
    push_fcm.reset_sender()
    app.config.update(previous)
