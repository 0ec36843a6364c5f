"""The scheduler: one list of jobs, each resolvable; exactly one scheduler holds the lock."""

from __future__ import annotations

import fcntl
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from app.core import clock
from app.core.db import unit_of_work
from app.core.idempotency import IdempotencyRecord
from app.extensions import db
from app.scheduler import JOBS, scheduler_lock


def test_every_job_resolves_to_a_function() -> None:
    assert len({spec.id for spec in JOBS}) == len(JOBS)
    for spec in JOBS:
        assert callable(spec.resolve()), spec.id


def test_run_once_runs_the_job(app: Flask) -> None:
    with unit_of_work():
        db.session.add(IdempotencyRecord(scope="guest:1", key="k", fingerprint="f", locked_at=clock.now(),
                                         expires_at=clock.now() - timedelta(seconds=1)))
    result = app.test_cli_runner().invoke(args=["scheduler", "run-once", "purge_idempotency_keys"])
    assert result.exit_code == 0, result.output
    assert db.session.query(IdempotencyRecord).count() == 0


def test_run_once_refuses_an_unknown_job(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["scheduler", "run-once", "no_such_job"])
    assert result.exit_code != 0
    assert "unknown job" in result.output


def test_a_second_scheduler_cannot_take_the_lock(app: Flask) -> None:
    with scheduler_lock(app):
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as other:
                assert other.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": 0x7363686564}).scalar() is False
        else:
            with (Path(app.instance_path) / "scheduler.lock").open("w") as other, pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
