"""`flask iot bridge | simulate | acl`: the bridge process, virtual room controllers, broker access rules."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

import click
from flask import current_app
from flask.cli import AppGroup

from app.core.db import unit_of_work
from app.core.errors import NotFound
from app.iot import mqtt, services
from app.iot.bridge import Bridge, BridgeSettings
from app.iot.simulator import DeviceSpec, Simulator

iot_cli = AppGroup("iot", help="The MQTT bridge to the rooms' devices, and tools for it.")


def _on_stop_signals(stop: Callable[[], None]) -> None:
    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


@iot_cli.command("bridge")
@click.option("--bridge-id", default=None, help="Stable MQTT client id suffix (default: IOT_BRIDGE_ID).")
def run_bridge(bridge_id: str | None) -> None:
    """Run the bridge until stopped (several may run: they share the load through $share subscriptions)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    # Commands this process issues (the DND button's indicator) go through its own outbox loop, which a NOTIFY or
    # its next pass wakes at once: a second MQTT connection for them would save nothing.
    app.config["IOT_DIRECT_PUBLISH"] = False
    overrides = {"bridge_id": bridge_id} if bridge_id else {}
    bridge = Bridge(app, BridgeSettings.from_config(app.config, **overrides))
    _on_stop_signals(bridge.stop)
    # The answer lane's thread wakes when an answer arrives, but runs only once the loop's thread lets go of the
    # GIL: by default that is up to 5 ms when the loop is busy in Python (a state batch, the room aggregates).
    sys.setswitchinterval(app.config["IOT_BRIDGE_SWITCH_INTERVAL_SECONDS"])
    click.echo(f"bridge {bridge.settings.bridge_id} -> {app.config['MQTT_URL']}")
    bridge.run()


@iot_cli.command("simulate")
@click.option("--hotel", "hotel_code", default=None, help="Hotel code (default: every hotel).")
def simulate(hotel_code: str | None) -> None:
    """Run virtual devices for the registered devices: state, availability with a last will, acknowledgements."""
    try:
        with unit_of_work():
            devices = services.hotel_devices(hotel_code=hotel_code) if hotel_code else services.all_devices()
            specs = [DeviceSpec(topic=d.topic, kind=d.kind) for d in devices]
    except NotFound as error:
        raise click.BadParameter(error.detail, param_hint="--hotel") from None
    simulator = Simulator(specs, mqtt.settings_from_url(current_app.config["MQTT_URL"]))
    stopped = threading.Event()
    _on_stop_signals(stopped.set)
    simulator.start()
    click.echo(f"simulating {len(specs)} devices of {hotel_code or 'every hotel'}")
    stopped.wait()
    simulator.stop()


@iot_cli.command("demo-devices")
@click.option("--rooms", "rooms_per_hotel", default=3, show_default=True, help="Rooms per hotel to equip.")
def demo_devices(rooms_per_hotel: int) -> None:
    """Development: register a full set of devices in the first rooms of every hotel (a second run adds none)."""
    with unit_of_work():
        count = services.register_demo_devices(rooms_per_hotel=rooms_per_hotel)
    click.echo(f"registered {count} demo devices")


@iot_cli.command("acl")
@click.option("--hotel", "hotel_code", required=True)
@click.option("--bridge-user", default="bridge", show_default=True)
def acl(hotel_code: str, bridge_user: str) -> None:
    """Print a Mosquitto acl_file: each room controller (user <hotel>-<room>) only under its own room."""
    try:
        with unit_of_work():
            rooms = sorted({d.room_topic for d in services.hotel_devices(hotel_code=hotel_code)})
    except NotFound as error:
        raise click.BadParameter(error.detail, param_hint="--hotel") from None
    click.echo(f"# Mosquitto ACL for hotel {hotel_code} (flask iot acl). Commands are never retained: the broker")
    click.echo("# cannot enforce that; the bridge never sets the retain flag on .../set.")
    click.echo(f"user {bridge_user}\ntopic readwrite hotel/{hotel_code}/#\ntopic readwrite homeassistant/#\n")
    for room in rooms:
        number = room.rsplit("/", 1)[1]
        click.echo(f"user {hotel_code}-{number}")
        for leaf, access in (("state", "write"), ("availability", "write"), ("response", "write"), ("set", "read")):
            click.echo(f"topic {access} {room}/+/{leaf}")
        click.echo(f"topic read {room}/state\n")
