"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

import gc

from sqlalchemy.orm import configure_mappers

from app import create_app

app = create_app()
# SQLAlchemy configures the mappers at their first query: half a second of the first request in every worker.
configure_mappers()

# The app's modules, routes, schemas and configured mappers (about 230,000 objects) live as long as the process.
# Left to the garbage collector, every full collection walks them all: a 170 ms pause of the whole worker now and
# then, the p99 of every request that was waiting. Frozen, they are never walked again; what requests allocate is still
# collected as usual (docs/decisions.md, "Performance").
gc.collect()
gc.freeze()
