"""Two gunicorn instances signing with ES256 on one PostgreSQL database (SPEC §12): a rotation
on the command line signs nobody out, and a revoked key is refused by both within 60 s."""

import time
from collections.abc import Iterator

import jwt as pyjwt
import pytest
from support.api import bearer
from support.live_server import bearer_refresh, live_server, login, register, request

pytestmark = [pytest.mark.live,
              pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)]
PROMISE = 60.0  # seconds within which every instance sees a key change


@pytest.fixture
def pair(app, database_url) -> Iterator[tuple[str, str]]:
    """Two instances; ``app`` (same database, ES256) runs ``flask keys`` and cleans up."""
    app.config["JWT_ALGORITHM"] = "ES256"
    env = {"AUTHAPP_JWT_ALGORITHM": "ES256"}
    with live_server(database_url, env) as one, live_server(database_url, env) as two:
        yield one, two


def keys(app, *args: str) -> None:
    result = app.test_cli_runner().invoke(args=["keys", *args])
    assert result.exit_code == 0, result.output


def me(base: str, token: str) -> int:
    return request(base, "GET", "/api/me", headers=bearer(token)).status


def kid(token: str) -> str:
    return pyjwt.get_unverified_header(token)["kid"]


def test_a_rotation_signs_nobody_out_on_either_instance(app, pair):
    one, two = pair
    register(one, "rota")
    before = login(one, "rota").json
    keys(app, "rotate", "--force")
    for base in pair:
        assert me(base, before["access_token"]) == 200
    refreshed = bearer_refresh(two, before["refresh_token"])
    assert refreshed.status == 200, refreshed.body
    for base in pair:
        assert me(base, refreshed.json["access_token"]) == 200


def test_a_revoked_key_is_refused_by_every_instance_within_a_minute(app, pair):
    one, two = pair
    register(one, "revo")
    tokens = [login(base, "revo").json["access_token"] for base in pair]
    assert len({kid(token) for token in tokens}) == 1
    assert all(me(base, token) == 200 for base in pair for token in tokens)

    keys(app, "revoke", kid(tokens[0]))
    revoked_at = time.monotonic()
    waiting = {(base, token) for base in pair for token in tokens}
    while waiting:  # real processes with their own caches: poll, bounded by the promise
        waiting = {(base, token) for base, token in waiting if me(base, token) != 401}
        assert time.monotonic() - revoked_at < PROMISE, f"still accepted: {waiting}"
        time.sleep(1)
    answer = request(two, "GET", "/api/me", headers=bearer(tokens[0]))
    assert answer.json["code"] == "token_invalid"
    fresh = login(two, "revo").json["access_token"]
    assert kid(fresh) != kid(tokens[0])
    assert me(one, fresh) == 200
