"""Unbound extension objects; create_app() binds them to an application."""

from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import BigInteger, Integer, MetaData
from sqlalchemy.orm import DeclarativeBase, registry

from app.core.api import ProblemApi

# Named constraints from the first migration on: Alembic's batch mode on SQLite depends on them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        # Ids and references are 64-bit on PostgreSQL (BIGINT); SQLite's INTEGER is already 64-bit and must stay
        # INTEGER for an autoincrementing primary key. Small counts say `Integer` explicitly.
        type_annotation_map={int: BigInteger().with_variant(Integer, "sqlite")},
    )


db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
jwt = JWTManager()
api = ProblemApi()
limiter = Limiter(key_func=get_remote_address)
