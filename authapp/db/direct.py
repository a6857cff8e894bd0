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

Only reads go this way: every write goes through the ORM session inside a
flow (db/transaction.py), so a write always joins its flow's transaction.
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
from sqlalchemy import Select, event
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


class DirectConnections:
    """Runs compiled SELECTs on one long-lived DBAPI connection per thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dbapi_error = engine.dialect.loaded_dbapi.Error
        self.positional = engine.dialect.positional
        self.libpq = engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
        self.compiled: dict[HotStatement, _Compiled] = {}
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
