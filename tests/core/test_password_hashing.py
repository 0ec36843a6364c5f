"""Password hashing: argon2id verification, and the per-process limit on hashes computed at once."""

from __future__ import annotations

import threading

from flask import Flask

from app.core import auth


def test_a_password_verifies_against_its_hash_and_nothing_else(app: Flask) -> None:
    with app.app_context():
        stored = auth.hash_password("correct horse battery staple")
        assert auth.verify_password(stored, "correct horse battery staple") == (True, False)
        assert auth.verify_password(stored, "wrong") == (False, False)
        assert auth.verify_password(None, "anything") == (False, False)


def test_concurrent_verifications_queue_for_the_configured_slots(app: Flask) -> None:
    # PASSWORD_HASH_CONCURRENCY is 1 in every config: a second login waits while the slot is taken.
    with app.app_context():
        stored = auth.hash_password("pw")
        slots = app.extensions["password_hash_slots"]
        done = threading.Event()

        def verify() -> None:
            with app.app_context():
                auth.verify_password(stored, "pw")
            done.set()

        with slots:  # another request is hashing
            worker = threading.Thread(target=verify)
            worker.start()
            assert not done.wait(0.3)  # it waits for the slot...
        assert done.wait(10)  # ...and runs as soon as the slot is free
        worker.join()
