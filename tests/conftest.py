"""Fixtures: one migrated database per backend (SQLite and PostgreSQL), an app per test.

Every test that uses ``app`` runs once on SQLite and once on PostgreSQL.
PostgreSQL tests skip when the server is unreachable, unless ``CI`` is set:
then a missing server fails the run.
"""

import datetime as dt
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from support.api import AuthActions
from support.apps import MIGRATIONS, delete_all_rows, make_config
from support.services import POSTGRES_ADMIN_URL, require_service
from support.smtp import SMTPServer

from authapp import create_app

# The breached-password check is on in production; tests never reach the real service.
os.environ.setdefault("AUTHAPP_PASSWORD_BREACH_CHECK", "off")
# Nor does an app made in this process start a mail thread: tests deliver the outbox themselves
# (live servers are separate processes with their own settings).
os.environ.setdefault("AUTHAPP_MAIL_WORKER_ENABLED", "false")
from authapp.core.extensions import db


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database for this run, dropped afterwards, so runs never collide."""
    name = f"authapp_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        require_service(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
        yield f"{base}/{name}"
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'authapp.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    app = create_app(make_config(url))
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        db.engine.dispose()
    return url


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    """An app on a migrated database; every row is deleted afterwards."""
    app = create_app(make_config(database_url))
    yield app
    delete_all_rows(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def make_app(database_url: str) -> Iterator[Callable[..., Flask]]:
    """Build apps with rate limiting on and the given overrides; rows are deleted afterwards."""
    apps: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        apps.append(create_app(make_config(database_url, RATELIMIT_ENABLED=True, **overrides)))
        return apps[-1]

    yield make
    for app in apps:
        delete_all_rows(app)


@pytest.fixture
def stopped_clock() -> Iterator[None]:
    """Stop the clock 5 seconds into the next minute, so no rate-limit window ends by itself."""
    start = (int(dt.datetime.now(dt.UTC).timestamp()) // 60 + 1) * 60 + 5
    with time_machine.travel(start, tick=False):
        yield


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    """A real SMTP server on a free port for the test's mail."""
    server = SMTPServer()
    server.start()
    yield server
    server.stop()
