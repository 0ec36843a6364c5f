"""Application factory: configuration, extensions, error handlers, blueprints, CLI. Nothing else."""

from __future__ import annotations

from typing import Any

from flask import Flask

from config import config_for

API_PREFIX = "/api/v1"


def create_app(config_name: str | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application for `config_name` (or APP_ENV), with optional config overrides (tests)."""
    config_class = config_for(config_name)
    config_class.validate()
    from app.core.flask_app import HotelFlask

    app = HotelFlask(__name__, instance_path=str(_instance_dir()))
    app.config.from_object(config_class)
    app.config.update(overrides or {})
    from app.core.converters import IdConverter

    app.url_map.converters["int"] = IdConverter  # before any route is registered

    from app.core.observability import configure_logging

    configure_logging(app)
    register_extensions(app)
    register_error_handlers(app)
    register_blueprints(app)
    from app.core.ratelimits import limited_endpoints

    limited_endpoints(app)  # every route is registered now: the endpoints whose rate limits are checked
    register_event_subscribers(app)
    register_commands(app)
    return app


def _instance_dir() -> Any:
    from config import INSTANCE_DIR

    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    return INSTANCE_DIR


def register_extensions(app: Flask) -> None:
    from app.core import auth, crypto, events, ratelimits
    from app.core.db import configure_engine, render_migration_item
    from app.core.schemas import Localised
    from app.extensions import api, db, jwt, migrate

    db.init_app(app)
    configure_engine(app)
    # Batch mode lets Alembic alter tables on SQLite (it recreates them), using the named constraints.
    migrate.init_app(app, db, render_as_batch=True, directory=str(_migrations_dir()),
                     render_item=render_migration_item, compare_type=True)
    jwt.init_app(app)
    ratelimits.init_app(app)  # limiter.init_app, its hooks only where a limit is declared
    api.init_app(app)
    api.register_field(Localised, "string", None)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    api.spec.components.security_scheme("apiKeyAuth", {"type": "apiKey", "in": "header", "name": "X-API-Key"})
    auth.init_password_hasher(app)
    crypto.init_keyring(app)
    events.init_app(app)


def _migrations_dir() -> Any:
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def register_error_handlers(app: Flask) -> None:
    from app.core import security
    from app.core.errors import register_error_handlers as register
    from app.core.observability import register_request_id

    register_request_id(app)
    register(app)
    security.init_app(app)


def register_blueprints(app: Flask) -> None:
    from app.audit.routes import blp as audit_blp
    from app.bookings import routes as bookings_routes
    from app.extensions import api
    from app.guests import routes as guests_routes
    from app.guests.models import Guest
    from app.health.routes import blp as health_blp
    from app.hotels.routes import admin_blp as hotels_admin_blp
    from app.hotels.routes import blp as hotels_blp
    from app.identity import routes as identity_routes
    from app.identity import tokens
    from app.iot import routes as iot_routes
    from app.loyalty import routes as loyalty_routes
    from app.staff import routes as staff_routes
    from app.staff.models import StaffMember

    tokens.register_jwt_callbacks(app, account_models={"guest": Guest, "staff": StaffMember})
    api.register_blueprint(health_blp)
    api.register_blueprint(identity_routes.blp, url_prefix=f"{API_PREFIX}/auth")
    api.register_blueprint(identity_routes.service_blp, url_prefix=f"{API_PREFIX}/service-accounts")
    api.register_blueprint(guests_routes.auth_blp, url_prefix=f"{API_PREFIX}/auth")
    api.register_blueprint(guests_routes.me_blp, url_prefix=f"{API_PREFIX}/me")
    api.register_blueprint(guests_routes.staff_blp, url_prefix=f"{API_PREFIX}/staff/guests")
    api.register_blueprint(staff_routes.blp, url_prefix=f"{API_PREFIX}/staff")
    api.register_blueprint(audit_blp, url_prefix=f"{API_PREFIX}/staff/audit")
    api.register_blueprint(hotels_blp, url_prefix=f"{API_PREFIX}/hotels")
    api.register_blueprint(hotels_admin_blp, url_prefix=f"{API_PREFIX}/admin")
    api.register_blueprint(bookings_routes.blp, url_prefix=API_PREFIX)
    api.register_blueprint(bookings_routes.stays_blp, url_prefix=f"{API_PREFIX}/stays")
    api.register_blueprint(bookings_routes.admin_blp, url_prefix=f"{API_PREFIX}/admin")
    api.register_blueprint(bookings_routes.desk_blp, url_prefix=f"{API_PREFIX}/staff/stays")
    api.register_blueprint(bookings_routes.desk_bookings_blp, url_prefix=f"{API_PREFIX}/staff")
    api.register_blueprint(loyalty_routes.blp, url_prefix=f"{API_PREFIX}/loyalty")
    api.register_blueprint(loyalty_routes.staff_blp, url_prefix=f"{API_PREFIX}/staff/loyalty")
    from app.push import routes as push_routes

    api.register_blueprint(push_routes.me_blp, url_prefix=f"{API_PREFIX}/me")
    api.register_blueprint(push_routes.marketing_blp, url_prefix=f"{API_PREFIX}/marketing")
    api.register_blueprint(iot_routes.room_blp, url_prefix=f"{API_PREFIX}/stays")
    api.register_blueprint(iot_routes.staff_blp, url_prefix=f"{API_PREFIX}/staff")
    api.register_blueprint(iot_routes.admin_blp, url_prefix=f"{API_PREFIX}/admin")
    _register_partners(api)
    _register_requests_blueprints(api)
    _register_console(app)
    _register_privacy(api)


def _register_partners(api: Any) -> None:
    from app.partners import admin_routes as partners_admin_routes
    from app.partners import routes as partners_routes

    api.register_blueprint(partners_routes.blp, url_prefix=API_PREFIX)
    api.register_blueprint(partners_routes.partner_blp, url_prefix=f"{API_PREFIX}/partner")
    api.register_blueprint(partners_admin_routes.admin_blp, url_prefix=f"{API_PREFIX}/admin")


def _register_requests_blueprints(api: Any) -> None:
    from app.requests import routes as requests_routes

    api.register_blueprint(requests_routes.catalog_blp, url_prefix=f"{API_PREFIX}/hotels")
    api.register_blueprint(requests_routes.blp, url_prefix=f"{API_PREFIX}/requests")
    api.register_blueprint(requests_routes.messages_blp, url_prefix=f"{API_PREFIX}/stays")
    api.register_blueprint(requests_routes.staff_blp, url_prefix=f"{API_PREFIX}/staff")


def _register_console(app: Flask) -> None:
    """The staff console's server-rendered pages (a plain blueprint: not part of the OpenAPI document)."""
    from app.console.routes import blp as console_blp

    app.register_blueprint(console_blp, url_prefix="/console")


def _register_privacy(api: Any) -> None:
    from app.privacy import routes as privacy_routes

    api.register_blueprint(privacy_routes.me_blp, url_prefix=f"{API_PREFIX}/me")
    api.register_blueprint(privacy_routes.staff_blp, url_prefix=f"{API_PREFIX}/staff/guests")


def register_event_subscribers(app: Flask) -> None:
    """Higher domains react to lower domains' events inside the same transaction (app/core/events.py)."""
    from app.bookings import subscribers as bookings
    from app.core import events
    from app.iot import services as iot
    from app.requests import services as requests_services
    from app.requests import subscribers as requests_subscribers

    events.subscribe(app, "loyalty.points_redeemed", bookings.post_points_redemption)
    events.subscribe(app, "booking.checked_in", requests_services.prepare_room_on_check_in)
    events.subscribe(app, "room.dnd_changed", requests_services.room_state_changed)
    events.subscribe(app, "booking.checked_in", iot.on_checked_in)
    events.subscribe(app, "booking.checked_out", iot.on_checked_out)
    events.subscribe(app, "room.dnd_changed", iot.on_dnd_changed)
    events.subscribe(app, "device.fault", requests_subscribers.open_repair_on_device_fault)
    # push reads events by tailing them with a stored cursor (app/push/services/inbox.py), not by subscribing.


def register_commands(app: Flask) -> None:
    from app.cli import seed_cli
    from app.core.cli import keys_cli
    from app.identity.cli import apikey_cli
    from app.iot.cli import iot_cli
    from app.push.cli import push_cli
    from app.scheduler import scheduler_cli
    from app.staff.cli import staff_cli

    app.cli.add_command(staff_cli)
    app.cli.add_command(apikey_cli)
    app.cli.add_command(seed_cli)
    app.cli.add_command(keys_cli)
    app.cli.add_command(scheduler_cli)
    app.cli.add_command(push_cli)
    app.cli.add_command(iot_cli)
