"""Delivery of one-time codes. Real senders (SMS gateway, mail) implement `CodeSender`; pick one by config."""

from __future__ import annotations

import importlib
import logging
from typing import Protocol

from flask import Flask, current_app

log = logging.getLogger(__name__)


class CodeSender(Protocol):
    def send(self, *, destination: str, code: str, language: str) -> None: ...


class LoggingCodeSender:
    """Development: the code appears in the service log (never use in production; config refuses it)."""

    def send(self, *, destination: str, code: str, language: str) -> None:
        log.warning("login code for %s: %s", destination, code)


class RecordingCodeSender:
    """Tests: keeps what was sent so a test can read the code as a phone would."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, *, destination: str, code: str, language: str) -> None:
        self.sent.append((destination, code))

    def last_code(self, destination: str) -> str:
        return next(code for dest, code in reversed(self.sent) if dest == destination)


def code_sender(app: Flask | None = None) -> CodeSender:
    """The configured sender, made once per app."""
    app = app or current_app
    sender = app.extensions.get("code_sender")
    if sender is None:
        module_name, _, class_name = app.config["LOGIN_CODE_SENDER"].partition(":")
        sender = getattr(importlib.import_module(module_name), class_name)()
        app.extensions["code_sender"] = sender
    return sender
