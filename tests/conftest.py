"""Fixtures: one migrated database per backend (SQLite and PostgreSQL), an app per test.

Every test that uses ``app`` runs once on SQLite and once on PostgreSQL.
PostgreSQL tests skip when the server is unreachable, unless ``CI`` is set:
then a missing server fails the run.
"""

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import delete

from authapp import create_app
from authapp.core.extensions import db
from authapp.db.models import AuthEvent, RevokedToken, Session, User

POSTGRES_ADMIN_URL = os.environ.get("AUTHAPP_TEST_POSTGRES_URL",
                                    "postgresql://postgres@127.0.0.1:5432/test")
PASSWORD = "correct horse battery staple"


def require_service(reason: str) -> None:
    """Skip for a missing service on a laptop; fail under CI, where it must exist."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is required)")
    pytest.skip(reason)


def make_config(database_url: str, **overrides: Any) -> dict[str, Any]:
    """The configuration every test app starts from."""
    return {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url, **overrides}


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
        upgrade(directory=os.path.join(os.path.dirname(__file__), os.pardir, "migrations"))
        db.engine.dispose()
    return url


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    """An app on a migrated database; every row is deleted afterwards."""
    app = create_app(make_config(database_url))
    yield app
    delete_all_rows(app)


def delete_all_rows(app: Flask) -> None:
    """Leave the shared test database empty for the next test."""
    with app.app_context():
        for model in (AuthEvent, RevokedToken, Session, User):
            db.session.execute(delete(model))
        db.session.commit()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@dataclass
class SignedIn:
    """A login's outcome: the access token and (bearer mode) the refresh token."""

    access_token: str
    refresh_token: str | None
    user: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    @property
    def refresh_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.refresh_token}"}


class AuthActions:
    """Register and sign in through the real API."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def register(self, username: str = "alice", password: str = PASSWORD):
        response = self.client.post("/api/auth/register",
                                    json={"username": username, "password": password})
        assert response.status_code == 201, response.json
        return response

    def login(self, username: str = "alice", password: str = PASSWORD, *,
              bearer: bool = True, client: FlaskClient | None = None) -> SignedIn:
        response = (client or self.client).post(
            "/api/auth/login",
            json={"username": username, "password": password, "refresh_in_body": bearer})
        assert response.status_code == 200, response.json
        body = response.json
        return SignedIn(body["access_token"], body.get("refresh_token"), body["user"])

    def signed_in(self, username: str = "alice", **kwargs: Any) -> SignedIn:
        self.register(username)
        return self.login(username, **kwargs)

    def csrf_refresh(self, client: FlaskClient | None = None):
        """A cookie-mode refresh with the double-submit header, as a browser sends it."""
        client = client or self.client
        cookie = client.get_cookie("csrf_refresh_token")
        return client.post("/api/auth/refresh",
                           headers={"X-CSRF-TOKEN": cookie.value if cookie else ""})


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)
