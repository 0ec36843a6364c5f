"""Fault tests reuse the push tests' local FCM-compatible server (tests/push/conftest.py)."""

from tests.push.conftest import fcm, fcm_server  # noqa: F401  (fixtures)
