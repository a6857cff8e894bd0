"""examples/resource_server.py: another service verifies our access tokens with the JWKS alone
(SPEC §12). Both run as real processes: authapp under gunicorn, the example on its own port."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import jwt as pyjwt
import pytest
from sqlalchemy import select
from support.api import bearer
from support.apps import REPO_ROOT
from support.live_server import free_port, live_server, login, register, request
from support.tokens import claims, forge

from authapp.core.extensions import db
from authapp.db.models import SigningKey
from authapp.tokens import key_material
from authapp.tokens.keys import KEY_SET_TTL
from config import TestingConfig

pytestmark = [pytest.mark.live,
              pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)]
STARTUP_TIMEOUT = 15.0


@contextlib.contextmanager
def example_server(authapp_url: str) -> Iterator[str]:
    """Run the example against ``authapp_url``; yields its base URL; stopped by its PID."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "examples" / "resource_server.py"), "--port", str(port)],
        env={**os.environ, "AUTHAPP_URL": authapp_url}, cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                request(base, "GET", "/hello", timeout=2)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the example resource server did not start") from None
                time.sleep(0.1)  # a real second process: waiting is the only way
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def servers(app, database_url) -> Iterator[tuple[str, str]]:
    """authapp (ES256, one worker) and the example pointed at it; ``app`` cleans the rows
    and runs the ``flask keys`` commands on the same database."""
    app.config["JWT_ALGORITHM"] = "ES256"
    with live_server(database_url, {"AUTHAPP_JWT_ALGORITHM": "ES256"}, workers=1) as authapp, \
            example_server(authapp) as example:
        yield authapp, example


def hello(example: str, token: str):
    return request(example, "GET", "/hello", headers=bearer(token))


def active_private_key(app):
    with app.app_context():
        row = db.session.execute(select(SigningKey).where(SigningKey.state == "active")
                                 ).scalar_one()
        return row.kid, key_material.unseal(row.private_key, row.kid,
                                            TestingConfig.JWT_KEY_ENCRYPTION_KEY)


def test_the_example_accepts_our_access_tokens_and_nothing_else(app, servers):
    authapp, example = servers
    register(authapp, "alice")
    tokens = login(authapp, "alice").json
    accepted = hello(example, tokens["access_token"])
    assert accepted.status == 200, accepted.body
    assert accepted.json == {"hello": claims(tokens["access_token"])["sub"]}

    assert hello(example, tokens["refresh_token"]).status == 401
    payload = claims(tokens["access_token"])
    assert hello(example, forge(payload)).status == 401  # HS256 with our own secret
    stranger = key_material.generate_private_key("ES256")
    kid = pyjwt.get_unverified_header(tokens["access_token"])["kid"]
    forged = pyjwt.encode(payload, stranger, algorithm="ES256", headers={"kid": kid})
    assert hello(example, forged).status == 401

    kid, private = active_private_key(app)
    now = int(datetime.now(UTC).timestamp())
    expired = pyjwt.encode({**payload, "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600},
                           private, algorithm="ES256", headers={"kid": kid})
    assert hello(example, expired).status == 401
    wrong_audience = pyjwt.encode({**payload, "aud": "another-service"}, private,
                                  algorithm="ES256", headers={"kid": kid})
    assert hello(example, wrong_audience).status == 401


def test_the_example_follows_a_rotation(app, servers):
    authapp, example = servers
    register(authapp, "bob")
    before = login(authapp, "bob").json["access_token"]
    assert hello(example, before).status == 200
    old_kid = pyjwt.get_unverified_header(before)["kid"]

    result = app.test_cli_runner().invoke(args=["keys", "rotate", "--force"])
    assert result.exit_code == 0, result.output
    deadline = time.monotonic() + 2 * KEY_SET_TTL
    while True:  # the live instance picks the rotation up within its cache's lifetime
        after = login(authapp, "bob").json["access_token"]
        if pyjwt.get_unverified_header(after)["kid"] != old_kid:
            break
        assert time.monotonic() < deadline, "authapp never signed with the new key"
        time.sleep(1)
    assert hello(example, after).status == 200  # the standby key was already published
    assert hello(example, before).status == 200  # and the retired one still verifies
