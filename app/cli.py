"""`flask seed demo`: a small chain to explore at once."""

from flask.cli import AppGroup

seed_cli = AppGroup("seed", help="Load data.")
