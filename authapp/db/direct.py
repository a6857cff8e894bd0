"""Hot statements run straight on the driver, one round trip each.

Every access-token request and every sign-in reads one row, so these reads
skip what they can: each statement is compiled once per engine and runs on a
long-lived DBAPI connection of the current thread (no ORM session, no pool
checkout or ping, no per-call Core compilation or result machinery), in
autocommit, so no transaction is left open (a sign-in's lookup is not held
across bcrypt). On PostgreSQL with psycopg 3 each statement is prepared once
per connection and executed through libpq itself, which halves the client's
share of the round trip. A broken connection is dropped and the read retried
once on a new one; disposing the engine closes them all.

A sign-in's two inserts (its session and its audit event) go the same way:
on PostgreSQL as one statement with a data-modifying CTE, atomic on its own,
so one round trip instead of five (pool ping, BEGIN, two INSERTs, COMMIT);
on SQLite as one short transaction without the ORM session's bookkeeping.
"""

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from psycopg import errors as pg_errors
from psycopg import pq
from psycopg.adapt import Transformer
from sqlalchemy import Select, Table, bindparam, event, insert
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DBAPIError

from authapp.core.errors import ServiceUnavailable
from authapp.core.extensions import db

EXTENSION_KEY = "authapp.direct_connections"


@dataclass(frozen=True, eq=False)
class HotStatement:
    """A SELECT declared once, at import, for the direct path.

    Compiled (and on PostgreSQL prepared) forms are cached under this object,
    which the registry keeps alive, so no other statement can ever take its
    place in the cache (as one could under a recycled ``id()``).
    """

    name: str
    statement: Select


_REGISTRY: dict[str, HotStatement] = {}


def hot_statement(name: str, statement: Select) -> HotStatement:
    """Declare a statement for ``fetch_one``; each name once."""
    if name in _REGISTRY:
        raise ValueError(f"hot statement {name!r} is declared twice")
    _REGISTRY[name] = HotStatement(name, statement)
    return _REGISTRY[name]


@dataclass(frozen=True)
class _Compiled:
    """One statement, ready for the driver: SQL, parameter order, column converters."""

    sql: str
    order: tuple[str, ...]
    converters: tuple[Callable[[Any], Any] | None, ...]
    prepared_name: bytes = b""
    prepared_sql: bytes = b""
    prepared_order: tuple[str, ...] = ()


def _compile(hot: HotStatement, dialect: Dialect, libpq: bool) -> _Compiled:
    statement = hot.statement
    compiled = statement.compile(dialect=dialect)
    converters = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None)
                       for column in statement.selected_columns)
    result = _Compiled(str(compiled), tuple(compiled.positiontup or ()), converters)
    if not libpq:
        return result
    numbered = statement.compile(dialect=type(dialect)(paramstyle="numeric_dollar"))
    return _Compiled(result.sql, result.order, converters,
                     prepared_name=f"authapp_{hot.name}".encode(),
                     prepared_sql=str(numbered).encode(),
                     prepared_order=tuple(numbered.positiontup or ()))


@dataclass(frozen=True)
class _CompiledInsert:
    """INSERTs ready for the driver: (SQL, positional parameter order) per statement, and
    each parameter's bind converter. Parameters are named r<row index>_<column>."""

    statements: tuple[tuple[str, tuple[str, ...]], ...]
    converters: dict[str, Callable[[Any], Any] | None]


def _compile_insert(rows: tuple[tuple[Table, dict[str, Any]], ...], dialect: Dialect,
                    combine: bool) -> _CompiledInsert:
    """One INSERT per row or, with ``combine``, ``WITH i0 AS (INSERT ...) INSERT ...``."""
    inserts = [insert(table).values({column: bindparam(f"r{index}_{column}",
                                                        type_=table.c[column].type)
                                     for column in sorted(row)})
               for index, (table, row) in enumerate(rows)]
    if combine:
        combined = inserts[-1]
        for index, statement in enumerate(inserts[:-1]):
            combined = combined.add_cte(statement.cte(f"i{index}"))
        inserts = [combined]
    statements, converters = [], {}
    for statement in inserts:
        compiled = statement.compile(dialect=dialect)
        statements.append((str(compiled), tuple(compiled.positiontup or ())))
        converters.update({name: bind.type.dialect_impl(dialect).bind_processor(dialect)
                           for name, bind in compiled.binds.items()})
    return _CompiledInsert(tuple(statements), converters)


class DirectConnections:
    """Runs compiled SELECTs and sign-in INSERTs on one long-lived DBAPI connection per
    thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dbapi_error = engine.dialect.loaded_dbapi.Error
        self.positional = engine.dialect.positional
        self.libpq = engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
        self.compiled: dict[HotStatement, _Compiled] = {}
        self.inserts: dict[tuple[Any, ...], _CompiledInsert] = {}
        self.local = threading.local()
        self.opened: list[Any] = []
        self.lock = threading.Lock()
        event.listen(engine, "engine_disposed", lambda _engine: self.close_all())

    def fetch_one(self, hot: HotStatement, **params: str) -> tuple[Any, ...] | None:
        """The statement's first row with its columns converted as the ORM would, or None."""
        compiled = self.compiled.get(hot)
        if compiled is None:
            with self.lock:
                compiled = self.compiled.setdefault(
                    hot, _compile(hot, self.engine.dialect, self.libpq))
        row = self._fetch_with_retry(compiled, params)
        if row is None:
            return None
        return tuple(value if convert is None else convert(value)
                     for convert, value in zip(compiled.converters, row, strict=True))

    def insert_together(self, rows: tuple[tuple[Table, dict[str, Any]], ...]) -> None:
        """Insert the rows in one transaction of their own (PostgreSQL: one statement).

        Not retried: a connection lost mid-statement may or may not have committed it,
        so the caller gets 503 and signs in again rather than a duplicate.
        """
        key = tuple((table.name, tuple(sorted(row))) for table, row in rows)
        compiled = self.inserts.get(key)
        if compiled is None:
            compiled = self.inserts.setdefault(
                key, _compile_insert(rows, self.engine.dialect, combine=self.libpq))
        params = {}
        for index, (_table, row) in enumerate(rows):
            for column, value in row.items():
                name = f"r{index}_{column}"
                convert = compiled.converters[name]
                params[name] = value if convert is None else convert(value)
        connection = self._connection()
        try:
            cursor = connection.cursor()
            try:
                for sql, order in compiled.statements:
                    cursor.execute(sql, tuple(params[name] for name in order)
                                   if self.positional else params)
            finally:
                cursor.close()
            if not self.libpq:  # SQLite: the driver began a transaction at the first INSERT
                connection.commit()
        except (self.dbapi_error, DBAPIError) as exc:
            self._drop()
            raise _unavailable() from exc

    def _fetch_with_retry(self, compiled: _Compiled, params: dict[str, str]) -> Any:
        for attempt in (1, 2):
            try:
                run = self._run_prepared if self.libpq else self._run_cursor
                return run(self._connection(), compiled, params)
            except (self.dbapi_error, DBAPIError) as exc:
                self._drop()
                if attempt == 2:
                    raise _unavailable() from exc
        raise AssertionError("unreachable: the loop returns or raises")

    def _run_cursor(self, connection: Any, compiled: _Compiled, params: dict[str, str]) -> Any:
        cursor = connection.cursor()
        try:
            values = tuple(params[name] for name in compiled.order) if self.positional else params
            cursor.execute(compiled.sql, values)
            return cursor.fetchone()
        finally:
            cursor.close()

    def _run_prepared(self, connection: Any, compiled: _Compiled, params: dict[str, str]) -> Any:
        """PostgreSQL: prepared once per connection, then one libpq call and one row load."""
        if any("\x00" in value for value in params.values()):
            return None  # libpq parameters end at NUL; no stored value contains one
        driver = connection.dbapi_connection
        prepared: set[bytes] = self.local.prepared
        if compiled.prepared_name not in prepared:
            _check(driver.pgconn.prepare(compiled.prepared_name, compiled.prepared_sql),
                   pq.ExecStatus.COMMAND_OK)
            prepared.add(compiled.prepared_name)
        result = driver.pgconn.exec_prepared(
            compiled.prepared_name, [params[name].encode() for name in compiled.prepared_order])
        _check(result, pq.ExecStatus.TUPLES_OK)
        if not result.ntuples:
            return None
        loader = Transformer(driver)
        loader.set_pgresult(result)
        return loader.load_row(0, tuple)

    def _connection(self) -> Any:
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = self.engine.raw_connection()
            if self.engine.dialect.name == "postgresql":
                connection.driver_connection.autocommit = True
            connection.detach()  # ours for the thread's lifetime, not the pool's
            with self.lock:
                self.opened.append(connection)
            self.local.connection = connection
            self.local.prepared = set()
        return connection

    def _drop(self) -> None:
        connection = getattr(self.local, "connection", None)
        self.local.connection = None
        if connection is not None:
            with self.lock, contextlib.suppress(ValueError):
                self.opened.remove(connection)
            _close(connection)

    def close_all(self) -> None:
        with self.lock:
            opened, self.opened = self.opened, []
        for connection in opened:
            _close(connection)
        self.local = threading.local()


def _close(connection: Any) -> None:
    """Close a detached connection for good, rolling back what it had open.

    (``invalidate()`` would only forget it: a detached connection is not the
    pool's to close.)
    """
    with contextlib.suppress(Exception):
        connection.dbapi_connection.close()


def _unavailable() -> ServiceUnavailable:
    return ServiceUnavailable("The database is unavailable; try again shortly.",
                              headers={"Retry-After": "5"})


def _check(result: Any, expected: pq.ExecStatus) -> None:
    """Raise the driver's own error class for a failed libpq call."""
    if result.status != expected:
        raise pg_errors.error_from_result(result)


def _reader() -> DirectConnections:
    reader = current_app.extensions.get(EXTENSION_KEY)
    if reader is None or reader.engine is not db.engine:
        reader = current_app.extensions[EXTENSION_KEY] = DirectConnections(db.engine)
    return reader


def fetch_one(hot: HotStatement, **params: str) -> tuple[Any, ...] | None:
    """Run a hot SELECT on this thread's direct connection to the app's database."""
    return _reader().fetch_one(hot, **params)


def insert_together(*rows: tuple[Table, dict[str, Any]]) -> bool:
    """Insert the rows atomically on this thread's direct connection, if that is safe.

    It is while the ORM session has no transaction open: otherwise its
    uncommitted work would be invisible to this connection, or hold locks
    this one would wait for (on SQLite, until the busy timeout). False means
    nothing was done: the caller inserts through the ORM session instead.
    """
    if db.session().in_transaction():
        return False
    _reader().insert_together(rows)
    return True
