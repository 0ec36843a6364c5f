"""Reads on every request's path, compiled once and run straight on a pooled driver connection.

The session check runs on every authenticated call and `GET /me` is the app's most frequent read. Through the ORM
Session the two statements cost about 380 us in process (session and connection objects, BEGIN, the execution
context, result metadata, the rollback at the end of the request) for under 40 us of database work; on a pooled
driver connection they cost 38 us. A `PreparedRead` keeps everything SQLAlchemy is good at (the statement is
written with Core, compiled by the database's dialect, its parameters and results go through the columns' own
types, the connection comes from the engine's pool with its settings and events) and skips only the per-call
layers.

Use it for single-row reads of plain columns by key, not for anything written to (a unit of work keeps
the Session), nor for rows the surrounding unit of work has already written (it reads on another connection, so it
sees only what is committed: a room command reads its stay and device this way before it writes), and not for
statements with expanding IN parameters. Each call takes a connection from the pool and
returns it at once; the read is one autocommit SELECT, one round trip on PostgreSQL.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from contextlib import suppress
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select

from app.extensions import db


class _Plan:
    """The statement as one dialect runs it: SQL text, how to order and convert parameters, how to convert rows.

    Shared with app/core/prepared_writes.py, which passes the INSERT's keys and its RETURNING columns."""

    def __init__(self, statement: Any, dialect: Dialect, *, column_keys: list[str] | None = None,
                 columns: Any = None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=column_keys)
        if any(bind.expanding for bind in compiled.binds.values()):
            raise ValueError("PreparedRead does not take expanding (IN) parameters")
        self.sql = compiled.string
        # psycopg runs a SELECT in a transaction it opens with a BEGIN, which the pool ends with a ROLLBACK: two
        # more round trips than the read itself. In autocommit mode the read is one. (sqlite3: the engine's
        # connections are in autocommit mode already; app/core/db.py.)
        self.autocommit_attribute = dialect.name == "postgresql"
        self.compiled = compiled
        self.positional = bool(compiled.positional)
        self.order = list(compiled.positiontup or [])
        self.bind_processors: dict[str, Callable[[Any], Any]] = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.bind_processors[name] = processor
        # Rows read like SQLAlchemy's: by attribute (row.email) or position; marshmallow schemas dump them as is.
        names = statement.selected_columns.keys() if columns is None else [column.key for column in columns]
        columns = statement.selected_columns if columns is None else columns
        self.row_type = namedtuple("PreparedRow", names)  # type: ignore[misc]
        self.result_processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]

    def parameters(self, values: dict[str, Any]) -> Any:
        params = self.compiled.construct_params(values)
        for name, processor in self.bind_processors.items():
            params[name] = processor(params[name])
        return tuple(params[name] for name in self.order) if self.positional else params

    def row(self, raw: tuple[Any, ...]) -> Any:
        return self.row_type._make(
            processor(value) if processor is not None else value
            for processor, value in zip(self.result_processors, raw, strict=True)
        )


class PreparedRead:
    """A Core SELECT that `first(**params)` runs on a pooled driver connection: its first row (a named tuple of
    the selected columns), or None."""

    def __init__(self, statement: Select) -> None:
        self.statement = statement
        self._plans: WeakKeyDictionary[Dialect, _Plan] = WeakKeyDictionary()

    def _plan(self, engine: Engine) -> _Plan:
        plan = self._plans.get(engine.dialect)
        if plan is None:
            plan = self._plans[engine.dialect] = _Plan(self.statement, engine.dialect)
        return plan

    def first(self, **values: Any) -> Any:
        engine = db.engine
        plan = self._plan(engine)
        params = plan.parameters(values)
        dbapi_error = engine.dialect.loaded_dbapi.Error
        try:
            connection = engine.raw_connection()
        except dbapi_error as error:  # the database cannot be reached: SQLAlchemy's class, as engine.connect() says
            raise DBAPIError.instance(None, None, error, dbapi_error, dialect=engine.dialect,
                                      connection_invalidated=engine.dialect.is_disconnect(error, None, None)) from error
        cursor, driver_connection = None, connection.dbapi_connection
        try:
            if plan.autocommit_attribute:  # no BEGIN before the SELECT, no ROLLBACK when the pool takes it back
                driver_connection.autocommit = True
            cursor = connection.cursor()
            cursor.execute(plan.sql, params)
            raw = cursor.fetchone()
        except dbapi_error as error:
            # What Connection.execute would raise: SQLAlchemy's exception classes (the API's 503 for an
            # unreachable database), with a connection that died dropped from the pool instead of reused.
            invalidated = engine.dialect.is_disconnect(error, connection.dbapi_connection, cursor)
            if invalidated:
                connection.invalidate(error)
            raise DBAPIError.instance(plan.sql, params, error, dbapi_error, dialect=engine.dialect,
                                      connection_invalidated=invalidated) from error
        finally:
            if cursor is not None:
                with suppress(dbapi_error):  # a cursor of a connection that just died may refuse to close
                    cursor.close()
            if plan.autocommit_attribute and connection.is_valid:
                try:
                    driver_connection.autocommit = False  # back as the pool lent it, whatever happened
                except dbapi_error as error:
                    connection.invalidate(error)  # never lend out a connection in autocommit mode
            connection.close()  # back to the pool
        return None if raw is None else plan.row(raw)
