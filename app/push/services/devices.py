"""A guest's devices: registering an FCM token (a token moves to whoever registers it last), listing, removing."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select

from app.core import clock
from app.core.errors import NotFound
from app.extensions import db
from app.push.models import Device


def register_device(*, guest_id: int, token: str, platform: str, language: str,
                    app_version: str | None = None) -> Device:
    """Register (or refresh) the device holding `token`; a token is one device, so it moves between accounts."""
    device = db.session.scalar(select(Device).where(Device.token == token))
    if device is None:
        device = Device(token=token)
        db.session.add(device)
    device.guest_id = guest_id
    device.platform = platform
    device.language = language
    device.app_version = app_version
    device.last_seen_at = clock.now()
    db.session.flush()
    return device


def list_devices(*, guest_id: int) -> list[Device]:
    """The guest's registered devices, most recently seen first."""
    return list(db.session.scalars(
        select(Device).where(Device.guest_id == guest_id).order_by(Device.last_seen_at.desc(), Device.id.desc())))


def remove_device(*, guest_id: int, device_id: int) -> None:
    """Forget one of the guest's devices (log-out on that phone); another guest's device is not found."""
    device = db.session.get(Device, device_id)
    if device is None or device.guest_id != guest_id:
        raise NotFound("No such device.")
    db.session.delete(device)
    db.session.flush()


def prune_stale_devices() -> int:
    """Delete devices not seen for PUSH_TOKEN_STALE_DAYS (FCM stops delivering to such tokens)."""
    cutoff = clock.now() - timedelta(days=current_app.config["PUSH_TOKEN_STALE_DAYS"])
    return db.session.execute(delete(Device).where(Device.last_seen_at < cutoff)).rowcount or 0


def forget_tokens(device_ids: list[int]) -> None:
    """FCM said these tokens are dead or malformed: delete their devices (their deliveries keep the history)."""
    if device_ids:
        db.session.execute(delete(Device).where(Device.id.in_(device_ids)))
