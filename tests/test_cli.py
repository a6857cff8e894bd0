"""Admin commands: ``flask users ...`` and ``flask tokens prune`` (SPEC §7, CLI).

Each test runs on SQLite and on PostgreSQL through the ``app`` fixture.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import event, func, insert, select, update
from support.api import PASSWORD, AuthActions, bearer_refresh, login, me
from support.problems import assert_problem
from support.tokens import claims

from authapp.core.clock import utcnow
from authapp.core.extensions import db
from authapp.db.models import AuthEvent, RevokedToken, Session, User


def users(runner: FlaskCliRunner, *args: str, **kwargs: Any):
    return runner.invoke(args=["users", *args], **kwargs)


def events(app: Flask, event_type: str) -> list[AuthEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuthEvent).where(AuthEvent.event_type == event_type)))


# -- users create ---------------------------------------------------------------------------


def test_users_create_prompts_twice_and_the_account_can_sign_in(app, runner, client):
    result = users(runner, "create", "alice", input=f"{PASSWORD}\n{PASSWORD}\n")

    assert result.exit_code == 0, result.output
    assert "Created user alice" in result.output
    assert result.output.count("Password") == 1 and "Repeat for confirmation" in result.output
    assert PASSWORD not in result.output  # hidden input is never echoed
    assert login(client).status_code == 200
    [registered] = events(app, "register")
    assert registered.user_agent == "authapp-cli"


def test_users_create_asks_again_when_the_confirmation_differs(runner, client):
    result = users(runner, "create", "alice",
                   input=f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n")

    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    assert login(client).status_code == 200


def test_users_create_takes_no_password_option(app, runner):
    result = users(runner, "create", "alice", "--password", PASSWORD)

    assert result.exit_code == 2
    assert "No such option" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


@pytest.mark.parametrize(("username", "password", "message"), [
    pytest.param("alice", "pw", "password: Use at least 8 characters.", id="short"),
    pytest.param("alice", "password1", "less common password", id="common"),
    pytest.param("alice", "é" * 40, "at most 72 bytes", id="over-72-bytes"),
    pytest.param("alicealice", "alicealice", "same as the username", id="same-as-username"),
    pytest.param("a", PASSWORD, "username:", id="username-too-short"),
])
def test_users_create_rejects_invalid_input_with_the_policy_message(
        app, runner, username, password, message):
    result = users(runner, "create", username, input=f"{password}\n{password}\n")

    assert result.exit_code == 1, result.output
    assert "not created" in result.output
    assert message in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_users_create_with_a_taken_username_fails(runner, auth: AuthActions):
    auth.register("alice")

    result = users(runner, "create", "ALICE", input=f"{PASSWORD}\n{PASSWORD}\n")

    assert result.exit_code == 1
    assert "username taken" in result.output


# -- users list -----------------------------------------------------------------------------


def table(output: str) -> dict[str, list[str]]:
    """``flask users list`` output: username -> the row's cells."""
    header, *rows = output.strip().splitlines()
    assert header.split() == ["ID", "USERNAME", "CREATED", "DISABLED", "SESSIONS"]
    return {cells[1]: cells for cells in (row.split() for row in rows)}


def test_users_list_shows_each_account_with_its_live_session_count(
        app, runner, auth: AuthActions, client):
    first = auth.signed_in("alice")
    auth.login("alice")
    logged_out = auth.login("alice")
    stale = auth.login("alice")
    assert client.post("/api/auth/logout", headers=logged_out.headers).status_code == 204
    with app.app_context():  # a session past its expiry is not live either
        db.session.execute(update(Session).where(Session.id == claims(stale.access_token)["sid"])
                           .values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    auth.register("bob")
    assert users(runner, "disable", "bob").exit_code == 0

    result = users(runner, "list")

    assert result.exit_code == 0, result.output
    rows = table(result.output)
    assert list(rows) == ["alice", "bob"]
    assert rows["alice"][0] == str(first.user["id"])
    assert rows["alice"][3:] == ["no", "2"]
    assert rows["bob"][3:] == ["yes", "0"]
    assert rows["alice"][2].endswith("+00:00")


def test_users_list_disabled_shows_only_disabled_accounts(runner, auth: AuthActions):
    auth.register("alice")
    auth.register("bob")
    assert users(runner, "disable", "bob").exit_code == 0

    result = users(runner, "list", "--disabled")

    assert result.exit_code == 0, result.output
    assert list(table(result.output)) == ["bob"]


def test_users_list_says_so_when_there_is_nobody(runner, auth: AuthActions):
    assert users(runner, "list").output.strip() == "No users."
    auth.register("alice")
    assert users(runner, "list", "--disabled").output.strip() == "No disabled users."


# -- users disable / enable -----------------------------------------------------------------


def test_disabling_a_user_rejects_their_access_and_refresh_tokens_at_once(
        app, runner, auth: AuthActions, client):
    signed_in = auth.signed_in("alice", bearer=True)
    assert me(client, signed_in.access_token).status_code == 200

    result = users(runner, "disable", "alice")

    assert result.exit_code == 0, result.output
    assert "Disabled alice; revoked 1 session." in result.output
    assert_problem(me(client, signed_in.access_token), 401, "token_revoked")
    assert_problem(bearer_refresh(client, signed_in.refresh_token), 401, "token_revoked")
    [disabled] = events(app, "user_disabled")
    assert disabled.user_agent == "authapp-cli"
    assert disabled.details["sessions_revoked"] == 1


def test_a_disabled_user_cannot_sign_in(runner, auth: AuthActions, client):
    auth.register("alice")
    assert users(runner, "disable", "alice").exit_code == 0

    assert_problem(login(client), 401, "invalid_credentials")


def test_enabling_a_user_restores_sign_in_but_not_the_revoked_sessions(
        app, runner, auth: AuthActions, client):
    before = auth.signed_in("alice", bearer=True)
    assert users(runner, "disable", "alice").exit_code == 0

    result = users(runner, "enable", "alice")

    assert result.exit_code == 0, result.output
    assert "Enabled alice." in result.output
    assert login(client).status_code == 200
    assert_problem(me(client, before.access_token), 401, "token_revoked")
    assert len(events(app, "user_enabled")) == 1


def test_enabling_an_account_that_is_not_disabled_changes_nothing(app, runner, auth):
    auth.register("alice")

    result = users(runner, "enable", "alice")

    assert result.exit_code == 0, result.output
    assert "not disabled" in result.output
    assert events(app, "user_enabled") == []


@pytest.mark.parametrize("command", ["disable", "enable", "revoke-sessions"])
def test_commands_on_an_unknown_user_fail_clearly(runner, auth: AuthActions, command):
    auth.register("alice")

    result = users(runner, command, "nobody")

    assert result.exit_code == 1
    assert "no user named 'nobody'" in result.output


# -- users revoke-sessions ------------------------------------------------------------------


def test_revoke_sessions_kills_every_token_of_that_user_only(
        app, runner, auth: AuthActions, client):
    phone = auth.signed_in("alice", bearer=True)
    laptop = auth.login("alice", bearer=True)
    bob = auth.signed_in("bob", bearer=True)

    result = users(runner, "revoke-sessions", "alice")

    assert result.exit_code == 0, result.output
    assert "Revoked 2 sessions of alice." in result.output
    for signed_in in (phone, laptop):
        assert_problem(me(client, signed_in.access_token), 401, "token_revoked")
        assert_problem(bearer_refresh(client, signed_in.refresh_token), 401, "token_revoked")
    assert me(client, bob.access_token).status_code == 200
    assert login(client).status_code == 200  # the account itself still works
    [revoked] = events(app, "session_revoked")
    assert revoked.details == {"reason": "admin_revoked", "sessions_revoked": 2}
    with app.app_context():
        reasons = set(db.session.scalars(select(Session.revoked_reason)
                                         .where(Session.user_id == phone.user["id"])))
    assert reasons == {"admin_revoked", None}  # the two revoked ones, the new sign-in


def test_revoke_sessions_with_none_live_says_zero(runner, auth: AuthActions):
    auth.register("alice")

    result = users(runner, "revoke-sessions", "alice")

    assert result.exit_code == 0, result.output
    assert "Revoked 0 sessions of alice." in result.output


# -- tokens prune ---------------------------------------------------------------------------


@contextmanager
def counted_deletes(app: Flask, table_name: str) -> Iterator[list[str]]:
    """Collect the DELETE statements sent to ``table_name`` while the block runs."""
    seen: list[str] = []

    def before(_conn, _cursor, statement, *_args) -> None:
        if statement.split()[:3] == ["DELETE", "FROM", table_name]:
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def seed(app: Flask, *, expired_tokens: int, live_tokens: int, expired_sessions: int = 0,
         live_sessions: int = 0) -> None:
    """Insert rows directly, as a long-running deployment would have accumulated them."""
    now = utcnow()
    with app.app_context():
        user = User(username="alice", username_key="alice", password_hash="x")
        db.session.add(user)
        db.session.flush()

        def token(i: int, expires_at) -> dict[str, Any]:
            return {"jti": f"{i:036d}", "token_type": "access", "user_id": user.id,
                    "expires_at": expires_at, "revoked_at": now, "reason": "logout"}

        def session(i: int, expires_at) -> dict[str, Any]:
            return {"id": f"{i:032x}", "user_id": user.id, "created_at": now,
                    "last_used_at": now, "expires_at": expires_at, "user_agent": "",
                    "ip": "", "refresh_jti": f"{i:036d}"}

        tokens = [token(i, now - timedelta(minutes=1 + i % 60)) for i in range(expired_tokens)]
        tokens += [token(expired_tokens + i, now + timedelta(minutes=15))
                   for i in range(live_tokens)]
        if tokens:
            db.session.execute(insert(RevokedToken), tokens)
        rows = [session(i, now - timedelta(days=1)) for i in range(expired_sessions)]
        rows += [session(expired_sessions + i, now + timedelta(days=1))
                 for i in range(live_sessions)]
        if rows:
            db.session.execute(insert(Session), rows)
        db.session.commit()


def remaining(app: Flask, model) -> tuple[int, int]:
    """(rows left, of which already expired)."""
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(model))
        expired = db.session.scalar(select(func.count()).select_from(model)
                                    .where(model.expires_at <= utcnow()))
    return total, expired


def test_prune_deletes_expired_rows_in_batches_and_keeps_live_ones(app, runner):
    seed(app, expired_tokens=11_000, live_tokens=1_000, expired_sessions=3, live_sessions=2)

    with counted_deletes(app, "revoked_tokens") as deletes:
        result = runner.invoke(args=["tokens", "prune"])

    assert result.exit_code == 0, result.output
    assert "Removed 11000 expired revoked-token rows and 3 expired sessions." in result.output
    assert len(deletes) == 3  # 5,000 + 5,000 + 1,000
    assert remaining(app, RevokedToken) == (1_000, 0)
    assert remaining(app, Session) == (2, 0)


def test_prune_batch_size_is_configurable(app, runner):
    seed(app, expired_tokens=1_000, live_tokens=10)

    with counted_deletes(app, "revoked_tokens") as deletes:
        result = runner.invoke(args=["tokens", "prune", "--batch-size", "250"])

    assert result.exit_code == 0, result.output
    assert "Removed 1000 expired revoked-token rows and 0 expired sessions." in result.output
    assert len(deletes) == 5  # four full batches, then one that finds nothing left
    assert remaining(app, RevokedToken) == (10, 0)


def test_prune_with_nothing_expired_removes_nothing(app, runner):
    seed(app, expired_tokens=0, live_tokens=5, live_sessions=1)

    result = runner.invoke(args=["tokens", "prune"])

    assert result.exit_code == 0, result.output
    assert "Removed 0 expired revoked-token rows and 0 expired sessions." in result.output
    assert remaining(app, RevokedToken) == (5, 0)
    assert remaining(app, Session) == (1, 0)


def test_prune_rejects_a_batch_size_below_one(runner):
    result = runner.invoke(args=["tokens", "prune", "--batch-size", "0"])
    assert result.exit_code == 2


def test_every_command_and_group_has_help(runner):
    for args in (["users"], ["users", "create"], ["users", "list"], ["users", "disable"],
                 ["users", "enable"], ["users", "revoke-sessions"], ["tokens"],
                 ["tokens", "prune"], ["auth"], ["auth", "doctor"]):
        result = runner.invoke(args=[*args, "--help"])
        assert result.exit_code == 0, (args, result.output)
        description = result.output.split("\n\n")[1].strip()
        assert description and not description.startswith("Options"), (args, result.output)


def test_prune_removes_audit_events_past_their_retention_only(app, runner):
    now = utcnow()
    with app.app_context():
        db.session.execute(insert(AuthEvent), [
            {"created_at": now - timedelta(days=400), "event_type": "login_failed", "ip": "",
             "user_agent": "", "details": {}},
            {"created_at": now - timedelta(days=10), "event_type": "login_failed", "ip": "",
             "user_agent": "", "details": {}},
        ])
        db.session.commit()

    result = runner.invoke(args=["tokens", "prune"])

    assert result.exit_code == 0, result.output
    assert "Removed 1 audit events older than 365 days." in result.output
    with app.app_context():
        kept = db.session.scalars(select(AuthEvent.created_at)).all()
    assert len(kept) == 1 and kept[0] > now - timedelta(days=11)
