"""The per-request revocation check: one indexed statement on a pooled DBAPI connection.

Every access-token request pays for this, so it skips what it can: the
statement is compiled once per engine, runs straight on the driver (no ORM
session, no per-call Core compilation or result machinery) and brings the
user's row along so views need no second query.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, exists, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from .errors import ServiceUnavailable
from .extensions import db
from .models import RevokedToken, Session, User

CACHE_KEY = "authapp.revocation_check"

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


@dataclass(frozen=True)
class _CompiledCheck:
    sql: str
    make_params: Callable[[str, str], Any]
    created_at: Callable[[Any], datetime]


def _compile(engine: Engine) -> _CompiledCheck:
    dialect = engine.dialect
    compiled = REVOCATION_CHECK.compile(dialect=dialect)
    if dialect.positional:
        order = compiled.positiontup or []

        def make_params(jti: str, sid: str) -> Any:
            values = {"jti": jti, "sid": sid}
            return tuple(values[name] for name in order)
    else:
        def make_params(jti: str, sid: str) -> Any:
            return {"jti": jti, "sid": sid}
    column_type = User.__table__.c.created_at.type
    processor = column_type.dialect_impl(dialect).result_processor(dialect, None)
    return _CompiledCheck(str(compiled), make_params, processor or (lambda value: value))


def _compiled_check() -> _CompiledCheck:
    check = current_app.extensions.get(CACHE_KEY)
    if check is None:
        check = current_app.extensions[CACHE_KEY] = _compile(db.engine)
    return check


def find_principal(jti: str, session_id: str, subject: str) -> Principal | None:
    """The principal if neither the token's jti nor its session is revoked, else None."""
    check = _compiled_check()
    engine = db.engine
    connection = None
    try:
        connection = engine.raw_connection()
        cursor = connection.cursor()
        try:
            cursor.execute(check.sql, check.make_params(jti, session_id))
            row = cursor.fetchone()
        finally:
            cursor.close()
    except (engine.dialect.loaded_dbapi.Error, DBAPIError) as exc:
        if connection is not None and isinstance(exc, engine.dialect.loaded_dbapi.Error) \
                and engine.dialect.is_disconnect(exc, connection.dbapi_connection, None):
            connection.invalidate(exc)
        raise ServiceUnavailable("The database is unavailable; try again shortly.",
                                 headers={"Retry-After": "5"}) from exc
    finally:
        if connection is not None:
            connection.close()
    if row is None:
        return None
    session_revoked, token_revoked, user_id, username, created_at = row
    if session_revoked or token_revoked or str(user_id) != subject:
        return None
    return Principal(user_id, username, check.created_at(created_at), session_id)
