"""A real gunicorn server for tests that need separate processes, threads and sockets.

``live_server(database_url)`` is a context manager: it starts ``gunicorn wsgi:app``
(two gthread workers, eight threads each) on a free port of 127.0.0.1 against the
given (already migrated) database, waits until ``GET /api/health`` answers 200,
yields the base URL, and on exit stops the whole process group, killing it if it
does not stop in time.  Only the standard library is used for HTTP.
"""

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.message import Message
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from support.api import PASSWORD, bearer
from support.apps import REPO_ROOT

STARTUP_TIMEOUT = 20.0
SHUTDOWN_TIMEOUT = 10.0
REQUEST_TIMEOUT = 30.0


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class HTTPResponse:
    """What a test needs from an answer: status, headers, raw and JSON body."""

    status: int
    headers: Message
    body: bytes
    _json: Any = field(default=None, repr=False)

    @property
    def json(self) -> Any:
        if self._json is None and self.body:
            self._json = json.loads(self.body)
        return self._json

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def set_cookies(self) -> dict[str, str]:
        """The cookies this response sets, by name (value only)."""
        jar: dict[str, str] = {}
        for header in self.headers.get_all("Set-Cookie") or []:
            parsed = SimpleCookie()
            parsed.load(header)
            jar.update({name: morsel.value for name, morsel in parsed.items()})
        return jar


def open_connection(base_url: str, timeout: float = REQUEST_TIMEOUT) -> http.client.HTTPConnection:
    """An HTTP connection to the server, already connected (so a barrier can follow)."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    connection.connect()
    return connection


def send(connection: http.client.HTTPConnection, method: str, path: str, *,
         json_body: Any = None, headers: Mapping[str, str] | None = None) -> HTTPResponse:
    """Send one request on an open connection and read the whole answer."""
    all_headers = {"Accept": "application/json", **(headers or {})}
    body = None
    if json_body is not None:
        body = json.dumps(json_body).encode()
        all_headers["Content-Type"] = "application/json"
    connection.request(method, path, body=body, headers=all_headers)
    response = connection.getresponse()
    return HTTPResponse(response.status, response.headers, response.read())


def request(base_url: str, method: str, path: str, *, json_body: Any = None,
            headers: Mapping[str, str] | None = None,
            timeout: float = REQUEST_TIMEOUT) -> HTTPResponse:
    """One request on a fresh connection, closed afterwards."""
    connection = open_connection(base_url, timeout)
    try:
        return send(connection, method, path, json_body=json_body, headers=headers)
    finally:
        connection.close()


def _server_environment(database_url: str, extra: Mapping[str, str] | None) -> dict[str, str]:
    """The parent's environment without any authapp settings, plus the server's own."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("AUTHAPP_") and key != "DATABASE_URL"}
    env.update({
        "AUTHAPP_ENV": "testing",
        "AUTHAPP_SQLALCHEMY_DATABASE_URI": database_url,
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra or {})
    return env


def _stop(process: subprocess.Popen) -> None:
    """Terminate the server's process group; kill it if it lingers. Never leaves one behind."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=SHUTDOWN_TIMEOUT)
    # Workers may outlive a master that died on its own: clean up the group either way.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=SHUTDOWN_TIMEOUT)


def _wait_until_healthy(process: subprocess.Popen, base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode} during startup:\n"
                               f"{log_path.read_text(errors='replace')}")
        try:
            answer = request(base_url, "GET", "/api/health", timeout=2)
        except OSError as exc:
            last_error = repr(exc)
        else:
            if answer.status == 200:
                return
            last_error = f"GET /api/health answered {answer.status}: {answer.body[:300]!r}"
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not become healthy within {STARTUP_TIMEOUT} s "
                       f"({last_error}):\n{log_path.read_text(errors='replace')}")


@contextlib.contextmanager
def live_server(database_url: str, env: Mapping[str, str] | None = None, *,
                workers: int = 2, threads: int = 8, port: int | None = None) -> Iterator[str]:
    """Serve ``wsgi:app`` with gunicorn on ``database_url``; yields ``http://127.0.0.1:<port>``.

    ``env`` adds environment variables (e.g. ``{"AUTHAPP_REFRESH_REUSE_GRACE": "0"}``);
    ``port`` is a free port chosen beforehand, when a setting such as PUBLIC_URL names it.
    """
    gunicorn = Path(sys.executable).parent / "gunicorn"
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [
        str(gunicorn), "wsgi:app",
        "--bind", f"127.0.0.1:{port}",
        "--worker-class", "gthread",
        "--workers", str(workers),
        "--threads", str(threads),
        "--timeout", "60",
        "--graceful-timeout", "5",
    ]
    with tempfile.TemporaryDirectory(prefix="authapp-live-") as scratch:
        log_path = Path(scratch) / "gunicorn.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=_server_environment(database_url, env),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so we can stop all of it
            )
        try:
            _wait_until_healthy(process, base_url, log_path)
            yield base_url
        finally:
            _stop(process)


# -- API helpers for live-server tests ------------------------------------------------------


Call = tuple[str, str, dict[str, Any]]  # method, path, keyword arguments for ``send``


def burst(base_urls: str | Sequence[str], calls: Sequence[Call]) -> list[HTTPResponse]:
    """Send every call at the same moment, each on its own connection; answers in call order.

    With several servers, call *i* goes to ``base_urls[i % len(base_urls)]``.
    """
    servers = [base_urls] if isinstance(base_urls, str) else list(base_urls)
    barrier = threading.Barrier(len(calls), timeout=30)

    def one(indexed: tuple[int, Call]) -> HTTPResponse:
        index, (method, path, kwargs) = indexed
        connection = open_connection(servers[index % len(servers)])
        try:
            barrier.wait()
            return send(connection, method, path, **kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(one, enumerate(calls)))


def register(base_url: str, username: str, password: str = PASSWORD) -> None:
    answer = request(base_url, "POST", "/api/auth/register",
                     json_body={"username": username, "password": password})
    assert answer.status == 201, answer.body


def login(base_url: str, username: str, *, bearer: bool = True) -> HTTPResponse:
    answer = request(base_url, "POST", "/api/auth/login",
                     json_body={"username": username, "password": PASSWORD,
                                "refresh_in_body": bearer})
    assert answer.status == 200, answer.body
    return answer


def bearer_refresh(base_url: str, refresh_token: str) -> HTTPResponse:
    return request(base_url, "POST", "/api/auth/refresh", headers=bearer(refresh_token))


def summary(answers: Sequence[HTTPResponse]) -> str:
    """A readable account of a burst, for assertion messages."""
    counts = Counter((a.status, (a.json or {}).get("code") if a.status >= 400 else None)
                     for a in answers)
    return ", ".join(f"{status}{f' {code}' if code else ''} x{n}"
                     for (status, code), n in sorted(counts.items(), key=str))


def assert_no_server_errors(answers: Sequence[HTTPResponse], allowed: set[int]) -> None:
    statuses = {a.status for a in answers}
    assert statuses <= allowed, summary(answers)
    for answer in answers:
        if answer.status >= 400:
            assert answer.content_type.startswith("application/problem+json"), answer.body
