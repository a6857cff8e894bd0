"""Breached passwords: every new password against a local Pwned Passwords range server.

The server is real (http.server on a free port, in a thread) and answers like the
service: the suffixes under the asked prefix with their counts, plus padding entries
of count 0 when asked for them. It records what it was sent, so the tests can show
that only the five-character prefix left the machine.
"""

import hashlib
import logging
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support.api import PASSWORD, AuthActions, login, register
from support.apps import delete_all_rows, make_config
from support.pages import page_register
from support.problems import assert_problem

from authapp import create_app
from authapp.accounts.breach import TIMEOUT_SECONDS
from authapp.core.doctor import ERROR, WARNING, diagnose

BREACHED = "lantern quietly orbits marble"
CLEAN = "saffron harbor whistles twice"
MESSAGE = "This password has appeared in a data breach; choose another."
LOGGER = "authapp.accounts.breach"
PADDING_ENTRIES = 30
POSTGRES = "postgresql+psycopg://authapp@db.internal:5432/authapp"


def sha1(password: str) -> str:
    return hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()


class RangeHandler(BaseHTTPRequestHandler):
    server: "RangeServer"

    def do_GET(self) -> None:
        self.server.seen.append(f"{self.requestline}\n{self.headers}")
        self.server.padding_asked.append(self.headers.get("Add-Padding"))
        if self.server.delay:
            self.server.release.wait(self.server.delay)
        prefix = self.path.removeprefix("/range/")
        lines = [f"{digest[5:]}:{count}" for digest, count in self.server.counts.items()
                 if digest.startswith(prefix)]
        if self.headers.get("Add-Padding") == "true":
            lines += [f"{secrets.token_hex(18)[:35].upper()}:0" for _ in range(PADDING_ENTRIES)]
        body = "\r\n".join(sorted(lines)).encode("ascii")
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting: what the slow test wants

    def log_message(self, *args: Any) -> None:
        """Quiet: pytest shows what a test logs, and this is not the app."""


class RangeServer(ThreadingHTTPServer):
    """The range API on a free port; ``counts`` maps whole SHA-1 hashes to breach counts."""

    daemon_threads = False
    block_on_close = True  # server_close() joins every handler thread

    def __init__(self, counts: dict[str, int]) -> None:
        super().__init__(("127.0.0.1", 0), RangeHandler)
        self.counts = counts
        self.seen: list[str] = []  # request line and headers of every request
        self.padding_asked: list[str | None] = []
        self.delay = 0.0
        self.release = threading.Event()
        self.thread = threading.Thread(target=self.serve_forever, name="range-server")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/range/"

    def stop(self) -> None:
        self.release.set()
        self.shutdown()
        self.server_close()
        self.thread.join()


@pytest.fixture
def range_server() -> Iterator[RangeServer]:
    # CLEAN is listed with count 0, as a padding entry that happens to match.
    server = RangeServer({sha1(BREACHED): 42, sha1(CLEAN): 0})
    server.thread.start()
    yield server
    server.stop()


@pytest.fixture
def closed_port_url() -> str:
    """A range URL on a port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/range/"


@pytest.fixture
def make_checked(database_url: str) -> Iterator[Callable[..., FlaskClient]]:
    """A test client of an app whose breach check asks ``url``; rows are deleted afterwards."""
    apps: list[Flask] = []

    def make(url: str, mode: str = "hibp") -> FlaskClient:
        apps.append(create_app(make_config(database_url, PASSWORD_BREACH_CHECK=mode,
                                           PASSWORD_BREACH_API_URL=url)))
        return apps[-1].test_client()

    yield make
    for app in apps:
        delete_all_rows(app)


def change_password(client: FlaskClient, headers: dict[str, str], new: str):
    return client.post("/api/auth/password", headers=headers,
                       json={"current_password": PASSWORD, "new_password": new})


def breach_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == LOGGER]


def assert_nothing_of(password: str, text: str) -> None:
    """Neither the password nor its hash (whole or the suffix that stays home) is in ``text``."""
    digest = sha1(password)
    assert password not in text
    assert digest not in text.upper()
    assert digest[5:] not in text.upper()


# -- what leaves the machine ---------------------------------------------------------------


def test_only_the_five_character_prefix_leaves_the_machine_with_padding_asked_for(
        make_checked, range_server):
    client = make_checked(range_server.url)

    register(client, password=BREACHED)

    [request] = range_server.seen
    assert request.startswith(f"GET /range/{sha1(BREACHED)[:5]} HTTP/1.1\n"), request
    assert range_server.padding_asked == ["true"]
    assert_nothing_of(BREACHED, request)


# -- the answers -----------------------------------------------------------------------------


def test_a_breached_password_is_refused_on_register_like_the_other_password_rules(
        make_checked, range_server):
    client = make_checked(range_server.url)

    response = register(client, password=BREACHED)

    body = assert_problem(response, 422, "validation_error")
    assert body["errors"] == {"password": [MESSAGE]}
    assert login(client, password=BREACHED).status_code == 401


def test_a_clean_password_passes_even_when_padding_lists_it_with_count_0(
        make_checked, range_server):
    client = make_checked(range_server.url)

    assert register(client, password=CLEAN).status_code == 201
    assert len(range_server.seen) == 1
    assert login(client, password=CLEAN).status_code == 200


def test_a_breached_new_password_is_refused_on_password_change(make_checked, range_server):
    client = make_checked(range_server.url)
    current = AuthActions(client).signed_in()

    refused = change_password(client, current.headers, BREACHED)
    changed = change_password(client, current.headers, CLEAN)

    assert assert_problem(refused, 422, "validation_error")["errors"] == {
        "new_password": [MESSAGE]}
    assert changed.status_code == 204
    assert login(client, password=CLEAN).status_code == 200


def test_the_register_page_shows_the_breach_beside_the_password_field(
        make_checked, range_server):
    client = make_checked(range_server.url)

    response = page_register(client, password=BREACHED)

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'id="password-error">\s*<li>' + re.escape(MESSAGE) + "</li>", html), html


def test_off_never_asks_the_server(make_checked, range_server):
    client = make_checked(range_server.url, mode="off")

    assert register(client, password=BREACHED).status_code == 201
    assert range_server.seen == []


# -- failing open ----------------------------------------------------------------------------


def test_an_unreachable_service_accepts_the_password_with_one_warning(
        make_checked, closed_port_url, caplog):
    client = make_checked(closed_port_url)

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        response = register(client, password=BREACHED)

    assert response.status_code == 201, response.json
    [warning] = breach_warnings(caplog)
    assert warning.levelno == logging.WARNING
    assert "ConnectionRefusedError" in warning.getMessage()
    assert_nothing_of(BREACHED, caplog.text)


def test_a_slow_service_is_abandoned_after_the_timeout_and_the_password_accepted(
        make_checked, range_server, caplog):
    client = make_checked(range_server.url)
    range_server.delay = TIMEOUT_SECONDS + 0.5

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        started = time.monotonic()
        response = register(client, password=BREACHED)
        elapsed = time.monotonic() - started

    assert response.status_code == 201, response.json
    assert TIMEOUT_SECONDS <= elapsed < TIMEOUT_SECONDS + 1.5, elapsed
    [warning] = breach_warnings(caplog)
    assert f"no answer within {TIMEOUT_SECONDS:g} s" in warning.getMessage()
    assert_nothing_of(BREACHED, caplog.text)


# -- auth doctor -----------------------------------------------------------------------------


@pytest.fixture
def production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Flask]:
    """A correct production app (nothing local leaks in), plus ``overrides``."""
    for key in list(os.environ):
        if key.startswith("AUTHAPP_") or key in {"DATABASE_URL", "FLASK_DEBUG"}:
            monkeypatch.delenv(key)

    def make(**overrides: Any) -> Flask:
        return create_app(make_config(
            POSTGRES, ENV_NAME="production", SECRET_KEY=secrets.token_urlsafe(48),
            JWT_SECRET_KEY=secrets.token_urlsafe(48), MFA_ENCRYPTION_KEY=secrets.token_urlsafe(48),
            RATELIMIT_STORAGE_URI="redis://cache:6379/0", PUBLIC_URL="https://auth.example.com",
            BCRYPT_LOG_ROUNDS=12, **overrides), instance_path=str(tmp_path / "instance"))

    return make


def breach_findings(app: Flask) -> list[tuple[str, str]]:
    return [(f.severity, f.setting) for f in diagnose(app.config)
            if f.setting == "PASSWORD_BREACH_CHECK"]


def test_production_checks_by_default_and_doctor_is_satisfied(production):
    app = production()

    assert app.config["PASSWORD_BREACH_CHECK"] == "hibp"
    assert breach_findings(app) == []


def test_doctor_warns_when_the_check_is_off_in_production(production):
    app = production(PASSWORD_BREACH_CHECK="off")

    result = app.test_cli_runner().invoke(args=["auth", "doctor"])

    assert breach_findings(app) == [(WARNING, "PASSWORD_BREACH_CHECK")]
    assert result.exit_code == 0, result.output
    assert "WARNING  PASSWORD_BREACH_CHECK: " in result.output


def test_doctor_refuses_an_unknown_mode(production):
    assert breach_findings(production(PASSWORD_BREACH_CHECK="on")) == [
        (ERROR, "PASSWORD_BREACH_CHECK")]


def test_development_and_testing_leave_it_off_without_a_breach_finding(tmp_path):
    for env in ("development", "testing"):
        app = create_app({"ENV_NAME": env}, instance_path=str(tmp_path / env))
        assert app.config["PASSWORD_BREACH_CHECK"] == "off"
        assert breach_findings(app) == []
