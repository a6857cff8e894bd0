"""Horizontal scale: two app instances (separate gunicorn processes) on one PostgreSQL
database and one Redis. Nothing an instance needs lives only in another one's memory.
"""

import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from support.api import bearer
from support.live_server import (
    assert_no_server_errors,
    bearer_refresh,
    burst,
    live_server,
    login,
    register,
    request,
    summary,
)
from support.services import REDIS_URL, require_service

pytestmark = [pytest.mark.live,
              pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)]

BURST = 20


@pytest.fixture(scope="module")
def redis_prefix() -> Iterator[str]:
    """A key prefix of this run's own in the shared Redis, deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        require_service(f"Redis is not reachable at {REDIS_URL}: {exc}")
    prefix = f"authapp-two-instances-{uuid.uuid4().hex}"
    yield prefix
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)


@pytest.fixture(scope="module")
def instances(database_url: str, redis_prefix: str) -> Iterator[tuple[str, str]]:
    """Two gunicorn instances sharing the database and the rate-limit storage."""
    env = {
        "AUTHAPP_RATELIMIT_ENABLED": "true",
        "AUTHAPP_RATELIMIT_STORAGE_URI": REDIS_URL,
        "AUTHAPP_RATELIMIT_KEY_PREFIX": redis_prefix,
        "AUTHAPP_RATELIMIT_LOGIN_PER_USERNAME": "3/hour",
        "AUTHAPP_RATELIMIT_REFRESH_PER_SESSION": "1000/minute",
        "AUTHAPP_REFRESH_REUSE_GRACE": "2",
    }
    with live_server(database_url, env) as first, live_server(database_url, env) as second:
        assert first != second
        yield first, second


@pytest.fixture
def pair(app, instances: tuple[str, str]) -> tuple[str, str]:
    """The two base URLs; ``app`` deletes every row after the test."""
    return instances


def test_session_revoked_on_one_instance_is_refused_by_the_other(pair):
    one, two = pair
    register(one, "scale-a")
    victim = login(one, "scale-a").json
    other = login(two, "scale-a").json
    assert request(two, "GET", "/api/me", headers=bearer(victim["access_token"])).status == 200

    sessions = request(two, "GET", "/api/sessions", headers=bearer(other["access_token"])).json
    victim_sid = next(s["id"] for s in sessions["sessions"] if not s["current"])
    revoked = request(one, "DELETE", f"/api/sessions/{victim_sid}",
                      headers=bearer(other["access_token"]))
    assert revoked.status == 204

    refused = request(two, "GET", "/api/me", headers=bearer(victim["access_token"]))
    assert refused.status == 401
    assert refused.json["code"] == "token_revoked"


def test_refresh_rotated_on_one_instance_and_replayed_on_the_other_is_reuse(pair):
    one, two = pair
    register(one, "scale-b")
    original = login(one, "scale-b").json["refresh_token"]
    rotated = bearer_refresh(one, original)
    assert rotated.status == 200 and "refresh_token" in rotated.json

    time.sleep(2.2)  # past the 2 s grace window of these servers: no clock to move here
    replay = bearer_refresh(two, original)
    assert replay.status == 401
    assert replay.json["code"] == "token_reused"
    successor = bearer_refresh(one, rotated.json["refresh_token"])
    assert successor.status == 401
    assert successor.json["code"] == "token_revoked"


def test_rate_limit_counts_are_shared_between_instances(pair):
    one, two = pair
    register(one, "scale-c")
    wrong = {"username": "scale-c", "password": "not the right password"}
    statuses = [request(base, "POST", "/api/auth/login", json_body=wrong).status
                for base in (one, two, one)]
    assert statuses == [401, 401, 401]
    blocked = request(two, "POST", "/api/auth/login", json_body=wrong)
    assert blocked.status == 429
    assert blocked.json["code"] == "rate_limited"
    assert int(blocked.headers["Retry-After"]) > 0


def test_concurrent_refreshes_across_both_instances_mint_exactly_one_successor(pair):
    one, two = pair
    register(one, "scale-d")
    original = login(two, "scale-d").json["refresh_token"]

    calls = [("POST", "/api/auth/refresh", {"headers": bearer(original)})] * BURST
    answers = burst(pair, calls)

    assert_no_server_errors(answers, {200, 401})
    minted = [a.json["refresh_token"] for a in answers
              if a.status == 200 and "refresh_token" in a.json]
    assert len(minted) == 1, summary(answers)
    follow_up = bearer_refresh(one, minted[0])
    assert follow_up.status == 200 and "refresh_token" in follow_up.json

