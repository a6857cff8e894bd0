"""Refresh-token rotation, reuse detection, grace, logout and the session list (SPEC §3, §4, §7).

Every test runs on SQLite and PostgreSQL through the ``app`` fixture.  The clock
is moved with ``time_machine`` (which PyJWT sees too); nothing sleeps.  Tokens
minted inside a time travel are only used inside it, because PyJWT rejects an
``iat`` in the future.
"""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from support.api import PASSWORD, AuthActions, bearer, bearer_refresh, me
from support.apps import make_config
from support.problems import assert_problem
from support.tokens import KID, claims, forge

from authapp import create_app
from authapp.accounts import sessions
from authapp.core.extensions import db
from authapp.db.models import AuthEvent, RevokedToken, Session
from authapp.db.transaction import flow
from authapp.http.client import SYSTEM

REFRESH_COOKIE = "refresh_token_cookie"
CSRF_REFRESH_COOKIE = "csrf_refresh_token"
REFRESH_LIFETIME = 1_209_600
ACCESS_LIFETIME = 900
GRACE = 10
SESSION_KEYS = {"id", "created_at", "last_used_at", "expires_at", "user_agent", "device", "ip",
                "current"}


# --- helpers -------------------------------------------------------------------------------


def cookie_value(client: FlaskClient, name: str) -> str | None:
    cookie = client.get_cookie(name)
    return cookie.value if cookie else None


def refresh_cookies(client: FlaskClient) -> tuple[str, str]:
    """The refresh cookie and its CSRF twin as the browser holds them now."""
    refresh, csrf = cookie_value(client, REFRESH_COOKIE), cookie_value(client, CSRF_REFRESH_COOKIE)
    assert refresh and csrf
    return refresh, csrf


def put_refresh_cookies(client: FlaskClient, pair: tuple[str, str]) -> None:
    """Make the browser hold an earlier refresh cookie pair again (a replay)."""
    client.set_cookie(REFRESH_COOKIE, pair[0])
    client.set_cookie(CSRF_REFRESH_COOKIE, pair[1])


def set_cookie_headers(response, name: str) -> list[str]:
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]


def session_ids(client: FlaskClient, access_token: str) -> list[str]:
    response = client.get("/api/sessions", headers=bearer(access_token))
    assert response.status_code == 200, response.json
    return [entry["id"] for entry in response.json["sessions"]]


def frozen_now() -> time_machine.travel:
    """Stop the clock at the real present; shift it explicitly."""
    return time_machine.travel(datetime.now(UTC), tick=False)


# --- starting a session --------------------------------------------------------------------


def test_a_started_session_and_its_sign_in_event_are_stored_together(app, auth):
    user_id = auth.register("alice").json["user"]["id"]
    with app.app_context():
        started = sessions.start_session(user_id, SYSTEM)
        db.session.remove()
        stored = db.session.get(Session, started.grant.session_id)
        assert stored is not None and stored.user_id == user_id
        assert stored.refresh_jti == started.refresh_jti
        assert stored.expires_at == started.grant.session_expires_at
        assert (stored.auth_time, stored.amr) == (started.grant.auth_time, "pwd")
        [event] = db.session.scalars(select(AuthEvent).where(
            AuthEvent.event_type == "login_succeeded",
            AuthEvent.session_id == started.grant.session_id))
        assert event.user_id == user_id and event.user_agent == SYSTEM.user_agent


def test_a_session_started_inside_a_larger_flow_commits_with_it_or_not_at_all(app, auth):
    """A multi-step sign-in that writes first keeps one transaction: a failure after the
    session was started leaves neither the session nor its event behind."""
    user_id = auth.register("alice").json["user"]["id"]
    started: list[sessions.StartedSession] = []

    @flow
    def sign_in_then_fail() -> None:
        started.append(sessions.start_session(user_id, SYSTEM))
        raise RuntimeError("a later step failed")

    with app.app_context():
        with pytest.raises(RuntimeError):
            sign_in_then_fail()
        db.session.remove()
        session_id = started[0].grant.session_id
        assert db.session.get(Session, session_id) is None
        assert not db.session.scalars(select(AuthEvent).where(
            AuthEvent.session_id == session_id)).all()


# --- cookie-mode refresh -------------------------------------------------------------------


def test_cookie_refresh_without_csrf_header_is_csrf_failed(auth, client):
    auth.signed_in("alice", bearer=False)
    response = client.post("/api/auth/refresh")
    assert_problem(response, 403, "csrf_failed")


def test_cookie_refresh_with_mismatched_csrf_header_is_csrf_failed(auth, client):
    auth.signed_in("alice", bearer=False)
    response = client.post("/api/auth/refresh", headers={"X-CSRF-TOKEN": "not-the-cookie-value"})
    assert_problem(response, 403, "csrf_failed")


def test_cookie_refresh_with_csrf_header_rotates_the_refresh_cookie(auth, client):
    auth.signed_in("alice", bearer=False)
    old_refresh, old_csrf = refresh_cookies(client)
    response = auth.csrf_refresh()
    assert response.status_code == 200, response.json
    new_refresh, new_csrf = refresh_cookies(client)
    assert new_refresh != old_refresh
    assert new_csrf != old_csrf
    assert claims(new_refresh)["jti"] != claims(old_refresh)["jti"]
    assert claims(new_refresh)["sid"] == claims(old_refresh)["sid"]
    [refresh_header] = set_cookie_headers(response, REFRESH_COOKIE)
    assert f"Max-Age={REFRESH_LIFETIME}" in refresh_header
    assert "HttpOnly" in refresh_header


def test_cookie_refresh_returns_a_non_fresh_access_token(auth, client):
    auth.signed_in("alice", bearer=False)
    response = auth.csrf_refresh()
    assert response.status_code == 200, response.json
    body = response.json
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == ACCESS_LIFETIME
    token = claims(body["access_token"])
    assert token["type"] == "access"
    assert token["fresh"] is False
    assert me(client, body["access_token"]).status_code == 200


def test_cookie_refresh_puts_no_refresh_token_in_the_body(auth, client):
    auth.signed_in("alice", bearer=False)
    response = auth.csrf_refresh()
    assert response.status_code == 200, response.json
    assert "refresh_token" not in response.json


def test_replayed_refresh_cookie_after_the_grace_window_is_token_reused(auth, client):
    with frozen_now() as clock:
        auth.signed_in("alice", bearer=False)
        old = refresh_cookies(client)
        assert auth.csrf_refresh().status_code == 200
        clock.shift(timedelta(seconds=GRACE + 1))
        put_refresh_cookies(client, old)
        assert_problem(auth.csrf_refresh(), 401, "token_reused")


def test_reused_refresh_token_revokes_the_whole_session(auth, client):
    with frozen_now() as clock:
        login = auth.signed_in("alice", bearer=False)
        old = refresh_cookies(client)
        rotated = auth.csrf_refresh()
        assert rotated.status_code == 200
        newest = refresh_cookies(client)
        clock.shift(timedelta(seconds=GRACE + 1))
        put_refresh_cookies(client, old)
        assert_problem(auth.csrf_refresh(), 401, "token_reused")

        assert_problem(me(client, login.access_token), 401, "token_revoked")
        assert_problem(me(client, rotated.json["access_token"]), 401, "token_revoked")
        put_refresh_cookies(client, newest)
        assert_problem(auth.csrf_refresh(), 401, "token_revoked")


# --- bearer-mode refresh -------------------------------------------------------------------


def test_bearer_refresh_returns_the_tokens_in_the_body(auth, client):
    login = auth.signed_in("alice", bearer=True)
    response = bearer_refresh(client, login.refresh_token)
    assert response.status_code == 200, response.json
    body = response.json
    assert set(body) >= {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == ACCESS_LIFETIME
    assert claims(body["refresh_token"])["type"] == "refresh"
    assert body["refresh_token"] != login.refresh_token
    assert claims(body["access_token"])["fresh"] is False
    assert me(client, body["access_token"]).status_code == 200


def test_bearer_refresh_sets_no_cookie_at_all(auth, client):
    login = auth.signed_in("alice", bearer=True)
    response = bearer_refresh(client, login.refresh_token)
    assert response.status_code == 200, response.json
    assert response.headers.getlist("Set-Cookie") == []


def test_each_bearer_refresh_token_mints_a_successor_only_once(auth, client):
    with frozen_now():
        login = auth.signed_in("alice", bearer=True)
        first = bearer_refresh(client, login.refresh_token)
        assert "refresh_token" in first.json
        again = bearer_refresh(client, login.refresh_token)
        assert again.status_code == 200  # the grace answer: no second successor
        assert "refresh_token" not in again.json
        second = bearer_refresh(client, first.json["refresh_token"])
        assert second.status_code == 200, second.json
        assert second.json["refresh_token"] not in (login.refresh_token,
                                                    first.json["refresh_token"])


def test_bearer_refresh_token_presented_again_after_the_grace_window_is_token_reused(auth, client):
    with frozen_now() as clock:
        login = auth.signed_in("alice", bearer=True)
        assert bearer_refresh(client, login.refresh_token).status_code == 200
        clock.shift(timedelta(seconds=GRACE + 1))
        assert_problem(bearer_refresh(client, login.refresh_token), 401, "token_reused")


# --- grace -----------------------------------------------------------------------------------


def test_previous_refresh_token_within_grace_gets_only_a_new_access_token(auth, client):
    with frozen_now() as clock:
        login = auth.signed_in("alice", bearer=True)
        assert bearer_refresh(client, login.refresh_token).status_code == 200
        clock.shift(timedelta(seconds=GRACE - 1))
        response = bearer_refresh(client, login.refresh_token)
        assert response.status_code == 200, response.json
        assert "refresh_token" not in response.json
        assert claims(response.json["access_token"])["fresh"] is False
        assert me(client, response.json["access_token"]).status_code == 200


def test_grace_answer_in_cookie_mode_sets_no_new_refresh_cookie(auth, client):
    with frozen_now() as clock:
        auth.signed_in("alice", bearer=False)
        old = refresh_cookies(client)
        assert auth.csrf_refresh().status_code == 200
        clock.shift(timedelta(seconds=GRACE - 1))
        put_refresh_cookies(client, old)
        response = auth.csrf_refresh()
        assert response.status_code == 200, response.json
        assert "access_token" in response.json
        assert "refresh_token" not in response.json
        assert set_cookie_headers(response, REFRESH_COOKIE) == []
        assert set_cookie_headers(response, CSRF_REFRESH_COOKIE) == []


def test_session_survives_a_grace_answer(auth, client):
    with frozen_now() as clock:
        login = auth.signed_in("alice", bearer=True)
        rotated = bearer_refresh(client, login.refresh_token).json
        clock.shift(timedelta(seconds=GRACE - 1))
        assert bearer_refresh(client, login.refresh_token).status_code == 200
        response = bearer_refresh(client, rotated["refresh_token"])
        assert response.status_code == 200, response.json
        assert "refresh_token" in response.json
        assert me(client, rotated["access_token"]).status_code == 200


def test_refresh_token_two_rotations_old_is_reuse_even_within_grace(auth, client):
    with frozen_now():
        login = auth.signed_in("alice", bearer=True)
        first = bearer_refresh(client, login.refresh_token).json
        second = bearer_refresh(client, first["refresh_token"]).json
        assert_problem(bearer_refresh(client, login.refresh_token), 401, "token_reused")
        assert_problem(bearer_refresh(client, second["refresh_token"]), 401, "token_revoked")


# --- refresh token lifetime ----------------------------------------------------------------


@pytest.fixture
def short_session_app(app: Flask, database_url: str) -> Iterator[Flask]:
    """An app whose sessions last one hour; ``app`` (same database) deletes the rows after."""
    short = create_app(make_config(database_url, SESSION_MAX_LIFETIME=3600))
    yield short
    with short.app_context():
        db.engine.dispose()


def session_expiry(client: FlaskClient, access_token: str) -> datetime:
    response = client.get("/api/sessions", headers=bearer(access_token))
    [current] = [s for s in response.json["sessions"] if s["current"]]
    return datetime.fromisoformat(current["expires_at"])


def test_refresh_token_lives_fourteen_days(auth, client):
    login = auth.signed_in("alice", bearer=True)
    token = claims(login.refresh_token)
    assert token["exp"] - token["iat"] == REFRESH_LIFETIME
    rotated = claims(bearer_refresh(client, login.refresh_token).json["refresh_token"])
    assert rotated["exp"] - rotated["iat"] == REFRESH_LIFETIME


def test_refresh_token_never_outlives_its_session(short_session_app):
    client = short_session_app.test_client()
    login = AuthActions(client).signed_in("alice", bearer=True)
    expires = session_expiry(client, login.access_token)
    assert claims(login.refresh_token)["exp"] <= expires.timestamp()
    assert claims(login.refresh_token)["exp"] - claims(login.refresh_token)["iat"] <= 3600


def test_rotated_refresh_token_never_outlives_its_session(short_session_app):
    client = short_session_app.test_client()
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        login = AuthActions(client).signed_in("alice", bearer=True)
        expires = session_expiry(client, login.access_token)
        clock.shift(timedelta(minutes=50))
        response = bearer_refresh(client, login.refresh_token)
        assert response.status_code == 200, response.json
        assert claims(response.json["refresh_token"])["exp"] <= expires.timestamp()


def test_refresh_fails_once_the_session_lifetime_has_passed(short_session_app):
    client = short_session_app.test_client()
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        login = AuthActions(client).signed_in("alice", bearer=True)
        clock.shift(timedelta(minutes=50))
        rotated = bearer_refresh(client, login.refresh_token).json["refresh_token"]
        clock.shift(timedelta(minutes=11))
        response = bearer_refresh(client, rotated)
        assert response.status_code == 401, response.json
        assert response.json["code"] in {"token_expired", "token_revoked"}


def test_expired_refresh_token_is_token_expired(auth, client):
    with frozen_now() as clock:
        login = auth.signed_in("alice", bearer=True)
        clock.shift(timedelta(seconds=REFRESH_LIFETIME + 60))
        assert_problem(bearer_refresh(client, login.refresh_token), 401, "token_expired")


def test_expired_access_token_is_token_expired_with_an_invalid_token_challenge(auth, client):
    with frozen_now() as clock:
        login = auth.signed_in("alice", bearer=True)
        clock.shift(timedelta(seconds=ACCESS_LIFETIME + 60))
        response = me(client, login.access_token)
        assert_problem(response, 401, "token_expired")
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


# --- logout --------------------------------------------------------------------------------


def test_logout_answers_204_and_clears_the_cookies(auth, client):
    login = auth.signed_in("alice", bearer=False)
    response = client.post("/api/auth/logout", headers=login.headers)
    assert response.status_code == 204
    now = datetime.now(UTC)
    for name in (REFRESH_COOKIE, CSRF_REFRESH_COOKIE):
        [header] = set_cookie_headers(response, name)
        max_age = re.search(r"Max-Age=(\d+)", header)
        expires = re.search(r"Expires=([^;]+)", header)
        assert (max_age and int(max_age.group(1)) == 0) or (
            expires and parsedate_to_datetime(expires.group(1)) < now), header
    assert client.get_cookie(REFRESH_COOKIE) is None
    assert client.get_cookie(CSRF_REFRESH_COOKIE) is None


def test_logout_revokes_its_access_token(auth, client):
    login = auth.signed_in("alice", bearer=True)
    assert client.post("/api/auth/logout", headers=login.headers).status_code == 204
    assert_problem(me(client, login.access_token), 401, "token_revoked")


def test_logout_revokes_its_refresh_token(auth, client):
    login = auth.signed_in("alice", bearer=True)
    assert client.post("/api/auth/logout", headers=login.headers).status_code == 204
    assert_problem(bearer_refresh(client, login.refresh_token), 401, "token_revoked")


def test_logout_leaves_the_users_other_sessions_working(auth, client):
    phone = auth.signed_in("alice", bearer=True)
    laptop = auth.login("alice", bearer=True)
    assert client.post("/api/auth/logout", headers=phone.headers).status_code == 204
    assert me(client, laptop.access_token).status_code == 200
    assert bearer_refresh(client, laptop.refresh_token).status_code == 200


def test_get_logout_is_method_not_allowed(auth, client):
    login = auth.signed_in("alice", bearer=True)
    response = client.get("/api/auth/logout", headers=login.headers)
    assert_problem(response, 405, "method_not_allowed")
    assert me(client, login.access_token).status_code == 200


# --- logout-all ----------------------------------------------------------------------------


def test_logout_all_answers_204(auth, client):
    login = auth.signed_in("alice", bearer=True)
    assert client.post("/api/auth/logout-all", headers=login.headers).status_code == 204


def test_logout_all_revokes_every_sessions_access_and_refresh_tokens(auth, client):
    logins = [auth.signed_in("alice", bearer=True)]
    logins += [auth.login("alice", bearer=True) for _ in range(2)]
    assert client.post("/api/auth/logout-all", headers=logins[1].headers).status_code == 204
    for login in logins:
        assert_problem(me(client, login.access_token), 401, "token_revoked")
        assert_problem(bearer_refresh(client, login.refresh_token), 401, "token_revoked")


def test_logout_all_leaves_other_users_signed_in(auth, client):
    alice = auth.signed_in("alice", bearer=True)
    bob = auth.signed_in("bob", bearer=True)
    assert client.post("/api/auth/logout-all", headers=alice.headers).status_code == 204
    assert me(client, bob.access_token).status_code == 200


# --- GET /api/sessions ---------------------------------------------------------------------


def test_sessions_list_has_the_contract_shape(auth, client):
    login = auth.signed_in("alice", bearer=True)
    response = client.get("/api/sessions", headers=login.headers)
    assert response.status_code == 200
    assert set(response.json) == {"sessions"}
    [entry] = response.json["sessions"]
    assert set(entry) == SESSION_KEYS
    for key in ("created_at", "last_used_at", "expires_at"):
        assert datetime.fromisoformat(entry[key]).utcoffset() is not None, entry[key]
    assert entry["ip"] == "127.0.0.1"
    assert entry["current"] is True


def test_sessions_are_listed_newest_first_with_current_only_on_the_callers(auth, client):
    with frozen_now() as clock:
        first = auth.signed_in("alice", bearer=True)
        clock.shift(timedelta(minutes=1))
        second = auth.login("alice", bearer=True)
        clock.shift(timedelta(minutes=1))
        third = auth.login("alice", bearer=True)
        response = client.get("/api/sessions", headers=second.headers)
    entries = response.json["sessions"]
    assert [e["id"] for e in entries] == [claims(t.access_token)["sid"]
                                          for t in (third, second, first)]
    assert [e["current"] for e in entries] == [False, True, False]


def test_session_id_is_the_tokens_sid_claim(auth, client):
    login = auth.signed_in("alice", bearer=True)
    [entry] = client.get("/api/sessions", headers=login.headers).json["sessions"]
    assert entry["id"] == claims(login.access_token)["sid"]
    assert entry["id"] == claims(login.refresh_token)["sid"]


def test_revoked_sessions_are_not_listed(auth, client):
    gone = auth.signed_in("alice", bearer=True)
    kept = auth.login("alice", bearer=True)
    assert client.post("/api/auth/logout", headers=gone.headers).status_code == 204
    assert session_ids(client, kept.access_token) == [claims(kept.access_token)["sid"]]


def test_sessions_list_only_the_callers_own(auth, client):
    alice = auth.signed_in("alice", bearer=True)
    auth.signed_in("bob", bearer=True)
    assert session_ids(client, alice.access_token) == [claims(alice.access_token)["sid"]]


def test_session_records_the_login_user_agent(auth, client):
    auth.register("alice")
    user_agent = "Mozilla/5.0 (X11; Linux x86_64) AuthappTest/1.0"
    response = client.post("/api/auth/login", headers={"User-Agent": user_agent},
                           json={"username": "alice", "password": PASSWORD,
                                 "refresh_in_body": True})
    assert response.status_code == 200, response.json
    [entry] = client.get("/api/sessions", headers=bearer(response.json["access_token"])
                         ).json["sessions"]
    assert entry["user_agent"] == user_agent


# --- DELETE /api/sessions/<id> -------------------------------------------------------------


def test_deleting_an_own_other_session_revokes_it(auth, client):
    here = auth.signed_in("alice", bearer=True)
    there = auth.login("alice", bearer=True)
    response = client.delete(f"/api/sessions/{claims(there.access_token)['sid']}",
                             headers=here.headers)
    assert response.status_code == 204
    assert_problem(me(client, there.access_token), 401, "token_revoked")
    assert_problem(bearer_refresh(client, there.refresh_token), 401, "token_revoked")
    assert me(client, here.access_token).status_code == 200


def test_deleting_another_users_session_is_not_found_and_leaves_it_alone(auth, client):
    alice = auth.signed_in("alice", bearer=True)
    bob = auth.signed_in("bob", bearer=True)
    response = client.delete(f"/api/sessions/{claims(bob.access_token)['sid']}",
                             headers=alice.headers)
    assert_problem(response, 404, "not_found")
    assert me(client, bob.access_token).status_code == 200
    assert bearer_refresh(client, bob.refresh_token).status_code == 200


def test_deleting_an_unknown_session_is_not_found(auth, client):
    login = auth.signed_in("alice", bearer=True)
    response = client.delete("/api/sessions/0123456789abcdef0123456789abcdef",
                             headers=login.headers)
    assert_problem(response, 404, "not_found")


# --- flask tokens prune --------------------------------------------------------------------


def test_tokens_prune_removes_expired_rows_and_keeps_live_ones(app, auth, client, runner):
    with frozen_now() as clock:
        old_logout = auth.signed_in("alice", bearer=True)
        old_idle = auth.login("alice", bearer=True)
        assert client.post("/api/auth/logout", headers=old_logout.headers).status_code == 204
        clock.shift(timedelta(days=31))
        live = auth.login("alice", bearer=True)
        recent_logout = auth.login("alice", bearer=True)
        assert client.post("/api/auth/logout", headers=recent_logout.headers).status_code == 204

        result = runner.invoke(args=["tokens", "prune"])
        assert result.exit_code == 0, result.output
        # (progress, if any, goes to stderr)
        summary = next(line for line in result.stdout.splitlines() if "revoked-token" in line)
        assert sorted(re.findall(r"\d+", summary)) == ["1", "2"], result.output

        with app.app_context():
            sessions = set(db.session.scalars(select(Session.id)))
            revoked = set(db.session.scalars(select(RevokedToken.jti)))
        sid = {name: claims(t.access_token)["sid"] for name, t in
               [("old_logout", old_logout), ("old_idle", old_idle), ("live", live)]}
        assert sid["old_logout"] not in sessions
        assert sid["old_idle"] not in sessions
        assert sid["live"] in sessions
        assert claims(old_logout.access_token)["jti"] not in revoked
        assert claims(recent_logout.access_token)["jti"] in revoked
        assert me(client, live.access_token).status_code == 200
        assert_problem(me(client, recent_logout.access_token), 401, "token_revoked")


# --- revocation is keyed on jti ------------------------------------------------------------


REENCODINGS = {
    "reordered_header": {"typ": "JWT", "kid": KID, "alg": "HS256"},
    "header_without_typ": {"alg": "HS256", "kid": KID},
}


@pytest.mark.parametrize("header", REENCODINGS.values(), ids=REENCODINGS.keys())
def test_reencoded_copy_of_a_revoked_access_token_stays_revoked(auth, client, header):
    login = auth.signed_in("alice", bearer=True)
    copy = forge(claims(login.access_token), header=header)
    assert copy != login.access_token
    assert me(client, copy).status_code == 200  # control: the copy itself is acceptable
    assert client.post("/api/auth/logout", headers=login.headers).status_code == 204
    assert_problem(me(client, copy), 401, "token_revoked")


def test_revoked_jti_stays_revoked_under_a_live_session(auth, client):
    """A copy of a logged-out token pointed at a still-live session of the same user."""
    revoked = auth.signed_in("alice", bearer=True)
    live = auth.login("alice", bearer=True)
    assert client.post("/api/auth/logout", headers=revoked.headers).status_code == 204
    payload = {**claims(revoked.access_token), "sid": claims(live.access_token)["sid"]}
    copy = forge(payload, header={"typ": "JWT", "kid": KID, "alg": "HS256"})
    assert_problem(me(client, copy), 401, "token_revoked")
    assert me(client, live.access_token).status_code == 200
