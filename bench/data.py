"""Bench databases: create, migrate, seed in bulk, mint token pools, drop.

Seeding writes straight through the driver in big batches (``executemany`` on
SQLite, ``COPY`` on PostgreSQL); values go through the columns' own bind
processors, so the rows look exactly like the ones the app writes.  Token
pools are minted with the app's own services (``start_session`` and
``issue_tokens``) in an app context.
"""

import contextlib
import logging
import os
import random
import secrets
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Table, func, select

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from authapp import create_app  # noqa: E402
from authapp.accounts.passwords import hash_password  # noqa: E402
from authapp.accounts.sessions import start_session  # noqa: E402
from authapp.accounts.usernames import username_key, username_skeleton  # noqa: E402
from authapp.core.extensions import db  # noqa: E402
from authapp.db.models import RevokedToken, Session, User  # noqa: E402
from authapp.http.client import Client  # noqa: E402
from authapp.tokens.mint import Grant, issue_tokens  # noqa: E402

LOGIN_USERNAME = "bench-login"
LOGIN_PASSWORD = "bench: correct horse battery staple"  # noqa: S105
SEED_USERS = 100
BATCH = 50_000
BENCH_CLIENT = Client(ip="127.0.0.1", user_agent="authapp-bench")
# Seeded users never sign in; one cheap hash stands in for all of them.
PLACEHOLDER_HASH = "$2b$04$" + "x" * 53


@dataclass(frozen=True)
class Database:
    """One bench database: its backend name and SQLAlchemy URL."""

    backend: str  # "sqlite" or "postgresql"
    url: str


ACCESS_TOKEN_LIFETIME = 3 * 3600  # seconds: longer than a full run


def server_settings(secret_key: str, jwt_secret_key: str) -> dict[str, str]:
    """``AUTHAPP_*`` settings shared by the servers and the in-process app (JSON values)."""
    return {
        "AUTHAPP_ENV": "development",
        "AUTHAPP_SECRET_KEY": secret_key,
        "AUTHAPP_JWT_SECRET_KEY": jwt_secret_key,
        "AUTHAPP_RATELIMIT_ENABLED": "false",
        "AUTHAPP_BCRYPT_LOG_ROUNDS": "12",
        # The token pools are minted before a run that lasts longer than 15 minutes.
        "AUTHAPP_JWT_ACCESS_TOKEN_EXPIRES": str(ACCESS_TOKEN_LIFETIME),
    }


def clean_environment(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without any authapp settings, plus ``extra``."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("AUTHAPP_") and key != "DATABASE_URL"}
    env.update(extra)
    return env


def make_app(database: Database, secret_key: str, jwt_secret_key: str,
             instance_path: Path, algorithm: str = "HS256") -> Flask:
    """An in-process app on the bench database with the servers' settings.

    ``instance_path`` points at the bench's scratch directory so a developer's
    ``instance/config.py`` cannot leak in.  Audit lines are not logged here.
    """
    app = create_app({
        "ENV_NAME": "development",
        "SECRET_KEY": secret_key,
        "JWT_SECRET_KEY": jwt_secret_key,
        "SQLALCHEMY_DATABASE_URI": database.url,
        "RATELIMIT_ENABLED": False,
        "BCRYPT_LOG_ROUNDS": 12,
        "JWT_ACCESS_TOKEN_EXPIRES": ACCESS_TOKEN_LIFETIME,
        "JWT_ALGORITHM": algorithm,  # ES256/EdDSA: makes the database's first keys
    }, instance_path=str(instance_path))
    logging.getLogger("authapp.audit").disabled = True
    return app


# -- PostgreSQL databases ------------------------------------------------------------------


def postgres_admin_connect(admin_url: str) -> Any:
    import psycopg

    return psycopg.connect(admin_url, autocommit=True, connect_timeout=3)


@contextlib.contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for this run (its URL), always dropped afterwards."""
    name = f"authapp_bench_{uuid.uuid4().hex[:12]}"
    with postgres_admin_connect(admin_url) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with postgres_admin_connect(admin_url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(database: Database, settings: dict[str, str]) -> None:
    """``flask --app wsgi db upgrade`` against the bench database."""
    env = clean_environment({**settings, "AUTHAPP_SQLALCHEMY_DATABASE_URI": database.url})
    flask = Path(sys.executable).parent / "flask"
    result = subprocess.run(  # noqa: S603
        [str(flask), "--app", "wsgi", "db", "upgrade"], cwd=REPO_ROOT, env=env,
        capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"migration failed:\n{result.stdout}\n{result.stderr}")


# -- Bulk seeding --------------------------------------------------------------------------


def _processors(table: Table, names: Sequence[str]) -> list[Callable[[Any], Any]]:
    """Each named column's bind processor for the current dialect (identity if none)."""
    dialect = db.engine.dialect
    processors = []
    for name in names:
        processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        processors.append(processor or (lambda value: value))
    return processors


def to_db(table: Table, name: str, value: Any) -> Any:
    """One value as the column's bind processor sends it to the driver."""
    return _processors(table, [name])[0](value)


def _bulk_insert(table: Table, names: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert driver-ready rows (see ``to_db``) in big batches: executemany or COPY."""
    column_list = ", ".join(names)
    raw = db.engine.raw_connection()
    count = 0
    try:
        driver = raw.driver_connection
        cursor = driver.cursor()
        if db.engine.dialect.name == "postgresql":
            with cursor.copy(f"COPY {table.name} ({column_list}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            driver.commit()
        else:
            placeholders = ", ".join("?" for _ in names)
            sql = f"INSERT INTO {table.name} ({column_list}) VALUES ({placeholders})"  # noqa: S608
            # This connection only, while seeding: no syncs, and the indexes kept in memory.
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-524288")
            batch: list[Sequence[Any]] = []
            for row in rows:
                batch.append(row)
                if len(batch) >= BATCH:
                    cursor.executemany(sql, batch)
                    count += len(batch)
                    batch.clear()
            if batch:
                cursor.executemany(sql, batch)
                count += len(batch)
            driver.commit()
            cursor.execute("PRAGMA cache_size=-2000")
            cursor.execute("PRAGMA synchronous=NORMAL")  # as authapp.database sets it
        cursor.close()
    finally:
        raw.close()
    return count


def _random_ids() -> Iterator[tuple[str, str]]:
    """Endless (32-hex session id, uuid-shaped jti) pairs, much faster than ``uuid4()``."""
    generator = random.Random(secrets.randbits(64))  # noqa: S311  (seed rows, not secrets)
    while True:
        bits = f"{generator.getrandbits(256):064x}"
        yield bits[:32], f"{bits[32:40]}-{bits[40:44]}-4{bits[45:48]}-{bits[48:52]}-{bits[52:]}"


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def seed_users() -> tuple[list[int], int]:
    """A few users, plus the sign-in user with a real cost-12 hash; returns their ids."""
    table = User.__table__
    now = to_db(table, "created_at", datetime.now(UTC))
    rows = [(f"bench-user-{i}", username_key(f"bench-user-{i}"),
             username_skeleton(f"bench-user-{i}"), PLACEHOLDER_HASH, now, now)
            for i in range(SEED_USERS)]
    _bulk_insert(table, ["username", "username_key", "username_skeleton", "password_hash",
                         "created_at", "password_changed_at"], rows)
    login = User(username=LOGIN_USERNAME, username_key=username_key(LOGIN_USERNAME),
                 username_skeleton=username_skeleton(LOGIN_USERNAME),
                 password_hash=hash_password(LOGIN_PASSWORD))
    db.session.add(login)
    db.session.commit()
    user_ids = list(db.session.scalars(select(User.id).where(User.id != login.id)))
    return user_ids, login.id


def seed_tables(target_rows: int, user_ids: Sequence[int]) -> tuple[int, int]:
    """Top the sessions and revoked-token tables up to ``target_rows`` rows each.

    One session in ten is revoked, as logouts leave them; sessions were created
    over the last day; revoked-token rows are access tokens that expire within
    the next 15 minutes.  Returns the rows added to each table.
    """
    sessions, tokens = Session.__table__, RevokedToken.__table__
    moment = datetime.now(UTC)
    now = to_db(sessions, "created_at", moment)
    expires = to_db(sessions, "expires_at", moment + timedelta(days=30))
    token_expires = to_db(tokens, "expires_at", moment + timedelta(minutes=15))
    created = [to_db(sessions, "created_at", moment - timedelta(minutes=m)) for m in range(1440)]
    missing_sessions = max(0, target_rows - _count(Session))
    missing_tokens = max(0, target_rows - _count(RevokedToken))
    users = len(user_ids)

    ids = _random_ids()

    def session_rows() -> Iterator[tuple[Any, ...]]:
        for i, (session_id, jti) in zip(range(missing_sessions), ids, strict=False):
            revoked = i % 10 == 9
            when = created[i % 1440]
            yield (session_id, user_ids[i % users], when, when, expires,
                   "Mozilla/5.0 (bench)", "198.51.100.7", now if revoked else None,
                   "logout" if revoked else None, jti, when, "pwd")

    def token_rows() -> Iterator[tuple[Any, ...]]:
        for i, (_, jti) in zip(range(missing_tokens), ids, strict=False):
            yield (jti, "access", user_ids[i % users], token_expires, now, "logout")

    added_sessions = _bulk_insert(
        sessions,
        ["id", "user_id", "created_at", "last_used_at", "expires_at", "user_agent", "ip",
         "revoked_at", "revoked_reason", "refresh_jti", "auth_time", "amr"],
        session_rows())
    added_tokens = _bulk_insert(
        tokens, ["jti", "token_type", "user_id", "expires_at", "revoked_at", "reason"],
        token_rows())
    _analyze()
    return added_sessions, added_tokens


def _analyze() -> None:
    """Fresh planner statistics after a bulk load, as autovacuum would eventually make."""
    raw = db.engine.raw_connection()
    try:
        driver = raw.driver_connection
        if db.engine.dialect.name == "postgresql":
            driver.autocommit = True
            driver.execute("VACUUM ANALYZE sessions")
            driver.execute("VACUUM ANALYZE revoked_tokens")
            driver.autocommit = False
        else:
            driver.execute("ANALYZE")
            driver.commit()
    finally:
        raw.close()


def table_sizes() -> dict[str, int]:
    return {"sessions": _count(Session), "revoked_tokens": _count(RevokedToken)}


# -- Token pools ---------------------------------------------------------------------------


def access_token_pool(size: int) -> list[str]:
    """Access tokens of up to ``size`` random live sessions, spread over the whole table."""
    now = datetime.now(UTC)
    rows = db.session.execute(
        select(Session.id, Session.user_id, Session.expires_at)
        .where(Session.revoked_at.is_(None), Session.expires_at > now)
        .order_by(func.random()).limit(size)
    ).all()
    if not rows:
        raise RuntimeError("no live session to mint access tokens for")
    return [issue_tokens(Grant(user_id, sid, expires_at, now, ("pwd",)), refresh_jti=None,
                         fresh=True).access_token
            for sid, user_id, expires_at in rows]


def detached_access_tokens(size: int) -> list[str]:
    """Valid access tokens that name no stored session: enough for the baselines."""
    now = datetime.now(UTC)
    return [issue_tokens(Grant(1 + i % SEED_USERS, secrets.token_hex(16),
                               now + timedelta(days=1), now, ("pwd",)),
                         refresh_jti=None, fresh=True).access_token for i in range(size)]


def refresh_token_pool(size: int, user_ids: Sequence[int]) -> list[str]:
    """``size`` fresh sessions, each with its first refresh token, through the app's services."""
    tokens = []
    db.session.remove()
    # Keep the committed session's attributes: reloading each one would double the cost.
    db.session.configure(expire_on_commit=False)
    for i in range(size):
        user_id = user_ids[i % len(user_ids)]
        session = start_session(user_id, BENCH_CLIENT)
        issued = issue_tokens(session.grant, refresh_jti=session.refresh_jti, fresh=True)
        assert issued.refresh_token is not None
        tokens.append(issued.refresh_token)
    db.session.remove()
    db.session.configure(expire_on_commit=True)
    return tokens


def write_tokens(path: Path, tokens: Sequence[str]) -> Path:
    path.write_text("\n".join(tokens) + "\n")
    return path
