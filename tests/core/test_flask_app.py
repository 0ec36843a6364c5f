"""HotelFlask.ensure_sync: the fast path answers as Flask does."""

from __future__ import annotations

import functools

import pytest
from flask import Flask

from app.core.flask_app import HotelFlask


class View:
    def get(self) -> str:
        return "ok"


def plain() -> str:
    return "ok"


async def coroutine() -> str:
    return "ok"


def test_plain_functions_and_methods_are_returned_as_they_are():
    app = HotelFlask(__name__)
    view = View()
    assert app.ensure_sync(plain) is plain
    assert app.ensure_sync(view.get) == view.get


def test_everything_else_takes_flasks_path(monkeypatch):
    seen = []
    monkeypatch.setattr(Flask, "ensure_sync", lambda self, func: seen.append(func) or func)
    app = HotelFlask(__name__)
    marked = functools.wraps(plain)(lambda: "ok")
    marked._is_coroutine_marker = object()  # what inspect.markcoroutinefunction sets (Python 3.12+)
    partial = functools.partial(plain)
    for func in (coroutine, marked, partial):
        app.ensure_sync(func)
    assert seen == [coroutine, marked, partial]


def test_an_async_view_is_refused_as_flask_refuses_it():
    app = HotelFlask(__name__)
    with pytest.raises(RuntimeError, match="async"):  # Flask without its "async" extra (asgiref), as installed
        app.ensure_sync(coroutine)
