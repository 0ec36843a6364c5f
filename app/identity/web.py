"""Request-edge helpers for routes that open sessions."""

from flask import request

from app.identity.services import ClientInfo


def client_info(device_name: str | None = None) -> ClientInfo:
    """The device a login comes from, as shown later in the session list."""
    return ClientInfo(device_name=device_name, user_agent=request.user_agent.string or None, ip=request.remote_addr)
