"""The ONE list of periodic jobs, and `flask scheduler run`: APScheduler in its own process, one per deployment.

A job is a plain function in a domain's `jobs.py` that opens its own unit of work (and does its network I/O
outside it). Every job must be safe to run twice: a restart may repeat one.

Only one scheduler may run against a database (APScheduler 3 runs jobs twice when two schedulers share work):
the process holds a lock for its whole life, a PostgreSQL advisory lock or, on SQLite, a file lock in the
instance directory. A second scheduler waits for the lock, so it can stand by as a hot spare.
"""

from __future__ import annotations

import fcntl
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import text

from app.extensions import db

log = logging.getLogger(__name__)
_LOCK_KEY = 0x7363686564  # "sched"


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: str  # "app.domain.jobs:function"
    trigger: str  # "interval" | "cron"
    trigger_args: dict[str, Any] = field(default_factory=dict)
    # A daily job missed by an outage still runs if the scheduler is back within this many seconds.
    misfire_grace_time: int = 3600

    def resolve(self) -> Callable[[], Any]:
        module, name = self.func.split(":")
        return getattr(import_module(module), name)


# Each domain adds its jobs here, one line each.
JOBS: list[JobSpec] = [
    JobSpec("purge_idempotency_keys", "app.core.idempotency:purge_expired_keys", "interval", {"hours": 1}),
    JobSpec("bookings_record_no_shows", "app.bookings.jobs:record_no_shows", "interval", {"minutes": 15}),
    JobSpec("loyalty_expire_points", "app.loyalty.jobs:expire_points", "cron", {"hour": 1, "minute": 10}),
    JobSpec("loyalty_birthday_bonuses", "app.loyalty.jobs:award_birthday_bonuses", "cron", {"minute": 5}),
    JobSpec("loyalty_reevaluate_tiers", "app.loyalty.jobs:reevaluate_tiers", "cron", {"hour": 1, "minute": 40}),
    JobSpec("send_partner_webhooks", "app.partners.jobs:send_partner_webhooks", "interval", {"seconds": 10}, 60),
    JobSpec("partners_decline_unanswered", "app.partners.jobs:decline_unanswered_bookings", "interval",
            {"minutes": 5}, 120),
    JobSpec("push_event_notifications", "app.push.jobs:queue_event_notifications", "interval", {"seconds": 10}, 60),
    JobSpec("push_send_pending", "app.push.jobs:send_pending_pushes", "interval", {"seconds": 30}, 120),
    JobSpec("push_checkout_reminders", "app.push.jobs:queue_checkout_reminders", "interval", {"minutes": 15}),
    JobSpec("push_run_campaigns", "app.push.jobs:run_campaigns", "interval", {"minutes": 1}, 300),
    JobSpec("push_birthday_offers", "app.push.jobs:send_birthday_offers", "interval", {"hours": 1}),
    JobSpec("push_low_season", "app.push.jobs:propose_low_season_campaigns", "cron", {"hour": 6, "minute": 5}),
    JobSpec("push_prune_devices", "app.push.jobs:prune_stale_devices", "cron", {"hour": 3, "minute": 20}),
    JobSpec("escalate_overdue_requests", "app.requests.jobs:escalate_overdue_requests", "interval", {"minutes": 1}, 60),
    JobSpec("repeat_staff_alerts", "app.requests.jobs:repeat_staff_alerts", "interval", {"minutes": 1}, 60),
    JobSpec("expire_iot_commands", "app.iot.jobs:expire_overdue_commands", "interval", {"seconds": 30}, 30),
    JobSpec("purge_iot_history", "app.iot.jobs:purge_device_history", "interval", {"hours": 6}),
    JobSpec("alert_offline_iot_devices", "app.iot.jobs:alert_offline_devices", "interval", {"minutes": 1}, 60),
    JobSpec("privacy_stay_texts", "app.privacy.jobs:drop_old_stay_texts", "cron", {"hour": 2, "minute": 15}),
    JobSpec("privacy_credentials", "app.privacy.jobs:purge_stale_credentials", "cron", {"hour": 2, "minute": 25}),
    JobSpec("privacy_events", "app.privacy.jobs:purge_old_events", "cron", {"hour": 2, "minute": 35}),
    JobSpec("privacy_read_offers", "app.privacy.jobs:purge_read_offers", "cron", {"hour": 2, "minute": 45}),
    JobSpec("privacy_webhooks", "app.privacy.jobs:purge_old_webhook_messages", "cron", {"hour": 2, "minute": 55}),
]

scheduler_cli = AppGroup("scheduler", help="Run the periodic jobs (exactly one scheduler per deployment).")


def run_job(app: Flask, spec: JobSpec) -> None:
    """Run one job in an app context; a failure is logged and the scheduler carries on."""
    with app.app_context():
        try:
            spec.resolve()()
        except Exception:
            log.exception("job %s failed", spec.id)
        finally:
            db.session.remove()


@scheduler_cli.command("run")
def run_scheduler() -> None:
    """Take the scheduler lock, then run every job in JOBS on its schedule until stopped."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with scheduler_lock(app):
        scheduler = BlockingScheduler(timezone="UTC")
        for spec in JOBS:
            scheduler.add_job(run_job, spec.trigger, args=[app, spec], id=spec.id, coalesce=True, max_instances=1,
                              misfire_grace_time=spec.misfire_grace_time, **spec.trigger_args)
        click.echo(f"scheduler: {len(JOBS)} jobs: {', '.join(spec.id for spec in JOBS)}")
        with suppress(KeyboardInterrupt, SystemExit):
            scheduler.start()


@scheduler_cli.command("run-once")
@click.argument("job_id")
def run_once(job_id: str) -> None:
    """Run one job now (operations, debugging); the scheduler lock is not taken."""
    specs = {spec.id: spec for spec in JOBS}
    if job_id not in specs:
        raise click.BadParameter(f"unknown job; one of: {', '.join(specs)}")
    specs[job_id].resolve()()
    click.echo(f"ran {job_id}")


@contextmanager
def scheduler_lock(app: Flask) -> Iterator[None]:
    """Hold the deployment-wide scheduler lock for the block (waits while another scheduler holds it)."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            while not connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _LOCK_KEY}).scalar():
                log.info("another scheduler holds the lock; waiting")
                time.sleep(5)
            connection.commit()
            yield
        return
    lock_path = Path(app.instance_path) / "scheduler.lock"
    with lock_path.open("w") as lock_file:
        while True:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                log.info("another scheduler holds the lock; waiting")
                time.sleep(5)
        yield
