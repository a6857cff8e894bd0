"""Configuration (SPEC §2, §7): environments, secrets, environment variables, migrations.

Every test here runs with a clean environment (no ``AUTHAPP_*``, no
``DATABASE_URL``) and an instance folder in ``tmp_path``, so neither the
developer's shell nor the repository's ``instance/`` can leak in or be touched.
Every ``create_app`` here gets that temporary folder as its ``instance_path``.
"""

import functools
import os
import secrets
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic import command
from flask import Flask, current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from support.api import PASSWORD, AuthActions, login, register
from support.apps import MIGRATIONS, make_config
from support.services import POSTGRES_ADMIN_URL

import authapp
from authapp import create_app
from authapp.core.extensions import db
from config import TestingConfig

TABLES = {"users", "sessions", "revoked_tokens"}


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No configuration from the outside world; the instance folder lives in tmp_path."""
    for key in list(os.environ):
        if key.startswith("AUTHAPP_") or key == "DATABASE_URL":
            monkeypatch.delenv(key)
    instance = tmp_path / "instance"
    monkeypatch.setattr(sys.modules[__name__], "create_app",
                        functools.partial(authapp.create_app, instance_path=str(instance)))
    return instance


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'config-test.sqlite3'}"


def strong_secret() -> str:
    return secrets.token_urlsafe(48)


def production(database_url: str, **overrides: Any) -> Flask:
    return create_app({"ENV_NAME": "production", "SQLALCHEMY_DATABASE_URI": database_url,
                       "MAIL_WORKER_ENABLED": False,  # the shared test database's outbox
                       **overrides})


# -- production secrets --------------------------------------------------------------------


SHORT = secrets.token_urlsafe(32)[:31]  # random, but one byte short of 32
SHARED = secrets.token_urlsafe(48)


@pytest.mark.parametrize(("secret_key", "jwt_secret_key", "complaint"), [
    pytest.param(None, None, "SECRET_KEY", id="both-missing"),
    pytest.param(strong_secret(), None, "JWT_SECRET_KEY", id="jwt-missing"),
    pytest.param(None, strong_secret(), "SECRET_KEY", id="secret-missing"),
    pytest.param("", strong_secret(), "SECRET_KEY", id="secret-empty"),
    pytest.param(SHORT, strong_secret(), "SECRET_KEY", id="secret-31-bytes"),
    pytest.param(strong_secret(), SHORT, "JWT_SECRET_KEY", id="jwt-31-bytes"),
    pytest.param(TestingConfig.SECRET_KEY, strong_secret(), "SECRET_KEY", id="testing-secret"),
    pytest.param(strong_secret(), TestingConfig.JWT_SECRET_KEY, "JWT_SECRET_KEY",
                 id="testing-jwt-secret"),
    pytest.param("a" * 40, strong_secret(), "SECRET_KEY", id="low-entropy-secret"),
    pytest.param(strong_secret(), "0123456789" * 4, "JWT_SECRET_KEY", id="low-entropy-jwt"),
    pytest.param(SHARED, SHARED, "differ", id="identical"),
])
def test_production_refuses_weak_secrets(sqlite_url: str, secret_key: str | None,
                                         jwt_secret_key: str | None, complaint: str) -> None:
    overrides = {key: value for key, value in
                 (("SECRET_KEY", secret_key), ("JWT_SECRET_KEY", jwt_secret_key))
                 if value is not None}
    with pytest.raises(RuntimeError, match=complaint):
        production(sqlite_url, **overrides)


def test_production_refuses_weak_secrets_from_the_environment(
        monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> None:
    monkeypatch.setenv("AUTHAPP_ENV", "production")
    monkeypatch.setenv("AUTHAPP_SQLALCHEMY_DATABASE_URI", sqlite_url)
    monkeypatch.setenv("AUTHAPP_SECRET_KEY", "short")
    monkeypatch.setenv("AUTHAPP_JWT_SECRET_KEY", strong_secret())
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()


def test_production_starts_with_two_strong_distinct_secrets(
        monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> None:
    secret, jwt_secret = strong_secret(), strong_secret()
    monkeypatch.setenv("AUTHAPP_ENV", "production")
    monkeypatch.setenv("AUTHAPP_SQLALCHEMY_DATABASE_URI", sqlite_url)
    monkeypatch.setenv("AUTHAPP_SECRET_KEY", secret)
    monkeypatch.setenv("AUTHAPP_JWT_SECRET_KEY", jwt_secret)

    app = create_app()

    assert app.config["ENV_NAME"] == "production"
    assert app.config["SECRET_KEY"] == secret
    assert app.config["JWT_SECRET_KEY"] == jwt_secret
    assert app.config["JWT_COOKIE_SECURE"] is True
    assert app.config["JWT_REFRESH_COOKIE_NAME"] == "__Host-refresh_token_cookie"
    assert app.config["JWT_ACCESS_COOKIE_NAME"] == "__Host-access_token_cookie"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["TRUSTED_PROXY_COUNT"] == 1
    assert not app.config.get("TESTING")


def _set_cookie_attributes(header: str) -> tuple[str, dict[str, str]]:
    """``name=value; Attr=x; Flag`` -> (name, {attr (lower case): value})."""
    first, *rest = (part.strip() for part in header.split(";"))
    attributes = {}
    for part in rest:
        key, _, value = part.partition("=")
        attributes[key.lower()] = value
    return first.split("=", 1)[0], attributes


def test_production_login_sets_a_host_prefixed_secure_refresh_cookie(app: Flask,
                                                                     database_url: str) -> None:
    """``app`` only cleans the tables afterwards; the production app shares its database."""
    prod = production(database_url, SECRET_KEY=strong_secret(), JWT_SECRET_KEY=strong_secret(),
                      BCRYPT_LOG_ROUNDS=4)
    client = prod.test_client()
    registered = register(client, "prod")
    assert registered.status_code == 201, registered.json

    response = login(client, "prod")

    assert response.status_code == 200, response.json
    cookies = dict(_set_cookie_attributes(h) for h in response.headers.getlist("Set-Cookie"))
    assert "__Host-refresh_token_cookie" in cookies, list(cookies)
    assert "refresh_token_cookie" not in cookies
    refresh = cookies["__Host-refresh_token_cookie"]
    assert "secure" in refresh
    assert refresh.get("path") == "/"
    assert "domain" not in refresh
    assert "httponly" in refresh
    assert "__Host-csrf_refresh_token" in cookies
    assert "secure" in cookies["__Host-csrf_refresh_token"]


def test_production_sends_hsts_of_at_least_a_year_on_every_response(app: Flask,
                                                                     database_url: str) -> None:
    prod = production(database_url, SECRET_KEY=strong_secret(), JWT_SECRET_KEY=strong_secret())
    client = prod.test_client()
    for path in ("/", "/login", "/api/health", "/api/me", "/static/style.css", "/nope"):
        hsts = client.get(path).headers.get("Strict-Transport-Security", "")
        max_age = int(hsts.split("max-age=")[1].split(";")[0]) if "max-age=" in hsts else 0
        assert max_age >= 31_536_000, (path, hsts)


# -- development secret --------------------------------------------------------------------


def test_development_generates_its_secrets_once_and_keeps_them_private(isolated: Path) -> None:
    first = create_app()  # AUTHAPP_ENV unset: development, SQLite in the instance folder

    assert first.config["ENV_NAME"] == "development"
    path = isolated / "secrets.json"
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret, jwt_secret = first.config["SECRET_KEY"], first.config["JWT_SECRET_KEY"]
    assert len(secret.encode()) >= 32 and len(jwt_secret.encode()) >= 32
    assert secret != jwt_secret
    assert first.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{isolated / 'authapp.sqlite3'}"

    content = path.read_bytes()
    second = create_app()

    assert (second.config["SECRET_KEY"], second.config["JWT_SECRET_KEY"]) == (secret, jwt_secret)
    assert path.read_bytes() == content
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_development_prefers_secrets_from_the_environment(
        monkeypatch: pytest.MonkeyPatch, isolated: Path) -> None:
    secret, jwt_secret = strong_secret(), strong_secret()
    monkeypatch.setenv("AUTHAPP_SECRET_KEY", secret)
    monkeypatch.setenv("AUTHAPP_JWT_SECRET_KEY", jwt_secret)
    app = create_app()
    assert (app.config["SECRET_KEY"], app.config["JWT_SECRET_KEY"]) == (secret, jwt_secret)


# -- environment variables -----------------------------------------------------------------


def test_access_token_lifetime_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                    app: Flask, database_url: str) -> None:
    monkeypatch.setenv("AUTHAPP_JWT_ACCESS_TOKEN_EXPIRES", "60")
    configured = create_app(make_config(database_url))
    assert configured.config["JWT_ACCESS_TOKEN_EXPIRES"] == 60
    auth = AuthActions(configured.test_client())

    signed_in = auth.signed_in("timer")
    response = login(auth.client, "timer")

    assert response.json["expires_in"] == 60
    refreshed = auth.client.post("/api/auth/refresh", headers=signed_in.refresh_headers)
    assert refreshed.status_code == 200, refreshed.json
    assert refreshed.json["expires_in"] == 60


def test_bcrypt_rounds_from_the_environment_are_an_int(monkeypatch: pytest.MonkeyPatch,
                                                       sqlite_url: str) -> None:
    monkeypatch.setenv("AUTHAPP_BCRYPT_LOG_ROUNDS", "5")
    app = create_app(make_config(sqlite_url))
    rounds = app.config["BCRYPT_LOG_ROUNDS"]
    assert rounds == 5 and type(rounds) is int
    from authapp.accounts.passwords import hash_password

    with app.app_context():
        assert hash_password(PASSWORD).startswith("$2b$05$")


def test_boolean_from_the_environment_is_json_parsed(monkeypatch: pytest.MonkeyPatch,
                                                     sqlite_url: str) -> None:
    monkeypatch.setenv("AUTHAPP_RATELIMIT_ENABLED", "false")
    monkeypatch.setenv("AUTHAPP_ENV", "development")
    app = create_app({"SQLALCHEMY_DATABASE_URI": sqlite_url})
    assert app.config["RATELIMIT_ENABLED"] is False


@pytest.mark.parametrize(("given", "expected"), [
    pytest.param("postgres://user:pw@db.example:5432/auth",
                 "postgresql+psycopg://user:pw@db.example:5432/auth", id="postgres-scheme"),
    pytest.param("postgresql://user@db.example/auth",
                 "postgresql+psycopg://user@db.example/auth", id="postgresql-scheme"),
])
def test_database_url_becomes_psycopg3(monkeypatch: pytest.MonkeyPatch, given: str,
                                       expected: str) -> None:
    monkeypatch.setenv("AUTHAPP_ENV", "testing")
    monkeypatch.setenv("DATABASE_URL", given)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == expected
    with app.app_context():
        assert db.engine.dialect.driver == "psycopg"


def test_prefixed_database_uri_wins_over_database_url(monkeypatch: pytest.MonkeyPatch,
                                                      sqlite_url: str) -> None:
    monkeypatch.setenv("AUTHAPP_ENV", "testing")
    monkeypatch.setenv("DATABASE_URL", "postgres://user@db.example/auth")
    monkeypatch.setenv("AUTHAPP_SQLALCHEMY_DATABASE_URI", sqlite_url)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == sqlite_url


def test_unknown_environment_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHAPP_ENV", "staging")
    with pytest.raises(RuntimeError, match=r"AUTHAPP_ENV.*(development|production).*'staging'"):
        create_app()


# -- migrations ----------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database_url(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[str]:
    """An empty database nobody else uses (a new PostgreSQL database, dropped afterwards)."""
    if request.param == "sqlite":
        yield sqlite_url
        return
    postgres_url = request.getfixturevalue("postgres_url")
    name = postgres_url.rsplit("/", 1)[1] + "_mig"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield postgres_url.rsplit("/", 1)[0] + "/" + name
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_migration_matches_the_models_and_round_trips(fresh_database_url: str) -> None:
    app = create_app(make_config(fresh_database_url))
    with app.app_context():
        try:
            upgrade(directory=MIGRATIONS)
            assert set(inspect(db.engine).get_table_names()) >= TABLES
            config = current_app.extensions["migrate"].migrate.get_config(MIGRATIONS)
            command.check(config)  # raises AutoGenerateDiffsDetected on any drift

            downgrade(directory=MIGRATIONS, revision="base")
            db.engine.dispose()
            assert not TABLES & set(inspect(db.engine).get_table_names())

            upgrade(directory=MIGRATIONS)
            assert set(inspect(db.engine).get_table_names()) >= TABLES
            command.check(config)
        finally:
            db.engine.dispose()


# -- SQLite connection settings ------------------------------------------------------------


def test_sqlite_connections_use_wal_and_a_busy_timeout(sqlite_url: str) -> None:
    app = create_app(make_config(sqlite_url))
    with app.app_context():
        try:
            with db.engine.connect() as connection:
                assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
                assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        finally:
            db.engine.dispose()
