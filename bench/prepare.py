"""Set up bench/run: a database with one guest whose password goes through the real hashing, and a login.

    python bench/prepare.py db --database-url URL --out-dir DIR
        Creates the tables (create_all: the schema of the code being measured, migrations or not) and the bench
        guest with its password hashed by app.identity.services.set_password at the development config's argon2
        cost. Writes DIR/prepared.json (hash parameters, database kind) and DIR/login_body.json (the login body).
    python bench/prepare.py token --base-url http://127.0.0.1:PORT --out-dir DIR
        Logs in through the running server, checks GET /api/v1/me with the token, prints the access token.

Run from the repository root with the repository on PYTHONPATH (bench/run does).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url

from app import create_app
from app.core.db import unit_of_work
from app.extensions import db
from app.guests.models import Guest, GuestSource
from app.identity.services import set_password
from config import argon2_meets_owasp

EMAIL = "bench.guest@example.com"
PASSWORD = "bench-password-correct-horse-battery"


def argon2_parameters(password_hash: str) -> dict[str, Any]:
    """Parse `$argon2id$v=19$m=19456,t=2,p=1$salt$hash` into its variant and costs."""
    _, variant, version, costs, *_ = password_hash.split("$")
    params = dict(item.split("=") for item in costs.split(","))
    return {"variant": variant, "version": int(version.removeprefix("v=")),
            "memory_kib": int(params["m"]), "time_cost": int(params["t"]), "parallelism": int(params["p"])}


def prepare_database(database_url: str, out_dir: Path) -> None:
    app = create_app("development", {"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        db.create_all()
        with unit_of_work():
            guest = db.session.scalars(select(Guest).where(Guest.email == EMAIL)).one_or_none()
            if guest is None:  # a reused PostgreSQL database already has the guest
                guest = Guest(email=EMAIL, first_name="Bench", last_name="Guest", language="en",
                              source=GuestSource.APP.value)
                db.session.add(guest)
            set_password(guest, PASSWORD)
        argon2 = argon2_parameters(guest.password_hash or "")
        argon2["verify_ms"] = verify_milliseconds(app, guest.password_hash or "")
        argon2["build"] = argon2_build()
        db.session.remove()
        db.engine.dispose()
    # The login target is about OWASP's argon2id cost, never a cheaper one.
    owasp = argon2_meets_owasp(argon2["memory_kib"], argon2["time_cost"], argon2["parallelism"])
    if argon2["variant"] != "argon2id" or not owasp:
        sys.exit(f"error: the password hash uses {argon2}, below every OWASP argon2id profile: unset ARGON2_*")
    prepared = {"database": _describe(database_url), "argon2": argon2, "login": EMAIL}
    (out_dir / "prepared.json").write_text(json.dumps(prepared, indent=2) + "\n")
    (out_dir / "login_body.json").write_text(json.dumps({"login": EMAIL, "password": PASSWORD}))


def argon2_build() -> str:
    """Which argon2-cffi-bindings scripts/lib.sh installed: `avx2` (built for this CPU) or `pypi-wheel` (SSE2)."""
    marker = Path(sys.prefix) / "argon2-build"
    return marker.read_text().strip() if marker.is_file() else "unknown (not installed by scripts/lib.sh)"


def verify_milliseconds(app: Any, password_hash: str, times: int = 9) -> float:
    """Median time of one password check at the bench's cost, alone on the machine: the floor under login's
    latency, and a measure of how fast this machine is at the moment (it varies between runs on shared hosts)."""
    hasher = app.extensions["password_hasher"]
    durations = []
    for _ in range(times):
        started = time.perf_counter()
        hasher.verify(password_hash, PASSWORD)
        durations.append(time.perf_counter() - started)
    return round(statistics.median(durations) * 1000, 1)


def _describe(database_url: str) -> str:
    """The database for the record, without credentials."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or ":memory:")
        repo = Path(__file__).resolve().parent.parent
        return f"SQLite file {path.relative_to(repo) if path.is_relative_to(repo) else path}"
    return f"{url.get_backend_name()} at {url.host}:{url.port or 'default port'}/{url.database}"


def _call(url: str, *, body: bytes | None = None, token: str | None = None) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"} if body else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            if response.status != 200:
                sys.exit(f"error: {request.method} {url} answered {response.status}, expected 200")
            return json.load(response)
    except urllib.error.HTTPError as error:
        sys.exit(f"error: {request.method} {url} answered {error.code}: {error.read()[:500]!r}")


def fetch_token(base_url: str, out_dir: Path) -> str:
    """Log in like a client would and prove the token reads /me, so the load runs start from a known good state."""
    body = (out_dir / "login_body.json").read_bytes()
    token = _call(f"{base_url}/api/v1/auth/login", body=body)["access_token"]
    me = _call(f"{base_url}/api/v1/me", token=token)
    if me.get("email") != EMAIL:
        sys.exit(f"error: GET /api/v1/me returned {me!r}, expected the bench guest")
    return str(token)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    db_command = commands.add_parser("db", help="create the schema and the bench guest")
    db_command.add_argument("--database-url", required=True)
    db_command.add_argument("--out-dir", type=Path, required=True)
    token_command = commands.add_parser("token", help="log in through the running server; print an access token")
    token_command.add_argument("--base-url", required=True)
    token_command.add_argument("--out-dir", type=Path, required=True)
    args = parser.parse_args()
    if args.command == "db":
        prepare_database(args.database_url, args.out_dir)
    else:
        print(fetch_token(args.base_url, args.out_dir))


if __name__ == "__main__":
    main()
