"""The database goes away and comes back (SPEC §7), on PostgreSQL.

While PostgreSQL is unreachable every endpoint that needs it answers
``503 service_unavailable`` as problem+json (never a 500, never a stack
trace); when it is back, the app recovers by itself: no restart, no retry by
the client.  Outages are simulated three ways: a port nobody listens on, a
TCP relay in front of the real server that the test switches off and on, and
``pg_terminate_backend`` on every connection the app holds.
"""

import contextlib
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url
from support.api import PASSWORD, AuthActions, SignedIn, bearer
from support.apps import make_config
from support.live_server import bearer_refresh, free_port, login, register, request
from support.live_server import live_server as run_live_server

from authapp import create_app
from authapp.core.extensions import db
from authapp.db import direct
from authapp.tokens.mint import Grant, issue_tokens

pytestmark = pytest.mark.postgres

TERMINATE_OTHERS = ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()")
LEAKS = ("Traceback", "psycopg", "sqlalchemy", "OperationalError", "<html", "<!doctype")


@pytest.fixture
def postgres_database_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("database outages are a PostgreSQL matter; SQLite is a local file")
    return database_url


def _with_address(url: str, host: str, port: int) -> str:
    return make_url(url).set(host=host, port=port).render_as_string(hide_password=False)


def unavailable_problems(response: Any, what: str) -> list[str]:
    """What is wrong with an answer that should be a clean 503 (nothing, ideally)."""
    if response.status_code != 503:
        return [f"{what}: {response.status_code} {response.data[:300]!r}"]
    found = []
    if response.mimetype != "application/problem+json":
        found.append(f"{what}: Content-Type {response.mimetype}")
    elif (response.json or {}).get("code") != "service_unavailable":
        found.append(f"{what}: code {(response.json or {}).get('code')!r}")
    body = response.get_data(as_text=True).lower()
    found += [f"{what}: body leaks {leak!r}" for leak in LEAKS if leak.lower() in body]
    return found


def assert_all_unavailable(client: FlaskClient, access: str, refresh: str, label: str) -> None:
    """Every database-backed API call answers 503 service_unavailable; lists every offender."""
    found = []
    for method, path, kwargs in api_calls(access, refresh):
        response = client.open(path, method=method, **kwargs)
        found += unavailable_problems(response, f"{method} {path}{label}")
    assert not found, "\n".join(found)


def forged_tokens(app: Flask) -> dict[str, str]:
    """Well-signed tokens for a session the (unreachable) database would have to look up."""
    now = datetime.now(UTC)
    grant = Grant(1, "0" * 32, now + timedelta(days=1), now, ("pwd",))
    with app.test_request_context():
        issued = issue_tokens(grant, refresh_jti="00000000-0000-4000-8000-000000000000",
                              fresh=True)
    return {"access": issued.access_token, "refresh": issued.refresh_token}


def api_calls(access: str, refresh: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Requests that each need the database, as (method, path, test-client kwargs)."""
    credentials = {"username": "alice", "password": PASSWORD}
    return [
        ("GET", "/api/health", {}),
        ("POST", "/api/auth/register", {"json": {**credentials, "username": "newcomer"}}),
        ("POST", "/api/auth/login", {"json": credentials}),
        ("POST", "/api/auth/login", {"json": {**credentials, "refresh_in_body": True}}),
        ("GET", "/api/me", {"headers": bearer(access)}),
        ("GET", "/api/sessions", {"headers": bearer(access)}),
        ("POST", "/api/auth/logout-all", {"headers": bearer(access)}),
        ("POST", "/api/auth/refresh", {"headers": bearer(refresh)}),
    ]


# -- nobody listening ----------------------------------------------------------------------


def test_unreachable_database_answers_503_everywhere() -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    app = create_app(make_config(url))
    client = app.test_client()
    tokens = forged_tokens(app)

    try:
        assert_all_unavailable(client, tokens["access"], tokens["refresh"], "")
    finally:
        with app.app_context():
            db.engine.dispose()


# -- the database leaves and comes back ----------------------------------------------------


class TCPRelay:
    """A switchable TCP relay: ``start`` listens on a fixed port, ``stop`` drops everything."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.05)
        self._listener = listener
        self._spawn(self._accept, listener)

    def stop(self) -> None:
        """Stop listening and cut every relayed connection, like a database going down."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            doomed, self._sockets = self._sockets, set()
        for sock in doomed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = [t for t in self._threads if t.is_alive()]

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def relay(postgres_database_url: str) -> Iterator[TCPRelay]:
    url = make_url(postgres_database_url)
    relay = TCPRelay(url.host or "127.0.0.1", url.port or 5432)
    relay.start()
    yield relay
    relay.stop()


def test_app_recovers_by_itself_when_the_database_returns(app: Flask, relay: TCPRelay,
                                                          postgres_database_url: str) -> None:
    """``app`` cleans the tables afterwards; the app under test reaches PostgreSQL via the relay."""
    relayed = create_app(make_config(
        _with_address(postgres_database_url, "127.0.0.1", relay.port)))
    client = relayed.test_client()
    auth = AuthActions(client)
    signed_in = auth.signed_in("alice")
    assert client.get("/api/me", headers=signed_in.headers).status_code == 200

    try:
        relay.stop()
        assert_all_unavailable(client, signed_in.access_token, signed_in.refresh_token,
                               " (database down)")

        relay.start()
        assert_recovered(client, auth, signed_in)
    finally:
        with relayed.app_context():
            db.engine.dispose()


def assert_recovered(client: FlaskClient, auth: AuthActions,
                     signed_in: SignedIn) -> None:
    """The very next requests succeed: no warm-up request, no retry."""
    health = client.get("/api/health")
    assert health.status_code == 200, health.json
    assert health.json == {"status": "ok", "database": "ok"}
    me = client.get("/api/me", headers=signed_in.headers)
    assert me.status_code == 200, me.json
    refreshed = client.post("/api/auth/refresh", headers=signed_in.refresh_headers)
    assert refreshed.status_code == 200, refreshed.json
    assert "refresh_token" in refreshed.json
    again = auth.login("alice")
    assert again.access_token
    auth.register("bob")


# -- the server drops the app's connections ------------------------------------------------


def terminate_connections(database_url: str) -> int:
    """Kill every other backend on the test database, as a failover or restart would."""
    with psycopg.connect(database_url, autocommit=True) as admin:
        return len(admin.execute(TERMINATE_OTHERS).fetchall())


def test_pool_recovers_after_its_connections_are_terminated(app: Flask, client: FlaskClient,
                                                            auth: AuthActions,
                                                            postgres_database_url: str) -> None:
    signed_in = auth.signed_in("alice")
    assert client.get("/api/me", headers=signed_in.headers).status_code == 200

    assert terminate_connections(postgres_database_url) >= 1  # the pool held at least one

    assert_recovered(client, auth, signed_in)


def test_live_server_recovers_after_its_connections_are_terminated(
        app: Flask, postgres_database_url: str) -> None:
    """Both gunicorn workers keep pooled connections; every one of them is killed at once."""
    with run_live_server(postgres_database_url) as base_url:
        register(base_url, "alice")
        tokens = login(base_url, "alice").json
        access = bearer(tokens["access_token"])
        for _ in range(8):  # warm the pools of both workers
            assert request(base_url, "GET", "/api/me", headers=access).status == 200

        assert terminate_connections(postgres_database_url) >= 1

        for _ in range(8):  # whichever worker and thread answers, it answers 200
            me = request(base_url, "GET", "/api/me", headers=access)
            assert me.status == 200, me.body
            health = request(base_url, "GET", "/api/health")
            assert health.status == 200, health.body
        refreshed = bearer_refresh(base_url, tokens["refresh_token"])
        assert refreshed.status == 200, refreshed.body


def test_disposing_the_engine_closes_the_direct_connections(app: Flask, client: FlaskClient,
                                                            auth: AuthActions) -> None:
    """They are detached from the pool, so the pool's dispose alone would leave them open."""
    signed_in = auth.signed_in("alice")
    assert client.get("/api/me", headers=signed_in.headers).status_code == 200
    with app.app_context():
        [connection] = direct._reader().opened
        driver = connection.dbapi_connection
        db.engine.dispose()
    with pytest.raises(Exception, match="(?i)closed"):
        driver.cursor().execute("SELECT 1")
