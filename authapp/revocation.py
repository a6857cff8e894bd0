"""The per-request revocation check: one indexed statement, one round trip.

Every access-token request pays for this, so it skips what it can: the
statement is compiled once per engine and runs straight on the driver (no ORM
session, no pool checkout, no per-call Core compilation or result machinery),
and it brings the user's row along so views need no second query. On
PostgreSQL with psycopg 3 it is a server-side prepared statement executed
through libpq itself, which halves the client's share of the round trip.
"""

import contextlib
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from psycopg import errors as pg_errors
from psycopg import pq
from psycopg.adapt import Transformer
from sqlalchemy import bindparam, event, exists, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from .errors import ServiceUnavailable
from .extensions import db
from .models import RevokedToken, Session, User

CACHE_KEY = "authapp.revocation_check"
PREPARED_NAME = b"authapp_revocation_check"

REVOCATION_CHECK = (
    select(
        Session.revoked_at.is_not(None).label("session_revoked"),
        exists().where(RevokedToken.jti == bindparam("jti")).label("token_revoked"),
        User.id,
        User.username,
        User.created_at,
    )
    .join(User, User.id == Session.user_id)
    .where(Session.id == bindparam("sid"))
)


@dataclass(frozen=True)
class Principal:
    """The account behind a verified, unrevoked access token."""

    id: int
    username: str
    created_at: datetime
    session_id: str


class _RevocationReader:
    """Runs the compiled check on one long-lived DBAPI connection per thread.

    The connections are detached from the pool (no checkout, no pre-ping, no
    reset on return) and in autocommit, so the check is one round trip. A
    broken connection is dropped and the check retried once on a new one;
    disposing the engine closes them all.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dbapi_error = engine.dialect.loaded_dbapi.Error
        compiled = REVOCATION_CHECK.compile(dialect=engine.dialect)
        self.sql = str(compiled)
        order = compiled.positiontup or []
        self.positional = engine.dialect.positional
        self.order = tuple(order)
        column_type = User.__table__.c.created_at.type
        dialect_type = column_type.dialect_impl(engine.dialect)
        self.created_at = (dialect_type.result_processor(engine.dialect, None)
                           or (lambda value: value))
        if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
            numbered = type(engine.dialect)(paramstyle="numeric_dollar")
            compiled_numbered = REVOCATION_CHECK.compile(dialect=numbered)
            self.prepared_sql = str(compiled_numbered).encode()
            self.prepared_order = tuple(compiled_numbered.positiontup or ())
            self.run = self._run_prepared
        else:
            self.run = self._run_cursor
        self.local = threading.local()
        self.opened: list[Any] = []
        self.lock = threading.Lock()
        event.listen(engine, "engine_disposed", lambda _engine: self.close_all())

    def params(self, jti: str, sid: str) -> Any:
        if not self.positional:
            return {"jti": jti, "sid": sid}
        values = {"jti": jti, "sid": sid}
        return tuple(values[name] for name in self.order)

    def fetch(self, jti: str, sid: str) -> Any:
        """The check's row (or None), retrying once on a fresh connection."""
        for attempt in (1, 2):
            try:
                return self.run(self._connection(), jti, sid)
            except (self.dbapi_error, DBAPIError) as exc:
                self._drop()
                if attempt == 2:
                    raise ServiceUnavailable("The database is unavailable; try again shortly.",
                                             headers={"Retry-After": "5"}) from exc
        return None  # unreachable: the loop returns or raises

    def _run_cursor(self, connection: Any, jti: str, sid: str) -> Any:
        cursor = connection.cursor()
        try:
            cursor.execute(self.sql, self.params(jti, sid))
            return cursor.fetchone()
        finally:
            cursor.close()

    def _run_prepared(self, connection: Any, jti: str, sid: str) -> Any:
        """PostgreSQL: prepared once per connection, then one libpq call and one row load."""
        if "\x00" in jti or "\x00" in sid:
            return None  # libpq parameters end at NUL; no stored id contains one
        driver = connection.dbapi_connection
        loader = getattr(self.local, "loader", None)
        if loader is None:
            prepared = driver.pgconn.prepare(PREPARED_NAME, self.prepared_sql)
            _check(prepared, pq.ExecStatus.COMMAND_OK)
            loader = self.local.loader = Transformer(driver)
        values = {"jti": jti, "sid": sid}
        result = driver.pgconn.exec_prepared(
            PREPARED_NAME, [values[name].encode() for name in self.prepared_order])
        _check(result, pq.ExecStatus.TUPLES_OK)
        if not result.ntuples:
            return None
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
        return connection

    def _drop(self) -> None:
        connection = getattr(self.local, "connection", None)
        self.local.connection = self.local.loader = None
        if connection is not None:
            with self.lock, contextlib.suppress(ValueError):
                self.opened.remove(connection)
            with contextlib.suppress(Exception):
                connection.invalidate()

    def close_all(self) -> None:
        with self.lock:
            opened, self.opened = self.opened, []
        for connection in opened:
            with contextlib.suppress(Exception):
                connection.invalidate()
        self.local = threading.local()


def _check(result: Any, expected: pq.ExecStatus) -> None:
    """Raise the driver's own error class for a failed libpq call."""
    if result.status != expected:
        raise pg_errors.error_from_result(result)


def _reader() -> _RevocationReader:
    reader = current_app.extensions.get(CACHE_KEY)
    if reader is None or reader.engine is not db.engine:
        reader = current_app.extensions[CACHE_KEY] = _RevocationReader(db.engine)
    return reader


def find_principal(jti: str, session_id: str, subject: str) -> Principal | None:
    """The principal if neither the token's jti nor its session is revoked, else None."""
    reader = _reader()
    row = reader.fetch(jti, session_id)
    if row is None:
        return None
    session_revoked, token_revoked, user_id, username, created_at = row
    if session_revoked or token_revoked or str(user_id) != subject:
        return None
    return Principal(user_id, username, reader.created_at(created_at), session_id)
