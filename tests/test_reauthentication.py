"""Recent authentication (SPEC §9): the guard, re-authenticating, and the session's state."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from flask import Flask, jsonify
from sqlalchemy import select
from support.api import PASSWORD, AuthActions, bearer, bearer_refresh
from support.apps import delete_all_rows, make_config
from support.problems import assert_problem
from support.tokens import claims

from authapp import create_app
from authapp.core.extensions import db
from authapp.db.models import AuthEvent
from authapp.tokens.guards import recent_authentication_required
from authapp.tokens.verify import access_token_required

START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
WRONG = "not the right password at all"


@pytest.fixture
def guarded_app(database_url: str) -> Iterator[Flask]:
    """An app with a sensitive route guarded the documented way."""
    app = create_app(make_config(database_url))

    @app.get("/api/sensitive")
    @access_token_required
    @recent_authentication_required
    def sensitive():
        return jsonify(ok=True)

    yield app
    delete_all_rows(app)


def at(seconds: int) -> time_machine.travel:
    return time_machine.travel(START.timestamp() + seconds, tick=False)


def reauthenticate(client, token: str, password: str = PASSWORD):
    return client.post("/api/auth/reauthenticate", headers=bearer(token),
                       json={"password": password})


def test_a_fresh_sign_in_may_act_and_a_stale_one_must_reauthenticate(guarded_app):
    client = guarded_app.test_client()
    with at(0):
        signed_in = AuthActions(client).signed_in("alice")
    with at(300):
        assert client.get("/api/sensitive", headers=signed_in.headers).status_code == 200
    with at(301):
        refused = client.get("/api/sensitive", headers=signed_in.headers)
    assert_problem(refused, 401, "reauthentication_required")
    assert refused.json["methods"] == ["password"]
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="authapp"'


def test_refreshing_does_not_make_a_session_recent(guarded_app):
    client = guarded_app.test_client()
    with at(0):
        signed_in = AuthActions(client).signed_in("alice")
    with at(400):
        refreshed = bearer_refresh(client, signed_in.refresh_token).json["access_token"]
        assert_problem(client.get("/api/sensitive", headers=bearer(refreshed)), 401,
                       "reauthentication_required")


def test_reauthenticating_with_the_password_makes_the_session_recent_again(guarded_app):
    client = guarded_app.test_client()
    with at(0):
        signed_in = AuthActions(client).signed_in("alice")
    with at(600):
        answer = reauthenticate(client, signed_in.access_token)
        assert answer.status_code == 200, answer.json
        assert set(answer.json) == {"access_token", "token_type", "expires_in"}
        token = answer.json["access_token"]
        assert claims(token)["sid"] == claims(signed_in.access_token)["sid"]
        assert claims(token)["auth_time"] == int(START.timestamp()) + 600
        assert client.get("/api/sensitive", headers=bearer(token)).status_code == 200
    with at(700):  # the session itself moved on: refreshed tokens carry the new time
        refreshed = bearer_refresh(client, signed_in.refresh_token).json["access_token"]
        assert claims(refreshed)["auth_time"] == int(START.timestamp()) + 600
        assert client.get("/api/sensitive", headers=bearer(refreshed)).status_code == 200


def test_a_wrong_password_is_refused_and_audited(guarded_app):
    client = guarded_app.test_client()
    with at(0):
        signed_in = AuthActions(client).signed_in("alice")
    with at(600):
        assert_problem(reauthenticate(client, signed_in.access_token, WRONG), 401,
                       "invalid_credentials")
        assert_problem(client.get("/api/sensitive", headers=signed_in.headers), 401,
                       "reauthentication_required")
    with guarded_app.app_context():
        kinds = db.session.scalars(select(AuthEvent.event_type)).all()
    assert "reauthentication_failed" in kinds and "reauthenticated" not in kinds


def test_reauthentication_needs_a_live_access_token(client, auth):
    signed_in = auth.signed_in("alice")
    assert_problem(reauthenticate(client, signed_in.refresh_token), 401, "token_invalid")
    assert client.post("/api/auth/logout", headers=signed_in.headers).status_code == 204
    assert_problem(reauthenticate(client, signed_in.access_token), 401, "token_revoked")
    assert_problem(client.post("/api/auth/reauthenticate", json={"password": PASSWORD}), 401,
                   "token_missing")


def test_a_reauthentication_body_without_a_password_is_422(client, auth):
    signed_in = auth.signed_in("alice")
    response = client.post("/api/auth/reauthenticate", headers=signed_in.headers, json={})
    assert_problem(response, 422, "validation_error")
    assert "password" in response.json["errors"]


def test_cookie_mode_reauthentication_sets_the_access_cookie(client, auth):
    auth.register("alice")
    auth.login("alice", bearer=False)
    client.get("/account")  # the page sets the access cookie from the refresh cookie
    csrf = client.get_cookie("csrf_access_token")
    assert csrf is not None
    answer = client.post("/api/auth/reauthenticate", json={"password": PASSWORD},
                         headers={"X-CSRF-TOKEN": csrf.value})
    assert answer.status_code == 200, answer.json
    assert client.get_cookie("access_token_cookie").value == answer.json["access_token"]


def test_session_state_says_when_the_session_proved_itself(client, auth):
    with at(0):
        signed_in = auth.signed_in("alice")
        state = client.get("/api/auth/session", headers=signed_in.headers)
    assert state.status_code == 200
    assert state.json == {
        "session_id": claims(signed_in.access_token)["sid"],
        "auth_time": "2026-12-01T10:00:00+00:00", "amr": ["pwd"],
        "reauthenticated_until": "2026-12-01T10:05:00+00:00", "mfa_enabled": False,
    }


def test_wrong_reauthentication_passwords_count_like_failed_logins(database_url):
    app = create_app(make_config(database_url, RATELIMIT_ENABLED=True,
                                 RATELIMIT_LOGIN_PER_USERNAME="3/minute"))
    try:
        client = app.test_client()
        with at(5):
            signed_in = AuthActions(client).signed_in("alice")
            for _ in range(3):
                assert reauthenticate(client, signed_in.access_token, WRONG).status_code == 401
            limited = reauthenticate(client, signed_in.access_token)
            assert_problem(limited, 429, "rate_limited")
            assert "Retry-After" in limited.headers
    finally:
        delete_all_rows(app)
