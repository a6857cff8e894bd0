"""Leaving (SPEC §13): DELETE /api/account and GET /api/account/export.

Each test runs on SQLite and on PostgreSQL.
"""

import json
import threading

import pytest
from sqlalchemy import func, select
from support.api import PASSWORD, bearer, login, me, register
from support.clock import later
from support.problems import assert_problem
from support.roles import grant

from authapp.core.clock import utcnow
from authapp.core.extensions import db
from authapp.db.models import AuthEvent, OutboxMessage, RevokedToken, Session, User, UserRole


def delete_account(client, signed_in, password: str = PASSWORD):
    return client.delete("/api/account", headers=signed_in.headers, json={"password": password})


def rows(app, model, *where) -> list:
    with app.app_context():
        return list(db.session.scalars(select(model).where(*where)))


@pytest.fixture
def alice(app, auth):
    signed_in = auth.signed_in("alice")
    grant(app, "alice", "auditor")
    client = auth.client
    client.post("/api/auth/logout", headers=auth.login("alice").headers)
    return signed_in


def test_deleting_the_account_removes_it_and_its_sessions_at_once(app, client, alice):
    user_id = alice.user["id"]

    response = delete_account(client, alice)

    assert response.status_code == 204, response.json
    assert_problem(me(client, alice.access_token), 401, "token_revoked")
    assert client.post("/api/auth/refresh", headers=alice.refresh_headers).status_code == 401
    assert_problem(login(client, "alice"), 401, "invalid_credentials")
    for model in (Session, RevokedToken, UserRole):
        assert rows(app, model, model.user_id == user_id) == []
    assert rows(app, User, User.id == user_id) == []


def test_the_username_is_free_again(client, alice):
    delete_account(client, alice)

    assert register(client, "alice").status_code == 201


def test_audit_rows_stay_but_keep_no_personal_data(app, client, alice):
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(AuthEvent))

    delete_account(client, alice)

    events = rows(app, AuthEvent)
    assert len(events) == before + 1
    assert all(e.user_id is None and e.session_id is None and e.ip == "" and e.user_agent == ""
               for e in events)
    tombstones = {e.details["tombstone"] for e in events}
    assert len(tombstones) == 1 and tombstones.pop().startswith("deleted-")
    assert events[-1].event_type == "account_deleted"
    assert not any("alice" in json.dumps(e.details) for e in events)


def test_a_wrong_password_deletes_nothing(app, client, alice):
    assert_problem(delete_account(client, alice, "not the password"), 401,
                   "invalid_credentials")

    assert me(client, alice.access_token).status_code == 200


def test_deleting_needs_a_recent_authentication(client, alice):
    with later(minutes=6):
        assert_problem(delete_account(client, alice), 401, "reauthentication_required")
        assert me(client, alice.access_token).status_code == 200


def test_deleting_one_account_leaves_the_others(app, client, alice, auth):
    bob = auth.signed_in("bob")

    delete_account(client, alice)

    assert me(client, bob.access_token).status_code == 200
    assert len(rows(app, AuthEvent, AuthEvent.user_id == bob.user["id"])) == 2


def test_deletion_racing_a_refresh_leaves_no_orphans_and_no_500(app, auth):
    """Several refreshes of the account's sessions run while the account is deleted."""
    auth.register("alice")
    sign_ins = [auth.login("alice") for _ in range(4)]
    barrier = threading.Barrier(len(sign_ins) + 1)
    statuses: list[int] = []

    def refresh(signed_in):
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post("/api/auth/refresh",
                                    headers=signed_in.refresh_headers).status_code)

    def delete():
        client = app.test_client()
        barrier.wait()
        statuses.append(delete_account(client, sign_ins[0]).status_code)

    threads = [threading.Thread(target=refresh, args=(s,)) for s in sign_ins]
    threads.append(threading.Thread(target=delete))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert 500 not in statuses and 503 not in statuses, statuses
    assert set(statuses) <= {200, 204, 401}, statuses
    assert 204 in statuses or statuses.count(200) == len(sign_ins), statuses
    if 204 in statuses:
        assert rows(app, User) == [] and rows(app, Session) == []
        assert all(e.user_id is None and e.ip == "" for e in rows(app, AuthEvent))


def test_the_export_is_a_json_download_of_the_account(client, alice):
    response = client.get("/api/account/export", headers=alice.headers)

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment")
    export = response.json
    assert export["profile"]["username"] == "alice"
    assert export["profile"]["roles"] == ["auditor"]
    assert len(export["sessions"]) == 2
    assert {s["revoked_reason"] for s in export["sessions"]} == {None, "logout"}
    assert {"register", "login_succeeded", "role_granted", "logout"} <= {
        e["type"] for e in export["events"]}


def test_the_export_holds_nothing_of_another_user(client, alice, auth):
    bob_client = auth.client.application.test_client()
    register(bob_client, "bob")
    bob = login(bob_client, "bob", environ_base={"REMOTE_ADDR": "203.0.113.9"},
                headers={"User-Agent": "BobBrowser/1"}).json

    text = client.get("/api/account/export", headers=alice.headers).get_data(as_text=True)

    assert me(bob_client, bob["access_token"]).status_code == 200
    for mark in ("bob", "203.0.113.9", "BobBrowser"):
        assert mark not in text


def test_an_export_is_recorded(client, alice):
    client.get("/api/account/export", headers=alice.headers)

    events = client.get("/api/events", headers=bearer(alice.access_token)).json["events"]
    assert events[0]["type"] == "data_exported"


def give_address(app, username: str, email: str, *, verified: bool) -> None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        user.email, user.email_key = email, email
        user.email_verified_at = utcnow() if verified else None
        db.session.commit()


def test_a_verified_address_gets_a_goodbye_mail(app, client, alice):
    give_address(app, "alice", "alice@example.org", verified=True)

    delete_account(client, alice)

    mails = rows(app, OutboxMessage)
    assert [(m.recipient, m.subject) for m in mails] == [
        ("alice@example.org", "Your account was deleted")]
    assert "alice" in mails[0].text_body


def test_an_unverified_address_gets_no_mail(app, client, alice):
    give_address(app, "alice", "alice@example.org", verified=False)

    delete_account(client, alice)

    assert rows(app, OutboxMessage) == []
