"""The admin API (SPEC §13): role ``admin`` and recent authentication, every action audited.

Each test runs on SQLite and on PostgreSQL.
"""

from typing import Any

import pytest
import schemathesis
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support.api import PASSWORD, SignedIn, bearer, login, me
from support.clock import later
from support.problems import assert_problem
from support.roles import grant, revoke, signed_in_admin
from support.tokens import claims, forge

from authapp.db.models import MAX_USER_ID

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
SEED = 20260516
OPERATIONS = [
    ("GET", "/api/admin/users", None),
    ("GET", "/api/admin/users/{id}", None),
    ("POST", "/api/admin/users/{id}/disable", None),
    ("POST", "/api/admin/users/{id}/enable", None),
    ("DELETE", "/api/admin/users/{id}/sessions", None),
    ("PUT", "/api/admin/users/{id}/roles", {"roles": ["admin"]}),
]


def call(client: FlaskClient, method: str, path: str, body: Any, token: str, user_id: int):
    return client.open(path.format(id=user_id), method=method, json=body, headers=bearer(token))


@pytest.fixture
def admin(app, auth):
    return signed_in_admin(app, auth)


@pytest.fixture
def bob(auth):
    return auth.signed_in("bob")


def events_of(client: FlaskClient, signed_in: SignedIn) -> list[dict[str, Any]]:
    return client.get("/api/events", headers=signed_in.headers).json["events"]


def unchanged(client: FlaskClient, bob) -> None:
    """bob still signed in, still able to sign in, with no roles."""
    assert me(client, bob.access_token).json["roles"] == []
    assert login(client, "bob").status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
def test_a_non_admin_is_refused_every_admin_endpoint_and_nothing_changes(
        client, bob, auth, method, path, body):
    mallory = auth.signed_in("mallory")

    assert_problem(call(client, method, path, body, mallory.access_token, bob.user["id"]),
                   403, "forbidden")
    unchanged(client, bob)


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
def test_a_forged_admin_roles_claim_is_refused_every_admin_endpoint(client, bob, auth,
                                                                      method, path, body):
    mallory = auth.signed_in("mallory")
    forged = forge({**claims(mallory.access_token), "roles": ["admin"]})

    assert_problem(call(client, method, path, body, forged, bob.user["id"]), 403, "forbidden")
    unchanged(client, bob)


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
def test_an_admin_without_recent_authentication_must_confirm_first(
        client, admin, bob, method, path, body):
    with later(minutes=6):
        problem = assert_problem(call(client, method, path, body, admin.access_token,
                                      bob.user["id"]), 401, "reauthentication_required")
        assert problem["methods"] == ["password"]
        unchanged(client, bob)
        fresh = client.post("/api/auth/reauthenticate", headers=admin.headers,
                            json={"password": PASSWORD}).json["access_token"]
        assert call(client, "GET", "/api/admin/users", None, fresh, 0).status_code == 200


def test_an_admin_whose_role_was_just_removed_is_refused_at_the_next_request(
        app, client, admin, bob):
    assert client.get("/api/admin/users", headers=admin.headers).status_code == 200
    revoke(app, "root")

    assert_problem(client.post(f"/api/admin/users/{bob.user['id']}/disable",
                               headers=admin.headers), 403, "forbidden")
    unchanged(client, bob)


def test_users_are_found_by_part_of_their_name_a_page_at_a_time(client, admin, auth):
    for name in ("alice", "alina", "bob", "Alistair"):
        auth.register(name)

    first = client.get("/api/admin/users?q=ALI&per_page=2", headers=admin.headers).json
    second = client.get("/api/admin/users?q=ali&per_page=2&page=2", headers=admin.headers).json

    assert (first["total"], first["page"], first["per_page"]) == (3, 1, 2)
    assert [u["username"] for u in first["users"] + second["users"]] == [
        "alice", "alina", "Alistair"]
    assert first["users"][0]["roles"] == [] and first["users"][0]["disabled_at"] is None


def test_a_search_for_like_wildcards_matches_them_literally(client, admin, auth):
    auth.register("bob_smith")
    auth.register("bobsmith")

    found = client.get("/api/admin/users?q=b_s", headers=admin.headers).json

    assert [u["username"] for u in found["users"]] == ["bob_smith"]


@pytest.mark.parametrize("query", ["page=0", "per_page=101", "page=x", "q=" + "a" * 101,
                                   "q=%00"])
def test_a_bad_users_query_is_a_validation_error(client, admin, query):
    assert_problem(client.get(f"/api/admin/users?{query}", headers=admin.headers), 422,
                   "validation_error")


def test_one_user_comes_with_sessions_and_recent_events(client, admin, bob):
    detail = client.get(f"/api/admin/users/{bob.user['id']}", headers=admin.headers).json

    assert detail["user"]["username"] == "bob"
    assert detail["user"]["live_sessions"] == 1
    assert [s["current"] for s in detail["sessions"]] == [False]
    assert [e["type"] for e in detail["events"]] == ["login_succeeded", "register"]


@pytest.mark.parametrize("user_id", [0, 999_999, MAX_USER_ID + 1, 10**30])
def test_an_unknown_user_id_is_not_found(client, admin, user_id):
    for method, path, body in OPERATIONS[1:]:
        assert_problem(call(client, method, path, body, admin.access_token, user_id), 404,
                       "not_found")


def test_disable_revokes_every_session_and_is_audited_with_the_admin(client, admin, bob):
    answer = client.post(f"/api/admin/users/{bob.user['id']}/disable", headers=admin.headers)

    assert answer.status_code == 200, answer.json
    assert answer.json["sessions_revoked"] == 1
    assert answer.json["user"]["disabled_at"] is not None
    assert_problem(me(client, bob.access_token), 401, "token_revoked")
    assert_problem(login(client, "bob"), 401, "invalid_credentials")
    detail = client.get(f"/api/admin/users/{bob.user['id']}", headers=admin.headers).json
    assert [(e["type"], e["details"]) for e in detail["events"][:2]] == [
        ("login_failed", {"username": "bob", "reason": "disabled"}),
        ("user_disabled", {"sessions_revoked": 1, "admin_id": admin.user["id"]})]


def test_enable_lets_a_disabled_account_sign_in_again(client, admin, bob):
    client.post(f"/api/admin/users/{bob.user['id']}/disable", headers=admin.headers)

    answer = client.post(f"/api/admin/users/{bob.user['id']}/enable", headers=admin.headers)

    assert answer.json["user"]["disabled_at"] is None
    access = login(client, "bob").json["access_token"]
    events = client.get("/api/events", headers=bearer(access)).json["events"]
    assert [(e["type"], e["details"]) for e in events[:2]] == [
        ("login_succeeded", {}), ("user_enabled", {"admin_id": admin.user["id"]})]


def test_revoking_sessions_signs_the_account_out_everywhere(client, admin, bob, auth):
    second = auth.login("bob")

    answer = client.delete(f"/api/admin/users/{bob.user['id']}/sessions", headers=admin.headers)

    assert answer.json["sessions_revoked"] == 2
    for signed_in in (bob, second):
        assert_problem(me(client, signed_in.access_token), 401, "token_revoked")
    assert client.post("/api/auth/refresh", headers=bob.refresh_headers).status_code == 401


def test_setting_roles_counts_at_the_next_request_and_is_audited(client, admin, bob):
    answer = client.put(f"/api/admin/users/{bob.user['id']}/roles", headers=admin.headers,
                        json={"roles": ["auditor", "admin", "auditor"]})

    assert answer.json["user"]["roles"] == ["admin", "auditor"]
    assert me(client, bob.access_token).json["roles"] == ["admin", "auditor"]
    event = events_of(client, bob)[0]
    assert event["type"] == "roles_changed"
    assert event["details"] == {"added": ["admin", "auditor"], "removed": [],
                                "admin_id": admin.user["id"]}


@pytest.mark.parametrize("roles", [["Admin"], ["a b"], ["x,y"], [""], ["r" * 33], "admin"])
def test_malformed_roles_are_a_validation_error(client, admin, bob, roles):
    assert_problem(client.put(f"/api/admin/users/{bob.user['id']}/roles", headers=admin.headers,
                              json={"roles": roles}), 422, "validation_error")
    unchanged(client, bob)


def test_an_admin_cannot_lock_themselves_out(client, admin):
    own = admin.user["id"]

    assert_problem(client.post(f"/api/admin/users/{own}/disable", headers=admin.headers),
                   422, "validation_error")
    assert_problem(client.put(f"/api/admin/users/{own}/roles", headers=admin.headers,
                              json={"roles": []}), 422, "validation_error")
    assert me(client, admin.access_token).json["roles"] == ["admin"]


def test_an_admin_acts_on_any_account_by_id_and_only_on_that_one(app, client, admin, bob,
                                                                   auth):
    carol = auth.signed_in("carol")

    client.post(f"/api/admin/users/{bob.user['id']}/disable", headers=admin.headers)

    assert me(client, carol.access_token).status_code == 200
    assert_problem(me(client, bob.access_token), 401, "token_revoked")


def test_a_granted_admin_reaches_the_console_after_a_fresh_sign_in(app, client, auth):
    auth.register("newadmin")
    grant(app, "newadmin")

    signed_in = auth.login("newadmin")

    assert client.get("/api/admin/users", headers=signed_in.headers).status_code == 200


def test_the_admin_and_leaving_operations_answer_as_documented_when_fuzzed_as_an_admin(
        app, auth):
    """schemathesis, as tests/test_schemathesis.py runs it, but signed in as an admin."""
    auth.register("fuzzer")
    grant(app, "fuzzer")
    for name in ("alice", "bob"):
        auth.register(name)
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)

    @schema.auth(refresh_interval=None)
    class FreshAdminSignIn:
        def get(self, case, context):
            return auth.login("fuzzer").access_token

        def set(self, case, data, context):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    admin_and_account = schema.include(path_regex="^/api/(admin/|account$|account/export$)")
    for result in admin_and_account.get_all_operations():
        operation = result.ok()
        cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                          operation.as_strategy(GenerationMode.NEGATIVE))

        @seed(SEED)
        @settings(max_examples=40, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=cases)
        def answers_as_documented(case):
            case.call_and_validate(checks=CHECKS)

        answers_as_documented()
