"""`after_commit`: network I/O that follows a unit of work's commit, never a rolled-back one."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from app.core.db import after_commit, unit_of_work
from app.core.events import DomainEvent
from app.extensions import db


def _committed(marker: str) -> int:
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(DomainEvent).where(DomainEvent.type == marker))


def test_callbacks_run_once_after_the_outermost_commit_in_order(app) -> None:
    seen: list[tuple[str, int]] = []
    with unit_of_work():
        db.session.add(DomainEvent(type="after-commit-1", payload={}))
        with unit_of_work():  # a nested block joins the outer one: nothing runs at its end
            after_commit(lambda: seen.append(("first", _committed("after-commit-1"))))
        after_commit(lambda: seen.append(("second", 0)))
        assert seen == []
    assert seen == [("first", 1), ("second", 0)]  # the first saw the committed row


def test_callbacks_never_run_when_the_unit_of_work_rolls_back(app) -> None:
    seen: list[str] = []
    with pytest.raises(LookupError), unit_of_work():
        after_commit(lambda: seen.append("published"))
        raise LookupError("the use case failed")
    with unit_of_work():  # and they do not leak into the next unit of work
        pass
    assert seen == []


def test_a_failing_callback_is_logged_and_the_others_still_run(app, caplog) -> None:
    seen: list[str] = []

    def broken() -> None:
        raise OSError("broker gone")

    with caplog.at_level(logging.ERROR, logger="app.core.db"), unit_of_work():
        db.session.add(DomainEvent(type="after-commit-2", payload={}))
        after_commit(broken)
        after_commit(lambda: seen.append("second"))
    assert seen == ["second"]
    assert _committed("after-commit-2") == 1
    assert "after-commit callback" in caplog.text


def test_after_commit_outside_a_unit_of_work_is_a_programming_error(app) -> None:
    with pytest.raises(RuntimeError):
        after_commit(lambda: None)
