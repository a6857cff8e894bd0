"""Roles (SPEC §13): the roles claim, roles read per request, roles_required, the CLI.

Each test runs on SQLite and on PostgreSQL.
"""

import sqlite3
from datetime import UTC, datetime

import pytest
from flask import Flask, jsonify
from flask_jwt_extended import current_user, jwt_required
from sqlalchemy import event
from support.api import bearer, me
from support.problems import assert_problem
from support.roles import grant, revoke
from support.tokens import claims, forge

from authapp.core.extensions import db
from authapp.db import direct
from authapp.tokens.guards import roles_required
from authapp.tokens.verify import access_token_required, current_principal


@pytest.fixture
def app(app: Flask) -> Flask:
    """The app with two routes an app author protects with a role, each way."""

    @app.get("/api/reports")
    @access_token_required
    @roles_required("auditor")
    def reports():
        return jsonify(reader=current_principal().username)

    @app.get("/api/reports-jwt")
    @jwt_required()
    @roles_required("auditor")
    def reports_jwt():
        return jsonify(reader=current_user.username)

    return app


@pytest.fixture(params=["/api/reports", "/api/reports-jwt"])
def route(request: pytest.FixtureRequest) -> str:
    return request.param


def users(runner, *args: str):
    return runner.invoke(args=["users", *args])


def test_access_tokens_name_the_roles_and_refresh_tokens_do_not(app, auth):
    auth.register("alice")
    grant(app, "alice", "auditor")
    grant(app, "alice", "admin")
    signed_in = auth.login("alice")

    assert claims(signed_in.access_token)["roles"] == ["admin", "auditor"]
    assert "roles" not in claims(signed_in.refresh_token)


def test_a_refreshed_access_token_names_the_roles_held_now(app, auth, client):
    signed_in = auth.signed_in("alice")
    assert claims(signed_in.access_token)["roles"] == []
    grant(app, "alice", "auditor")

    refreshed = client.post("/api/auth/refresh", headers=signed_in.refresh_headers).json

    assert claims(refreshed["access_token"])["roles"] == ["auditor"]


def test_me_names_the_current_roles(app, auth, client):
    signed_in = auth.signed_in("alice")
    grant(app, "alice", "auditor")

    assert me(client, signed_in.access_token).json["roles"] == ["auditor"]


def test_a_route_with_a_role_lets_its_holders_in(app, auth, client, route):
    auth.register("alice")
    grant(app, "alice", "auditor")
    signed_in = auth.login("alice")

    response = client.get(route, headers=signed_in.headers)

    assert response.status_code == 200, response.json
    assert response.json == {"reader": "alice"}


def test_a_route_with_a_role_refuses_others_with_403_forbidden(auth, client, route):
    signed_in = auth.signed_in("alice")
    assert_problem(client.get(route, headers=signed_in.headers), 403, "forbidden")


def test_a_role_taken_away_counts_at_the_next_request(app, auth, client, route):
    auth.register("alice")
    grant(app, "alice", "auditor")
    signed_in = auth.login("alice")
    assert client.get(route, headers=signed_in.headers).status_code == 200

    revoke(app, "alice", "auditor")

    assert claims(signed_in.access_token)["roles"] == ["auditor"]  # the token still says so
    assert_problem(client.get(route, headers=signed_in.headers), 403, "forbidden")


def test_a_forged_roles_claim_signed_with_the_key_is_ignored(auth, client, route):
    signed_in = auth.signed_in("alice")
    forged = forge({**claims(signed_in.access_token), "roles": ["admin", "auditor"]})

    assert me(client, forged).json["roles"] == []
    assert_problem(client.get(route, headers=bearer(forged)), 403, "forbidden")


@pytest.mark.parametrize("roles", [None, "admin", ["Admin"], ["admin", "admin"], [1],
                                   ["a,b"], ["x"] * 33])
def test_an_access_token_with_roles_we_never_mint_is_invalid(auth, client, roles):
    signed_in = auth.signed_in("alice")
    payload = {**claims(signed_in.access_token), "roles": roles}
    if roles is None:
        del payload["roles"]

    assert_problem(me(client, forge(payload)), 401, "token_invalid")


def test_me_reads_the_roles_in_its_one_statement(app, auth, client):
    """No ORM statement at all, and on SQLite exactly one on the direct connection."""
    signed_in = auth.signed_in("alice")
    grant(app, "alice", "auditor")
    assert me(client, signed_in.access_token).status_code == 200  # opens the direct connection
    orm_statements, direct_statements = [], []
    with app.app_context():
        engine = db.engine
        driver = app.extensions[direct.EXTENSION_KEY].local.connection.dbapi_connection
        def count(_conn, _cursor, statement, *_args):
            orm_statements.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        if isinstance(driver, sqlite3.Connection):
            driver.set_trace_callback(direct_statements.append)
        try:
            body = me(client, signed_in.access_token).json
        finally:
            event.remove(engine, "before_cursor_execute", count)
            if isinstance(driver, sqlite3.Connection):
                driver.set_trace_callback(None)

    assert body["roles"] == ["auditor"]
    assert orm_statements == []
    if isinstance(driver, sqlite3.Connection):
        assert len(direct_statements) == 1, direct_statements


# -- flask users grant / revoke-role / list --role ------------------------------------------


def test_users_grant_gives_a_role_that_the_next_request_sees(auth, client, runner):
    signed_in = auth.signed_in("alice")

    result = users(runner, "grant", "alice", "admin")

    assert result.exit_code == 0, result.output
    assert "Granted admin to alice" in result.output
    assert me(client, signed_in.access_token).json["roles"] == ["admin"]
    assert "already has" in users(runner, "grant", "alice", "admin").output


def test_users_revoke_role_takes_it_away(app, auth, client, runner):
    signed_in = auth.signed_in("alice")
    grant(app, "alice")

    result = users(runner, "revoke-role", "alice", "admin")

    assert result.exit_code == 0, result.output
    assert "Revoked admin from alice" in result.output
    assert me(client, signed_in.access_token).json["roles"] == []
    assert "does not have" in users(runner, "revoke-role", "alice", "admin").output


def test_users_grant_refuses_a_malformed_role_and_an_unknown_user(auth, runner):
    auth.register("alice")

    bad_role = users(runner, "grant", "alice", "Admins,all")
    unknown = users(runner, "grant", "nobody", "admin")

    assert bad_role.exit_code != 0 and "lowercase" in bad_role.output
    assert unknown.exit_code != 0 and "no user named 'nobody'" in unknown.output


def test_users_list_role_shows_only_its_holders(app, auth, runner):
    for name in ("alice", "bob", "carol"):
        auth.register(name)
    grant(app, "bob")
    grant(app, "carol")
    grant(app, "alice", "auditor")

    result = users(runner, "list", "--role", "admin")

    assert result.exit_code == 0, result.output
    names = [line.split()[1] for line in result.output.splitlines()[1:]]
    assert names == ["bob", "carol"]
    assert "No 'nobody-has-it' users." in users(runner, "list", "--role", "nobody-has-it").output


def test_role_changes_are_on_the_account_timeline(app, auth, client):
    signed_in = auth.signed_in("alice")
    grant(app, "alice", "auditor")
    revoke(app, "alice", "auditor")

    events = client.get("/api/events", headers=signed_in.headers).json["events"]

    assert [(e["type"], e["details"]) for e in events[:2]] == [
        ("role_revoked", {"role": "auditor"}), ("role_granted", {"role": "auditor"})]
    assert all(datetime.fromisoformat(e["created_at"]) <= datetime.now(UTC) for e in events)
