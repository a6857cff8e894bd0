"""Rate limits on login, register and refresh (SPEC §4, §6, §7).

Every app here is built with ``RATELIMIT_ENABLED=True`` and small limits, on
SQLite and PostgreSQL. Counters live in memory (a fresh store per app) unless
a test points the app at the real Redis. The clock is moved with
``time_machine``; nothing sleeps.

The in-memory sliding-window counter aligns its windows to the clock's minutes
and starts to forgive earlier hits as soon as a minute ends, so every test here
runs on a stopped clock a few seconds into a minute: no window boundary passes
unless a test moves the clock on purpose.
"""

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from support import api
from support.api import PASSWORD, register
from support.clock import later
from support.pages import csrf_token, page_login
from support.problems import assert_problem
from support.services import REDIS_URL, require_service

from authapp.core.extensions import db
from authapp.db.models import AuthEvent

WRONG = "not the right password at all"

# Every key prefix this module hands out; each Redis test deletes the keys of all of them.
USED_PREFIXES: list[str] = []


# --- fixtures and helpers --------------------------------------------------------------------


pytestmark = pytest.mark.usefixtures("stopped_clock")


@pytest.fixture
def redis_client() -> Iterator[Any]:
    """The real Redis, or a skip (a failure under CI); deletes this module's keys afterwards."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        require_service(f"Redis is not reachable at {REDIS_URL}: {exc}")
    yield client
    for prefix in USED_PREFIXES:
        keys = list(client.scan_iter(match=f"*{prefix}*", count=500))
        if keys:
            client.delete(*keys)
    client.close()


def new_prefix() -> str:
    prefix = f"authapp-test-{uuid.uuid4().hex}"
    USED_PREFIXES.append(prefix)
    return prefix


def login(client: FlaskClient, username: str, password: str = PASSWORD, **options: Any):
    """A bearer-mode login: the refresh token in the body, no cookies in the jar."""
    return api.login(client, username, password, refresh_in_body=True, **options)


def from_ip(address: str) -> dict[str, Any]:
    return {"environ_base": {"REMOTE_ADDR": address}}


def assert_rate_limited(response) -> int:
    """A 429 problem+json ``rate_limited`` with ``Retry-After`` in whole seconds; returns it."""
    body = assert_problem(response, 429, "rate_limited")
    retry_after = response.headers.get("Retry-After", "")
    assert retry_after.isdigit(), f"Retry-After is not integer seconds: {retry_after!r}"
    seconds = int(retry_after)
    assert 0 < seconds <= 120
    assert f"{seconds} second" in body["detail"], body["detail"]
    return seconds


def events(app: Flask, event_type: str) -> list[AuthEvent]:
    with app.app_context():
        rows = db.session.scalars(select(AuthEvent).where(AuthEvent.event_type == event_type)
                                  .order_by(AuthEvent.id))
        return [db.session.merge(row, load=False) for row in rows]


# --- login per username ------------------------------------------------------------------------


def test_login_per_username_counts_failures_and_answers_429_with_retry_after(make_app):
    app = make_app(RATELIMIT_LOGIN_PER_USERNAME="3/minute")
    client = app.test_client()
    assert register(client, "alice").status_code == 201
    for _ in range(3):
        response = login(client, "alice", WRONG)
        assert response.status_code == 401
        assert response.json["code"] == "invalid_credentials"

    # the fourth attempt is refused before the password is looked at, even the right one
    assert_rate_limited(login(client, "alice", WRONG))
    assert_rate_limited(login(client, "alice"))
    # the username is matched without regard to case
    assert_rate_limited(login(client, "ALICE"))

    # another username from the same address is not affected
    assert register(client, "bob").status_code == 201
    assert login(client, "bob").status_code == 200
    assert login(client, "nobody-here", WRONG).status_code == 401


def test_successful_logins_do_not_consume_the_username_limit(make_app):
    app = make_app(RATELIMIT_LOGIN_PER_USERNAME="3/minute")
    client = app.test_client()
    assert register(client, "alice").status_code == 201
    assert login(client, "alice", WRONG).status_code == 401
    assert login(client, "alice", WRONG).status_code == 401
    for _ in range(5):
        assert login(client, "alice").status_code == 200
    assert login(client, "alice", WRONG).status_code == 401  # the third failure is still allowed
    assert_rate_limited(login(client, "alice"))


def test_unknown_usernames_are_limited_like_known_ones(make_app):
    app = make_app(RATELIMIT_LOGIN_PER_USERNAME="2/minute")
    client = app.test_client()
    assert login(client, "ghost", WRONG).status_code == 401
    assert login(client, "ghost", WRONG).status_code == 401
    assert_rate_limited(login(client, "ghost", WRONG))


# --- login per IP ----------------------------------------------------------------------------


def test_login_per_ip_counts_every_attempt_whatever_the_username(make_app):
    app = make_app(RATELIMIT_LOGIN_PER_IP="3/minute")
    client = app.test_client()
    assert register(client, "alice").status_code == 201
    assert login(client, "alice").status_code == 200  # successes count per IP too
    assert login(client, "bob-unknown", WRONG).status_code == 401
    assert login(client, "carol-unknown", WRONG).status_code == 401
    assert_rate_limited(login(client, "dave-unknown", WRONG))
    assert_rate_limited(login(client, "alice"))

    # another client address has its own budget
    assert login(client, "alice", **from_ip("192.0.2.44")).status_code == 200
    assert login(client, "erin-unknown", WRONG, **from_ip("192.0.2.44")).status_code == 401


# --- register and refresh ------------------------------------------------------------------------


def test_register_is_limited_per_ip(make_app):
    app = make_app(RATELIMIT_REGISTER_PER_IP="2/minute")
    client = app.test_client()
    assert register(client, "alice").status_code == 201
    assert register(client, "alice").status_code == 409  # a failed attempt counts too
    assert_rate_limited(register(client, "bob"))
    assert login(client, "bob").status_code == 401  # bob was not created

    assert register(client, "bob", **from_ip("192.0.2.7")).status_code == 201


def test_refresh_is_limited_per_session(make_app):
    app = make_app(RATELIMIT_REFRESH_PER_SESSION="2/minute")
    client = app.test_client()
    assert register(client, "alice").status_code == 201
    token = login(client, "alice").json["refresh_token"]
    for _ in range(2):
        response = client.post("/api/auth/refresh", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.json
        token = response.json["refresh_token"]
    assert_rate_limited(client.post("/api/auth/refresh",
                                    headers={"Authorization": f"Bearer {token}"}))

    # another session of the same user, from the same address, is not affected
    other = login(client, "alice").json["refresh_token"]
    response = client.post("/api/auth/refresh", headers={"Authorization": f"Bearer {other}"})
    assert response.status_code == 200, response.json

    # the refused refresh rotated nothing: once the window has passed the same token works
    with later(3):
        response = client.post("/api/auth/refresh", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.json
        assert "refresh_token" in response.json


def test_refresh_per_session_also_covers_cookie_mode(make_app):
    app = make_app(RATELIMIT_REFRESH_PER_SESSION="1/minute")
    client = app.test_client()
    assert register(client, "alice").status_code == 201
    response = client.post("/api/auth/login", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200

    def cookie_refresh():
        return client.post("/api/auth/refresh",
                           headers={"X-CSRF-TOKEN": client.get_cookie("csrf_refresh_token").value})

    assert cookie_refresh().status_code == 200
    assert_rate_limited(cookie_refresh())


# --- pages --------------------------------------------------------------------------------------


def test_login_page_gets_a_friendly_html_429(make_app):
    app = make_app(RATELIMIT_LOGIN_PER_USERNAME="2/minute")
    client = app.test_client()
    assert register(client, "alice").status_code == 201
    assert page_login(client, password=WRONG).status_code == 422
    assert page_login(client, password=WRONG).status_code == 422

    response = page_login(client)
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    page = response.data.decode()
    assert "Too many attempts" in page
    retry_after = response.headers.get("Retry-After", "")
    assert retry_after.isdigit() and int(retry_after) > 0
    assert f"{retry_after} second" in page
    assert "access_token_cookie=ey" not in " ".join(response.headers.getlist("Set-Cookie"))


def test_page_and_api_share_the_username_counter(make_app):
    app = make_app(RATELIMIT_LOGIN_PER_USERNAME="2/minute")
    client = app.test_client()
    assert register(client, "alice").status_code == 201
    assert login(client, "alice", WRONG).status_code == 401
    assert page_login(client, password=WRONG).status_code == 422
    assert page_login(client).status_code == 429
    assert_rate_limited(login(client, "alice"))


def test_rendering_the_login_form_is_not_counted(make_app):
    app = make_app(RATELIMIT_LOGIN_PER_IP="2/minute")
    client = app.test_client()
    assert register(client, "alice").status_code == 201
    for _ in range(5):
        csrf_token(client)  # GET /login
    assert page_login(client).status_code == 302


# --- the window passes --------------------------------------------------------------------------


def test_requests_pass_again_after_the_window(make_app):
    app = make_app(RATELIMIT_LOGIN_PER_USERNAME="3/minute", RATELIMIT_REGISTER_PER_IP="1/minute")
    client = app.test_client()
    assert register(client, "alice").status_code == 201
    assert_rate_limited(register(client, "bob"))
    for _ in range(3):
        assert login(client, "alice", WRONG).status_code == 401
    assert_rate_limited(login(client, "alice"))

    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)):
        assert login(client, "alice").status_code == 429  # still inside the window
    with later(3):
        assert login(client, "alice").status_code == 200
        assert register(client, "bob").status_code == 201


# --- proxies --------------------------------------------------------------------------------


def test_forwarded_for_is_ignored_without_trusted_proxies(make_app):
    app = make_app(RATELIMIT_LOGIN_PER_IP="2/minute", TRUSTED_PROXY_COUNT=0)
    client = app.test_client()
    for i in range(2):
        response = login(client, f"user{i}", WRONG,
                         headers={"X-Forwarded-For": f"198.51.100.{i + 1}"})
        assert response.status_code == 401
    response = login(client, "user9", WRONG, headers={"X-Forwarded-For": "198.51.100.99"})
    assert_rate_limited(response)
    assert {e.ip for e in events(app, "login_failed")} == {"127.0.0.1"}


def test_forwarded_for_is_honoured_for_exactly_one_hop(make_app):
    app = make_app(RATELIMIT_LOGIN_PER_IP="2/minute", TRUSTED_PROXY_COUNT=1)
    client = app.test_client()
    proxy = from_ip("10.0.0.2")
    for i in range(2):
        # the left-most value is whatever the client made up; the proxy appended the real one
        response = login(client, f"user{i}", WRONG,
                         headers={"X-Forwarded-For": f"192.0.2.{i + 1}, 203.0.113.50"}, **proxy)
        assert response.status_code == 401
    assert_rate_limited(login(client, "user8", WRONG,
                              headers={"X-Forwarded-For": "192.0.2.77, 203.0.113.50"}, **proxy))
    assert_rate_limited(login(client, "user8", WRONG,
                              headers={"X-Forwarded-For": "203.0.113.50"}, **proxy))

    # a different real client behind the same proxy has its own budget
    response = login(client, "user9", WRONG,
                     headers={"X-Forwarded-For": "203.0.113.50, 203.0.113.51"}, **proxy)
    assert response.status_code == 401
    assert [e.ip for e in events(app, "login_failed")] == [
        "203.0.113.50", "203.0.113.50", "203.0.113.51"]


# --- audit ---------------------------------------------------------------------------------


def test_a_rate_limited_attempt_is_audited(make_app):
    app = make_app(RATELIMIT_LOGIN_PER_USERNAME="1/minute")
    client = app.test_client()
    assert login(client, "alice", WRONG).status_code == 401
    response = login(client, "alice", WRONG, headers={"User-Agent": "Hammer/2.0"},
                     **from_ip("192.0.2.200"))
    assert_rate_limited(response)

    [event] = events(app, "rate_limited")
    assert event.ip == "192.0.2.200"
    assert event.user_agent == "Hammer/2.0"
    assert event.user_id is None
    assert event.details["endpoint"] == "api.login"
    assert "1" in event.details["limit"] and "minute" in event.details["limit"]
    assert WRONG not in str(event.details)


def test_a_flood_of_refused_attempts_writes_one_event_per_client_and_minute(make_app):
    """Refusals are cheap; an audit row per refusal would let a flood drive database writes."""
    app = make_app(RATELIMIT_LOGIN_PER_IP="2/minute")
    client = app.test_client()
    for _ in range(2):
        assert login(client, "alice", WRONG, **from_ip("192.0.2.7")).status_code == 401
    for _ in range(25):
        assert_rate_limited(login(client, "alice", WRONG, **from_ip("192.0.2.7")))
    assert_rate_limited(login(client, "bob", WRONG, **from_ip("192.0.2.7")))
    assert len(events(app, "rate_limited")) == 1

    for _ in range(2):  # another client's flood is its own event
        assert login(client, "carol", WRONG, **from_ip("192.0.2.8")).status_code == 401
    assert_rate_limited(login(client, "carol", WRONG, **from_ip("192.0.2.8")))
    assert [e.ip for e in events(app, "rate_limited")] == ["192.0.2.7", "192.0.2.8"]

    with later(minutes=2):  # a flood that comes back is reported again
        for _ in range(2):
            assert login(client, "alice", WRONG, **from_ip("192.0.2.7")).status_code == 401
        for _ in range(5):
            assert_rate_limited(login(client, "alice", WRONG, **from_ip("192.0.2.7")))
    assert [e.ip for e in events(app, "rate_limited")] == ["192.0.2.7", "192.0.2.8",
                                                           "192.0.2.7"]


# --- Redis -----------------------------------------------------------------------------------


def test_redis_counters_are_shared_by_separate_app_instances(make_app, redis_client):
    prefix = new_prefix()
    settings = {"RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix,
                "RATELIMIT_LOGIN_PER_USERNAME": "3/minute"}
    first = make_app(**settings).test_client()
    second = make_app(**settings).test_client()
    assert register(first, "alice").status_code == 201

    assert login(first, "alice", WRONG).status_code == 401
    assert login(second, "alice", WRONG).status_code == 401
    assert login(first, "alice").status_code == 200  # not counted
    assert login(second, "alice", WRONG).status_code == 401

    assert_rate_limited(login(first, "alice"))
    assert_rate_limited(login(second, "alice"))
    assert register(second, "bob").status_code == 201
    assert login(first, "bob").status_code == 200
    assert login(second, "bob", WRONG).status_code == 401


def test_redis_keys_carry_each_apps_configured_prefix(make_app, redis_client):
    """``RATELIMIT_KEY_PREFIX`` is honoured by every app built, not only the first one."""
    for number in (1, 2):
        prefix = new_prefix()
        app = make_app(RATELIMIT_STORAGE_URI=REDIS_URL, RATELIMIT_KEY_PREFIX=prefix,
                       RATELIMIT_LOGIN_PER_USERNAME="3/minute")
        username = f"ghost-{uuid.uuid4().hex[:8]}"
        assert login(app.test_client(), username, WRONG).status_code == 401
        written = sorted(k.decode() for k in redis_client.scan_iter(match=f"*{username}*"))
        assert written, "the failed login left no counter in Redis"
        assert all(prefix in key for key in written), (
            f"app #{number} was built with RATELIMIT_KEY_PREFIX={prefix!r} "
            f"but its counters went to {written}")
