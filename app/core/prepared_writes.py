"""New rows written at once, without the ORM's flush: `insert_now(entity)`; and `PreparedWrite`, its UPDATE and
DELETE counterpart for rows the Session does not hold.

Creating a service request writes five rows (the request, its transition, its alert and two events). Through the
ORM Session each went through the flush machinery (dependency sorting, per-attribute history, an execution context
and a new cache key per statement): 2-3 ms of a 5 ms request in process, for well under 0.1 ms of database work.
`insert_now` keeps what matters of the Session and skips the rest:

- the row is written in the **unit of work's own transaction**, on its connection (on SQLite after
  `BEGIN IMMEDIATE` and the writer lock; the event lock on PostgreSQL is the caller's, as with the ORM), so it
  commits or rolls back with everything else, idempotency records included;
- the INSERT is a Core statement compiled once per dialect (`_Plan`, shared with `PreparedRead`): parameters go
  through the columns' own types (JSON, encrypted JSON, UTC datetimes) and Python-side column defaults are
  applied, as a flush would;
- the entity then becomes a **persistent** object of the Session (`make_transient_to_detached`, then `add`), with
  its new id, as if it had been loaded: relationships load, later changes to it are flushed as UPDATEs, and a
  `get` of its id in the same unit of work returns it.

Anything the Session has pending is flushed first, so rows keep the order in which the use case made them (event
ids follow the order of recording; a foreign key's target exists).

Use it for plain new rows of tables whose columns the entity sets or whose defaults are Python-side; not for
entities with server defaults or computed columns (their values would not be read back), nor for an entity that
should be cascaded with others (it is written alone).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Mapper, make_transient_to_detached

from app.core.prepared_reads import _Plan
from app.extensions import db

T = TypeVar("T")


class _InsertPlan:
    """One model's INSERT as one dialect runs it, with the defaults to fill in."""

    def __init__(self, mapper: Mapper, dialect: Dialect) -> None:
        table = mapper.local_table
        [primary_key] = table.primary_key.columns  # one integer key: every model's IdMixin
        columns = [column for column in table.columns if column is not primary_key]
        self.id_attribute = mapper.get_property_by_column(primary_key).key
        # (attribute on the entity, column key in the statement, the column's Python-side default)
        self.fields: list[tuple[str, str, Any]] = []
        for column in columns:
            if column.server_default is not None or (column.default is not None and not (
                    column.default.is_callable or column.default.is_scalar)):
                raise ValueError(f"{table.name}.{column.key}: insert_now only fills in Python-side defaults")
            self.fields.append((mapper.get_property_by_column(column).key, column.key, column.default))
        statement = insert(table)
        self.returning = dialect.insert_returning and dialect.name != "sqlite"  # SQLite: cursor.lastrowid is free
        if self.returning:
            statement = statement.returning(primary_key)
        self.plan = _Plan(statement, dialect, column_keys=[column.key for column in columns], columns=[primary_key])


_plans: WeakKeyDictionary[Dialect, dict[Mapper, _InsertPlan]] = WeakKeyDictionary()


def _plan_for(mapper: Mapper, dialect: Dialect) -> _InsertPlan:
    plans = _plans.get(dialect)
    if plans is None:
        plans = _plans[dialect] = {}
    plan = plans.get(mapper)
    if plan is None:
        plan = plans[mapper] = _InsertPlan(mapper, dialect)
    return plan


def insert_now(entity: Any) -> Any:
    """Write the new `entity` (a transient ORM object) in the current unit of work now; it gets its id and
    becomes a persistent object of the Session. Returns it."""
    connection = _unit_of_work_connection()
    dialect = connection.dialect
    insert_plan = _plan_for(entity.__mapper__, dialect)
    state = entity.__dict__
    values = {}
    for attribute, key, default in insert_plan.fields:
        if attribute in state:
            value = state[attribute]
        else:
            # A callable default is wrapped by SQLAlchemy to take an execution context; ours take none.
            value = None if default is None else default.arg(None) if default.is_callable else default.arg
            setattr(entity, attribute, value)  # every column set: nothing left to load once the entity is attached
        values[key] = value
    plan = insert_plan.plan
    new_id = _run(connection, plan.sql, plan.parameters(values),
                  lambda cursor: cursor.fetchone()[0] if insert_plan.returning else cursor.lastrowid)
    setattr(entity, insert_plan.id_attribute, new_id)
    make_transient_to_detached(entity)  # as if loaded: no pending INSERT, no attribute history
    db.session().add(entity)
    return entity


class PreparedWrite:
    """A Core UPDATE or DELETE (with `bindparam`s) that `run(**values)` executes in the current unit of work, on
    its connection and in its transaction: the number of rows it changed.

    Compiled once per dialect, like `PreparedRead`. The Session is not told: use it for rows the Session holds no
    changed object of (an object it holds keeps its old values in memory), such as a row another unit of work
    wrote. Whatever the Session has pending is flushed first, as with `insert_now`."""

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._plans: WeakKeyDictionary[Dialect, _Plan] = WeakKeyDictionary()

    def run(self, **values: Any) -> int:
        connection = _unit_of_work_connection()
        plan = self._plans.get(connection.dialect)
        if plan is None:
            plan = self._plans[connection.dialect] = _Plan(self.statement, connection.dialect, columns=[])
        return _run(connection, plan.sql, plan.parameters(values), lambda cursor: cursor.rowcount)


def _unit_of_work_connection() -> Any:
    session = db.session()
    if session._new or session._deleted or session.dirty:  # keep the order the use case made its rows in
        session.flush()
    return session.connection()  # the unit of work's: BEGIN (IMMEDIATE, with the writer lock, on SQLite)


def _run(connection: Any, sql: str, params: Any, result: Callable[[Any], T]) -> T:
    """Execute on the connection's driver connection; `result` reads what is wanted off the cursor."""
    dialect = connection.dialect
    driver_connection = connection.connection.dbapi_connection
    dbapi_error = dialect.loaded_dbapi.Error
    cursor = None
    try:
        cursor = driver_connection.cursor()
        cursor.execute(sql, params)
        return result(cursor)
    except dbapi_error as error:
        # What Connection.execute raises (IntegrityError for a broken constraint, OperationalError...), so the
        # API's error handlers and the unit of work's rollback treat it the same; a dead connection is dropped.
        invalidated = dialect.is_disconnect(error, driver_connection, cursor)
        if invalidated:
            connection.invalidate(error)
        raise DBAPIError.instance(sql, params, error, dbapi_error, dialect=dialect,
                                  connection_invalidated=invalidated) from error
    finally:
        if cursor is not None:
            with suppress(dbapi_error):
                cursor.close()
