"""The audit trail: events in ``auth_events``, JSON log lines, GET /api/events, /account.

Each security event is stored with its user, session, client IP and user agent
and written to the ``authapp.audit`` logger as one JSON line; logs never carry
a password or a whole token (SPEC §6). Every test runs on SQLite and PostgreSQL.
"""

import datetime as dt
import json
import logging
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from support.api import PASSWORD, AuthActions, SignedIn, bearer, login
from support.clock import later
from support.pages import csrf_token, page_login, page_register
from support.tokens import claims

from authapp.accounts import users
from authapp.core.extensions import db
from authapp.db.models import AuthEvent
from authapp.http.client import SYSTEM

ALICE_IP, ALICE_UA = "198.51.100.10", "AliceBrowser/1.0 (X11; Linux x86_64)"
BOB_IP, BOB_UA = "198.51.100.20", "BobPhone/2.0 (iPhone)"
THIEF_IP, THIEF_UA = "203.0.113.66", "ThiefBot/6.6"
WRONG = "definitely not the password"
NEW_PASSWORD = "a brand new long passphrase"
EVENT_KEYS = {"type", "created_at", "ip", "user_agent", "session_id", "details"}


# --- helpers ---------------------------------------------------------------------------------


def browser(app: Flask, ip: str, user_agent: str) -> FlaskClient:
    """A test client that presents itself from ``ip`` with ``user_agent``."""
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR=ip, HTTP_USER_AGENT=user_agent)
    return client


def stored(app: Flask, event_type: str | None = None) -> list[dict[str, Any]]:
    """The stored events (all, or of one type), oldest first."""
    with app.app_context():
        query = select(AuthEvent).order_by(AuthEvent.id)
        if event_type:
            query = query.where(AuthEvent.event_type == event_type)
        return [{"type": e.event_type, "user_id": e.user_id, "session_id": e.session_id,
                 "ip": e.ip, "user_agent": e.user_agent, "details": dict(e.details or {})}
                for e in db.session.scalars(query)]


def only(app: Flask, event_type: str) -> dict[str, Any]:
    events = stored(app, event_type)
    assert len(events) == 1, events
    return events[0]


@pytest.fixture
def alice(app: Flask) -> FlaskClient:
    return browser(app, ALICE_IP, ALICE_UA)


@pytest.fixture
def two_devices(app: Flask, alice: FlaskClient) -> tuple[SignedIn, SignedIn]:
    """Alice signed in on Bob's device, then on her own client: (that one, this one)."""
    auth = AuthActions(alice)
    auth.register()
    return auth.login(client=browser(app, BOB_IP, BOB_UA)), auth.login()


@pytest.fixture
def audit_log(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch):
    """caplog that also sees ``authapp.audit`` even if a production logging setup ran before."""
    monkeypatch.setattr(logging.getLogger("authapp.audit"), "propagate", True)
    caplog.set_level(logging.INFO, logger="authapp.audit")
    return caplog


# --- each event, with who and where ---------------------------------------------------------


def test_register_is_recorded(app, alice):
    response = AuthActions(alice).register()
    event = only(app, "register")
    assert event == {"type": "register", "user_id": response.json["user"]["id"],
                     "session_id": None, "ip": ALICE_IP, "user_agent": ALICE_UA,
                     "details": event["details"]}
    assert PASSWORD not in json.dumps(event["details"])


def test_login_succeeded_is_recorded_with_its_session(app, alice):
    auth = AuthActions(alice)
    auth.register()
    signed_in = auth.login()
    event = only(app, "login_succeeded")
    assert event["user_id"] == signed_in.user["id"]
    assert event["session_id"] == claims(signed_in.access_token)["sid"]
    assert (event["ip"], event["user_agent"]) == (ALICE_IP, ALICE_UA)


def test_login_failed_names_the_user_only_when_it_exists(app, alice):
    user_id = AuthActions(alice).register().json["user"]["id"]
    assert login(alice, "nobody-here", WRONG).status_code == 401
    assert login(alice, "ALICE", WRONG).status_code == 401

    unknown, wrong = stored(app, "login_failed")
    assert unknown["user_id"] is None
    assert unknown["details"]["reason"] == "unknown_user"
    assert unknown["details"]["username"] == "nobody-here"
    assert wrong["user_id"] == user_id
    assert wrong["details"]["reason"] == "wrong_password"
    for event in (unknown, wrong):
        assert event["session_id"] is None
        assert (event["ip"], event["user_agent"]) == (ALICE_IP, ALICE_UA)
        assert WRONG not in json.dumps(event["details"])


def test_refresh_is_recorded(app, alice):
    signed_in = AuthActions(alice).signed_in()
    response = alice.post("/api/auth/refresh", headers=signed_in.refresh_headers)
    assert response.status_code == 200
    event = only(app, "refresh")
    assert event["user_id"] == signed_in.user["id"]
    assert event["session_id"] == claims(signed_in.access_token)["sid"]
    assert (event["ip"], event["user_agent"]) == (ALICE_IP, ALICE_UA)


def test_token_reuse_records_both_the_signed_in_device_and_the_replaying_client(app, alice):
    signed_in = AuthActions(alice).signed_in()
    stolen = signed_in.refresh_token
    assert alice.post("/api/auth/refresh", headers=bearer(stolen)).status_code == 200

    thief = browser(app, THIEF_IP, THIEF_UA)
    with later(seconds=60):  # past the grace window
        response = thief.post("/api/auth/refresh", headers=bearer(stolen))
    assert response.status_code == 401
    assert response.json["code"] == "token_reused"

    event = only(app, "token_reused")
    assert event["user_id"] == signed_in.user["id"]
    assert event["session_id"] == claims(stolen)["sid"]
    assert (event["ip"], event["user_agent"]) == (THIEF_IP, THIEF_UA)
    assert event["details"]["signed_in_ip"] == ALICE_IP
    assert event["details"]["signed_in_user_agent"] == ALICE_UA
    assert event["details"]["reason"] == "reuse_detected"
    assert stolen not in json.dumps(event["details"])


def test_logout_is_recorded(app, alice):
    signed_in = AuthActions(alice).signed_in()
    assert alice.post("/api/auth/logout", headers=signed_in.headers).status_code == 204
    event = only(app, "logout")
    assert event["user_id"] == signed_in.user["id"]
    assert event["session_id"] == claims(signed_in.access_token)["sid"]
    assert (event["ip"], event["user_agent"]) == (ALICE_IP, ALICE_UA)


def test_logout_all_is_recorded_with_the_number_of_sessions(app, alice, two_devices):
    _, signed_in = two_devices
    assert alice.post("/api/auth/logout-all", headers=signed_in.headers).status_code == 204
    event = only(app, "logout_all")
    assert event["user_id"] == signed_in.user["id"]
    assert event["details"]["sessions_revoked"] == 2
    assert (event["ip"], event["user_agent"]) == (ALICE_IP, ALICE_UA)


def test_revoking_one_session_is_recorded_for_that_session(app, alice, two_devices):
    other, signed_in = two_devices
    target = claims(other.access_token)["sid"]
    response = alice.delete(f"/api/sessions/{target}", headers=signed_in.headers)
    assert response.status_code == 204
    event = only(app, "session_revoked")
    assert event["user_id"] == signed_in.user["id"]
    assert event["session_id"] == target
    assert event["details"]["reason"] == "revoked_by_user"
    # the client that asked, not the device that was signed out
    assert (event["ip"], event["user_agent"]) == (ALICE_IP, ALICE_UA)


def test_password_change_is_recorded(app, alice, two_devices):
    _, signed_in = two_devices
    response = alice.post("/api/auth/password", headers=signed_in.headers,
                          json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 204
    event = only(app, "password_changed")
    assert event["user_id"] == signed_in.user["id"]
    assert event["session_id"] == claims(signed_in.access_token)["sid"]
    assert event["details"]["other_sessions_revoked"] == 1
    assert (event["ip"], event["user_agent"]) == (ALICE_IP, ALICE_UA)
    details = json.dumps(event["details"])
    assert PASSWORD not in details and NEW_PASSWORD not in details


def test_disabling_and_enabling_a_user_is_recorded(app, alice):
    auth = AuthActions(alice)
    signed_in = auth.signed_in()
    user_id = signed_in.user["id"]
    with app.app_context():
        assert users.set_disabled(users.get_user(user_id), True, SYSTEM) == 1
    event = only(app, "user_disabled")
    assert event["user_id"] == user_id
    assert event["session_id"] is None
    assert event["details"]["sessions_revoked"] == 1
    assert (event["ip"], event["user_agent"]) == ("", "authapp-cli")

    assert login(alice).status_code == 401
    assert stored(app, "login_failed")[-1]["details"]["reason"] == "disabled"

    with app.app_context():
        users.set_disabled(users.get_user(user_id), False, SYSTEM)
    event = only(app, "user_enabled")
    assert event["user_id"] == user_id
    assert (event["ip"], event["user_agent"]) == ("", "authapp-cli")
    assert login(alice).status_code == 200


def test_page_sign_in_and_sign_out_are_recorded(app, alice):
    page_register(alice)
    assert alice.post("/logout", data={"csrf_token": csrf_token(alice, "/")}).status_code == 302
    assert page_login(alice, password=WRONG).status_code == 422
    assert page_login(alice).status_code == 302
    types = [e["type"] for e in stored(app)]
    assert types == ["register", "login_succeeded", "logout", "login_failed",
                     "login_succeeded"]
    assert all((e["ip"], e["user_agent"]) == (ALICE_IP, ALICE_UA) for e in stored(app))


# --- the log -----------------------------------------------------------------------------------


def audit_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    lines = []
    for record in caplog.records:
        if record.name != "authapp.audit":
            continue
        message = record.getMessage()
        assert "\n" not in message
        lines.append(json.loads(message))
    return lines


def test_every_event_is_logged_as_one_json_line(app, alice, audit_log):
    auth = AuthActions(alice)
    signed_in = auth.signed_in()
    assert login(alice, password=WRONG).status_code == 401
    assert login(alice, "nobody-here", WRONG).status_code == 401
    refreshed = alice.post("/api/auth/refresh", headers=signed_in.refresh_headers).json
    other = auth.login(client=browser(app, BOB_IP, BOB_UA))
    assert alice.delete(f"/api/sessions/{claims(other.access_token)['sid']}",
                        headers=signed_in.headers).status_code == 204
    assert alice.post("/api/auth/password", headers=bearer(refreshed["access_token"]),
                      json={"current_password": PASSWORD,
                            "new_password": NEW_PASSWORD}).status_code == 204
    assert alice.post("/api/auth/logout", headers=bearer(refreshed["access_token"])
                      ).status_code == 204
    third = auth.login(password=NEW_PASSWORD)
    assert alice.post("/api/auth/logout-all", headers=third.headers).status_code == 204
    with app.app_context():
        users.set_disabled(users.get_user(signed_in.user["id"]), True, SYSTEM)
        users.set_disabled(users.get_user(signed_in.user["id"]), False, SYSTEM)

    logged = audit_lines(audit_log)
    events = stored(app)
    assert {e["type"] for e in events} == {
        "register", "login_succeeded", "login_failed", "refresh", "session_revoked",
        "password_changed", "logout", "logout_all", "user_disabled", "user_enabled"}
    assert [line["event"] for line in logged] == [e["type"] for e in events]
    for line, event in zip(logged, events, strict=True):
        for key in ("user_id", "session_id", "ip", "user_agent"):
            assert line[key] == event[key], (key, line, event)
        for key, value in event["details"].items():
            assert line[key] == value
        assert dt.datetime.fromisoformat(line["at"]).utcoffset() == dt.timedelta(0)


def test_no_log_record_holds_a_password_or_a_whole_token(app, caplog, monkeypatch):
    monkeypatch.setattr(logging.getLogger("authapp.audit"), "propagate", True)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="authapp.audit")
    client = browser(app, ALICE_IP, ALICE_UA)
    tokens: list[str] = []

    def keep(response) -> Any:
        body = response.get_json(silent=True) or {}
        tokens.extend(body[k] for k in ("access_token", "refresh_token") if k in body)
        for header in response.headers.getlist("Set-Cookie"):
            name, value = header.split(";", 1)[0].split("=", 1)
            if name.endswith("token_cookie") and value:
                tokens.append(value)
        return response

    auth = AuthActions(client)
    auth.register()
    keep(login(client, password=WRONG))
    keep(login(client, "nobody-here", WRONG))
    body = keep(login(client, refresh_in_body=True)).json
    body = keep(client.post("/api/auth/refresh", headers=bearer(body["refresh_token"]))).json
    keep(login(client))  # cookie mode
    keep(client.post("/api/auth/refresh", headers={
        "X-CSRF-TOKEN": client.get_cookie("csrf_refresh_token").value}))
    keep(client.post("/api/auth/password", headers=bearer(body["access_token"]),
                     json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}))
    keep(client.post("/api/auth/password", headers=bearer(body["access_token"]),
                     json={"current_password": WRONG, "new_password": NEW_PASSWORD + "!"}))
    keep(client.get("/api/me", headers=bearer(body["access_token"])))
    keep(client.post("/api/auth/logout", headers=bearer(body["access_token"])))
    keep(client.get("/api/me", headers=bearer(body["access_token"])))  # revoked: 401
    page = browser(app, BOB_IP, BOB_UA)
    keep(page_login(page, password=NEW_PASSWORD))
    keep(page.post("/logout", data={"csrf_token": csrf_token(page, "/")}))

    assert len(set(tokens)) >= 8
    assert any(r.name == "authapp.audit" for r in caplog.records)
    secrets = [PASSWORD, NEW_PASSWORD, WRONG, NEW_PASSWORD + "!", *set(tokens)]
    for record in caplog.records:
        text = record.getMessage() + repr(vars(record))
        for secret in secrets:
            assert secret not in text, f"{record.name} logged a secret: {text[:300]}"
    for secret in secrets:
        assert secret not in caplog.text


# --- GET /api/events ---------------------------------------------------------------------------


def test_events_api_lists_the_callers_own_events_newest_first(app, alice):
    bob = browser(app, BOB_IP, BOB_UA)
    alice_auth, bob_auth = AuthActions(alice), AuthActions(bob)
    alice_auth.register()
    bob_auth.register("bob")
    with later(seconds=1):
        first = alice_auth.login()
        bob_auth.login("bob")
    with later(seconds=2):
        assert login(alice, password=WRONG).status_code == 401
        assert login(alice, "bob", WRONG).status_code == 401  # bob's event, from alice's client
    with later(seconds=3):
        second = alice_auth.login()
    with later(seconds=4):
        assert alice.post("/api/auth/refresh", headers=second.refresh_headers).status_code == 200
    with later(seconds=5):
        response = alice.get("/api/events", headers=first.headers)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    events = response.json["events"]
    assert [e["type"] for e in events] == [
        "refresh", "login_succeeded", "login_failed", "login_succeeded", "register"]
    for event in events:
        assert set(event) == EVENT_KEYS
        assert (event["ip"], event["user_agent"]) == (ALICE_IP, ALICE_UA)
        assert isinstance(event["details"], dict)
        assert dt.datetime.fromisoformat(event["created_at"]).utcoffset() == dt.timedelta(0)
    moments = [dt.datetime.fromisoformat(e["created_at"]) for e in events]
    assert moments == sorted(moments, reverse=True)
    assert events[0]["session_id"] == claims(second.access_token)["sid"]
    assert events[1]["session_id"] == claims(second.access_token)["sid"]
    assert events[3]["session_id"] == claims(first.access_token)["sid"]
    assert events[2]["details"]["reason"] == "wrong_password"

    with later(seconds=6):
        bob_events = bob.get("/api/events", headers=bob_auth.login("bob").headers).json["events"]
    assert [e["type"] for e in bob_events] == [
        "login_succeeded", "login_failed", "login_succeeded", "register"]
    assert bob_events[1]["ip"] == ALICE_IP  # the failed attempt on bob came from alice's client
    alice_sessions = {claims(first.access_token)["sid"], claims(second.access_token)["sid"], None}
    assert {e["session_id"] for e in events} <= alice_sessions


def test_events_api_requires_an_access_token(client, auth):
    response = client.get("/api/events")
    assert response.status_code == 401
    assert response.json["code"] == "token_missing"
    signed_in = auth.signed_in()
    response = client.get("/api/events", headers=signed_in.refresh_headers)
    assert response.status_code == 401
    assert client.post("/api/auth/logout", headers=signed_in.headers).status_code == 204
    response = client.get("/api/events", headers=signed_in.headers)
    assert response.status_code == 401
    assert response.json["code"] == "token_revoked"


# --- the account page --------------------------------------------------------------------------


def page_body(response) -> str:
    assert response.status_code == 200
    return response.data.decode().split("</head>", 1)[1]


def test_account_page_shows_recent_activity(app, alice):
    page_register(alice)
    assert login(browser(app, THIEF_IP, THIEF_UA), password=WRONG).status_code == 401
    body = page_body(alice.get("/account"))
    assert body.count('id="activity-heading"') == 1
    activity = body.split('id="activity-heading"', 1)[1]
    for label in ("Account created", "Signed in", "Failed sign-in attempt"):
        assert label in activity
    assert THIEF_IP in activity
    assert "Suspected theft" not in body


@pytest.mark.parametrize("with_theft", [False, True], ids=["plain", "after-theft"])
def test_account_page_title_is_just_the_title(app, alice, with_theft):
    """The activity and theft sections belong in the body, not inside ``<title>``."""
    page_register(alice)
    if with_theft:
        signed_in = AuthActions(alice).login()
        assert alice.post("/api/auth/refresh", headers=signed_in.refresh_headers
                          ).status_code == 200
        with later(seconds=60):
            response = alice.post("/api/auth/refresh", headers=signed_in.refresh_headers)
            assert response.json["code"] == "token_reused"
    page = alice.get("/account").data.decode()
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert title == "Your account · authapp", f"/account <title> is {title[:160]!r}"


def test_account_page_shows_suspected_theft_after_reuse(app, alice):
    page_register(alice)
    auth = AuthActions(browser(app, BOB_IP, BOB_UA))
    phone = auth.login()
    stolen = phone.refresh_token
    assert auth.client.post("/api/auth/refresh", headers=bearer(stolen)).status_code == 200
    with later(seconds=60):
        response = browser(app, THIEF_IP, THIEF_UA).post("/api/auth/refresh",
                                                          headers=bearer(stolen))
        assert response.json["code"] == "token_reused"
        response = alice.get("/account")
    body = page_body(response)
    assert body.count('id="theft-heading"') == 1
    theft = body.split('id="theft-heading"', 1)[1].split("</section>", 1)[0]
    assert "Suspected theft" in theft
    assert f'data-theft-session-id="{claims(stolen)["sid"]}"' in theft
    assert BOB_IP in theft
    assert "Suspected theft: a refresh token was used twice" in body.split(
        'id="activity-heading"', 1)[1]
    # the page's own session was not touched
    assert alice.get("/account").status_code == 200
