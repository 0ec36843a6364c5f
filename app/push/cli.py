"""`flask push send`: extra sender processes beside the scheduler (claims use SKIP LOCKED: no push is sent twice)."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from app.push import jobs

push_cli = AppGroup("push", help="Push notifications.")


@push_cli.command("send")
@click.option("--loop", is_flag=True, help="Keep sending until stopped (a sender process), idling 2 s when idle.")
def send(loop: bool) -> None:
    """Send the due pushes now (once, or for ever with --loop)."""
    while True:
        sent = jobs.send_pending_pushes()
        click.echo(f"sent {sent}")
        if not loop:
            return
        if not sent:
            time.sleep(2)
