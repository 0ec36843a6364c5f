"""`flask apikey create|revoke`: credentials for machines (MQTT bridge, partner systems)."""

import click
from flask.cli import AppGroup

from app.core.auth import ServiceKind
from app.core.db import unit_of_work
from app.identity import services

apikey_cli = AppGroup("apikey", help="Manage service-account API keys.")


@apikey_cli.command("create")
@click.option("--name", required=True, help="Who holds the key, e.g. 'bridge-sochi'.")
@click.option("--kind", type=click.Choice([k.value for k in ServiceKind]), required=True)
@click.option("--partner-id", type=int, default=None)
def create(name: str, kind: str, partner_id: int | None) -> None:
    """Create a key and print it once."""
    with unit_of_work():
        key, plaintext = services.create_api_key(name=name, kind=ServiceKind(kind), partner_id=partner_id)
    click.echo(f"api key for {key.name} ({key.kind}): {plaintext}")
    click.echo("Store it now: only its hash is kept.")


@apikey_cli.command("revoke")
@click.argument("prefix")
def revoke(prefix: str) -> None:
    """Revoke the key whose public prefix (hk_...) is given."""
    with unit_of_work():
        services.revoke_api_key(prefix=prefix)
    click.echo(f"revoked {prefix}")
