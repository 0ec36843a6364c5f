"""`flask staff create`: the way the first accounts (and every account until an admin API exists) are made."""

import click
from flask.cli import AppGroup

from app.core.auth import Role
from app.core.db import unit_of_work
from app.staff import services

staff_cli = AppGroup("staff", help="Manage staff accounts.")


@staff_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--hotel", "hotel_codes", multiple=True, help="Hotel code; repeat for several hotels.")
@click.password_option(help="Prompted for when not given.")
def create(email: str, full_name: str, role: str, hotel_codes: tuple[str, ...], password: str) -> None:
    """Create a staff account with a role, scoped to hotels."""
    with unit_of_work():
        staff = services.create_staff(
            email=email, full_name=full_name, role=Role(role), password=password, hotel_codes=hotel_codes
        )
    click.echo(f"created staff {staff.id} {staff.email} ({staff.role})")
