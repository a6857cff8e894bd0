"""Attacks on the rate limits (issue 16), each first tried, then shown refused.

Every app here has rate limiting on, small limits and its own in-memory
counters, on SQLite and PostgreSQL. The clock is stopped a few seconds into a
minute, so no window boundary passes during a test.
"""

import json
import logging

import pytest
from support.api import PASSWORD, AuthActions, bearer, bearer_refresh, login
from support.pages import csrf_token
from support.problems import assert_problem
from support.tokens import claims, forge

WRONG = "not the right password at all"
NEW_PASSWORD = "a different horse battery staple"
ATTACKER = {"REMOTE_ADDR": "198.51.100.66"}


pytestmark = pytest.mark.usefixtures("stopped_clock")


def post_login(client, content_type: str, password: str = WRONG, **environ: str):
    body = json.dumps({"username": "alice", "password": password})
    return client.post("/api/auth/login", data=body, content_type=content_type,
                       environ_base=environ)


# --- the per-username limit and the body's media type --------------------------------------


@pytest.mark.parametrize("content_type", ["text/x+json", "text/json", "image/svg+json"])
def test_a_body_the_limiter_would_not_read_is_not_read_by_login_either(make_app, content_type):
    """Attack: send the guesses as text/x+json, which the limiter once did not read."""
    app = make_app(RATELIMIT_LOGIN_PER_USERNAME="3/minute")
    client = app.test_client()
    AuthActions(client).register()
    for _ in range(5):
        assert_problem(post_login(client, content_type), 415, "unsupported_media_type")
    assert_problem(post_login(client, content_type, PASSWORD), 415, "unsupported_media_type")
    assert login(client).status_code == 200


def test_every_json_media_type_counts_against_the_same_username(make_app):
    app = make_app(RATELIMIT_LOGIN_PER_USERNAME="3/minute")
    client = app.test_client()
    AuthActions(client).register()
    for content_type in ("application/vnd.api+json", "application/json; charset=utf-8",
                         "application/problem+json"):
        assert_problem(post_login(client, content_type), 401, "invalid_credentials")
    assert_problem(post_login(client, "application/merge-patch+json", PASSWORD), 429,
                   "rate_limited")
    assert_problem(login(client), 429, "rate_limited")


# --- the per-session refresh limit -----------------------------------------------------------


@pytest.mark.parametrize("key", ["a key that is not ours", None], ids=["wrong-key", "unsigned"])
def test_junk_tokens_naming_a_session_do_not_spend_its_refresh_budget(make_app, key):
    """Attack: exhaust the victim's per-session refresh budget with tokens that name its sid."""
    app = make_app(RATELIMIT_REFRESH_PER_SESSION="3/minute")
    client = app.test_client()
    victim = AuthActions(client).signed_in()
    payload = {**claims(victim.refresh_token)}
    junk = (forge(payload, key=key) if key else
            forge(payload, header={"alg": "none", "typ": "JWT"}).rsplit(".", 1)[0] + ".")
    for _ in range(10):
        response = client.post("/api/auth/refresh", headers=bearer(junk), environ_base=ATTACKER)
        assert_problem(response, 401, "token_invalid")

    response = bearer_refresh(client, victim.refresh_token)
    assert response.status_code == 200, response.json


def test_junk_refresh_tokens_still_count_per_address(make_app):
    app = make_app(RATELIMIT_REFRESH_PER_IP="3/minute")
    client = app.test_client()
    junk = forge({"sid": "x" * 32, "type": "refresh"}, key="a key that is not ours")
    for _ in range(3):
        response = client.post("/api/auth/refresh", headers=bearer(junk), environ_base=ATTACKER)
        assert_problem(response, 401, "token_invalid")
    response = client.post("/api/auth/refresh", headers=bearer(junk), environ_base=ATTACKER)
    assert_problem(response, 429, "rate_limited")


# --- absurd nesting ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/auth/login", "/api/auth/register"])
def test_deeply_nested_json_is_a_quiet_400(make_app, caplog, path):
    """Attack: flood the logs with the limiter's tracebacks, one body at a time."""
    app = make_app()
    client = app.test_client()
    caplog.set_level(logging.DEBUG)
    for _ in range(3):
        response = client.post(path, data="[" * 32000 + "]" * 32000,
                               content_type="application/json")
        assert_problem(response, 400, "invalid_json")
    logged = "\n".join(f"{r.levelname} {r.name}: {r.getMessage()} {r.exc_text or ''}"
                       for r in caplog.records)
    for trace in ("Traceback", "RecursionError", "Swallowing error", "storage unreachable",
                  "Skipping limit"):
        assert trace not in logged, logged
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], logged


# --- password guessing behind a stolen access token -----------------------------------------


def change_password(client, access_token: str, current: str):
    return client.post("/api/auth/password", headers=bearer(access_token),
                       json={"current_password": current, "new_password": NEW_PASSWORD})


def test_wrong_current_passwords_count_like_failed_logins(make_app):
    """Attack: guess the password through POST /api/auth/password with a stolen token."""
    app = make_app(RATELIMIT_LOGIN_PER_USERNAME="3/minute")
    client = app.test_client()
    stolen = AuthActions(client).signed_in()
    for _ in range(3):
        response = change_password(client, stolen.access_token, WRONG)
        assert_problem(response, 422, "validation_error")
        assert response.json["errors"]["current_password"]

    assert_problem(change_password(client, stolen.access_token, PASSWORD), 429, "rate_limited")
    assert_problem(login(client), 429, "rate_limited")  # the same budget as sign-in


def test_failed_logins_and_password_guesses_share_one_budget(make_app):
    app = make_app(RATELIMIT_LOGIN_PER_USERNAME="3/minute")
    client = app.test_client()
    stolen = AuthActions(client).signed_in()
    assert_problem(login(client, password=WRONG), 401, "invalid_credentials")
    assert_problem(login(client, "ALICE", password=WRONG), 401, "invalid_credentials")
    assert_problem(change_password(client, stolen.access_token, WRONG), 422, "validation_error")
    assert_problem(change_password(client, stolen.access_token, PASSWORD), 429, "rate_limited")


def test_a_refused_new_password_is_not_a_guess(make_app):
    app = make_app(RATELIMIT_LOGIN_PER_USERNAME="2/minute")
    client = app.test_client()
    signed_in = AuthActions(client).signed_in()
    for _ in range(4):
        response = client.post("/api/auth/password", headers=bearer(signed_in.access_token),
                               json={"current_password": PASSWORD, "new_password": "short"})
        assert_problem(response, 422, "validation_error")
        assert "current_password" not in response.json["errors"]
    assert change_password(client, signed_in.access_token, PASSWORD).status_code == 204


def test_another_accounts_guesses_do_not_spend_this_budget(make_app):
    app = make_app(RATELIMIT_LOGIN_PER_USERNAME="2/minute")
    client = app.test_client()
    auth = AuthActions(client)
    mallory = auth.signed_in("mallory")
    auth.register("alice")
    for _ in range(3):
        change_password(client, mallory.access_token, WRONG)
    assert login(client).status_code == 200


# --- the login page reads its form only -----------------------------------------------------


@pytest.mark.parametrize("body", [
    json.dumps({"username": "alice", "password": PASSWORD}),
    # too deep for the JSON reader, so no username limit would have applied to it
    json.dumps({"username": "alice", "password": PASSWORD, "pad": 0}).replace(
        "0", "[" * 40 + "]" * 40),
    "[" * 32000 + "]" * 32000,
], ids=["plain", "too-deep-for-the-reader", "absurdly-deep"])
def test_the_login_page_does_not_sign_in_from_a_json_body(make_app, body):
    """Attack: post the login form as JSON, past the limiter's reader, to guess unlimited."""
    app = make_app(RATELIMIT_LOGIN_PER_USERNAME="2/minute")
    client = app.test_client()
    AuthActions(client).register()
    response = client.post("/login", data=body, content_type="application/json",
                           headers={"X-CSRFToken": csrf_token(client)})
    assert response.status_code == 422, response.status_code
    assert "access_token_cookie=ey" not in " ".join(response.headers.getlist("Set-Cookie"))


# --- headers of the answers that were let through -------------------------------------------


def test_answers_let_through_a_limit_carry_no_retry_after(make_app):
    app = make_app()
    client = app.test_client()
    auth = AuthActions(client)
    answers = [auth.register(), login(client, refresh_in_body=True), login(client, password=WRONG)]
    answers.append(bearer_refresh(client, answers[1].json["refresh_token"]))
    assert [answer.status_code for answer in answers] == [201, 200, 401, 200]
    for answer in answers:
        assert "Retry-After" not in answer.headers, answer.headers
        assert not [name for name, _ in answer.headers.items() if name.startswith("X-RateLimit")]
