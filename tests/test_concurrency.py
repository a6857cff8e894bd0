"""Races against a real gunicorn server (2 processes x 8 threads), on SQLite and PostgreSQL.

Every burst opens its connections first, then releases all requests at once
through a ``threading.Barrier``.  SPEC §3: N simultaneous refreshes with one
token never mint two valid successors; §6/§7: usernames are unique without
regard to case, and nothing a client sends produces a 500.
"""

import itertools
import time
from collections.abc import Iterator

import pytest
from support.api import PASSWORD, bearer
from support.live_server import (
    Call,
    assert_no_server_errors,
    bearer_refresh,
    burst,
    login,
    register,
    request,
    summary,
)
from support.live_server import live_server as run_live_server

pytestmark = pytest.mark.live

BURST = 20
REFRESH_COOKIE = "refresh_token_cookie"
CSRF_REFRESH_COOKIE = "csrf_refresh_token"


@pytest.fixture(scope="module")
def _server(database_url: str) -> Iterator[str]:
    """One gunicorn per backend for the whole module."""
    with run_live_server(database_url) as base_url:
        yield base_url


@pytest.fixture
def live_server(app, _server: str) -> str:
    """The live server's base URL; ``app`` deletes every row once the test is done."""
    return _server


# -- helpers -------------------------------------------------------------------------------


# -- refresh races -------------------------------------------------------------------------


def test_concurrent_bearer_refreshes_mint_exactly_one_successor(live_server: str) -> None:
    register(live_server, "racer")
    original = login(live_server, "racer").json["refresh_token"]

    answers = burst(live_server, [("POST", "/api/auth/refresh",
                                   {"headers": bearer(original)})] * BURST)

    assert_no_server_errors(answers, {200, 401})
    minted = [a.json["refresh_token"] for a in answers
              if a.status == 200 and "refresh_token" in a.json]
    assert len(minted) == 1, summary(answers)
    for answer in answers:
        if answer.status == 200:
            assert answer.json["access_token"] and answer.json["token_type"] == "Bearer"
        else:
            assert answer.json["code"] in {"token_reused", "token_revoked"}, answer.json

    # Exactly one refresh token works afterwards: the one that was minted.  The original,
    # still inside the grace window, only gets a grace answer (no new refresh token), and
    # the session survives it.
    replay = bearer_refresh(live_server, original)
    assert replay.status == 200, replay.body
    assert "refresh_token" not in replay.json
    successor = bearer_refresh(live_server, minted[0])
    assert successor.status == 200, successor.body
    assert "refresh_token" in successor.json
    me = request(live_server, "GET", "/api/me", headers=bearer(successor.json["access_token"]))
    assert me.status == 200, me.body
    assert me.json["username"] == "racer"


def test_concurrent_cookie_refreshes_set_at_most_one_new_refresh_cookie(live_server: str) -> None:
    register(live_server, "tabs")
    cookies = login(live_server, "tabs", bearer=False).set_cookies()
    assert REFRESH_COOKIE in cookies and CSRF_REFRESH_COOKIE in cookies, cookies
    headers = {
        "Cookie": f"{REFRESH_COOKIE}={cookies[REFRESH_COOKIE]}; "
                  f"{CSRF_REFRESH_COOKIE}={cookies[CSRF_REFRESH_COOKIE]}",
        "X-CSRF-TOKEN": cookies[CSRF_REFRESH_COOKIE],
    }

    answers = burst(live_server, [("POST", "/api/auth/refresh", {"headers": headers})] * BURST)

    assert_no_server_errors(answers, {200, 401})
    new_cookies = [a.set_cookies()[REFRESH_COOKIE] for a in answers
                   if REFRESH_COOKIE in a.set_cookies()]
    assert len(new_cookies) <= 1, summary(answers)
    for answer in answers:
        if answer.status == 200:
            assert answer.json["access_token"]
            assert "refresh_token" not in answer.json  # cookie mode: never in the body


# -- registration races --------------------------------------------------------------------


@pytest.mark.parametrize("names", [
    pytest.param(["carol"] * 10, id="same-name"),
    pytest.param(list(itertools.islice(itertools.cycle(["alice", "ALICE", "Alice"]), 10)),
                 id="case-variants"),
])
def test_concurrent_registrations_of_one_name_create_one_account(live_server: str,
                                                                 names: list[str]) -> None:
    answers = burst(live_server, [
        ("POST", "/api/auth/register", {"json_body": {"username": name, "password": PASSWORD}})
        for name in names
    ])

    assert_no_server_errors(answers, {201, 409})
    assert [a.status for a in answers].count(201) == 1, summary(answers)
    for answer in answers:
        if answer.status == 409:
            assert answer.json["code"] == "username_taken", answer.json
    winner = next(i for i, a in enumerate(answers) if a.status == 201)
    # The account that exists is the winner's, and every variant signs into it.
    for name in set(names):
        signed_in = login(live_server, name)
        assert signed_in.json["user"]["username"] == names[winner]


# -- logout-all against refreshes ----------------------------------------------------------


def test_logout_all_racing_refreshes_leaves_nothing_refreshable(live_server: str) -> None:
    register(live_server, "dave")
    logins = [login(live_server, "dave").json for _ in range(4)]
    calls: list[Call] = [("POST", "/api/auth/logout-all",
                          {"headers": bearer(logins[0]["access_token"])})] * 2
    for signed_in in logins:
        refresh = ("POST", "/api/auth/refresh", {"headers": bearer(signed_in["refresh_token"])})
        calls += [refresh] * 4

    answers = burst(live_server, calls)

    assert_no_server_errors(answers, {200, 204, 401})
    assert answers[0].status == 204 or answers[1].status == 204, summary(answers)
    refresh_tokens = {s["refresh_token"] for s in logins}
    access_tokens = {s["access_token"] for s in logins}
    for answer in answers[2:]:
        if answer.status == 200:
            refresh_tokens.update(filter(None, [answer.json.get("refresh_token")]))
            access_tokens.add(answer.json["access_token"])

    for token in refresh_tokens:
        again = bearer_refresh(live_server, token)
        assert again.status == 401, again.body
        assert again.json["code"] in {"token_revoked", "token_reused"}, again.json
    for token in access_tokens:
        me = request(live_server, "GET", "/api/me", headers=bearer(token))
        assert me.status == 401, me.body
        assert me.json["code"] == "token_revoked", me.json


# -- reuse after the grace window ----------------------------------------------------------


@pytest.fixture
def no_grace_server(app, database_url: str) -> Iterator[str]:
    """A server whose refresh grace window is zero: any replay is reuse."""
    with run_live_server(database_url, {"AUTHAPP_REFRESH_REUSE_GRACE": "0"}) as base_url:
        yield base_url


def test_replay_after_the_grace_window_revokes_the_session(no_grace_server: str) -> None:
    base_url = no_grace_server
    register(base_url, "erin")
    original = login(base_url, "erin").json["refresh_token"]
    rotated = bearer_refresh(base_url, original)
    assert rotated.status == 200, rotated.body
    successor = rotated.json["refresh_token"]
    time.sleep(0.05)  # strictly past a zero-second window

    replay = bearer_refresh(base_url, original)
    assert replay.status == 401, replay.body
    assert replay.json["code"] == "token_reused", replay.json
    assert replay.content_type.startswith("application/problem+json")
    assert "WWW-Authenticate" in replay.headers

    after = bearer_refresh(base_url, successor)
    assert after.status == 401, after.body
    assert after.json["code"] == "token_revoked", after.json
    me = request(base_url, "GET", "/api/me", headers=bearer(rotated.json["access_token"]))
    assert me.status == 401, me.body
    assert me.json["code"] == "token_revoked", me.json
