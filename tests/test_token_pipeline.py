"""The token pipeline: typed tokens, the key set and ``kid``, claims exactly as minted, and
Flask-JWT-Extended's ``@jwt_required()`` held to the same rules (SPEC §3, §6, §9, §12)."""

import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from flask import Flask, jsonify
from flask.testing import FlaskClient
from flask_jwt_extended import current_user, get_jwt, jwt_required
from support.api import AuthActions, SignedIn, bearer, bearer_refresh, me
from support.apps import delete_all_rows, make_config
from support.problems import assert_problem
from support.tokens import KID, STANDARD_HEADER, claims, forge

from authapp import create_app
from authapp.tokens.keys import hmac_kid
from config import TestingConfig

# --- every endpoint that takes a token ----------------------------------------------------


def token_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(method, path, token type) of every route our token decorators guard."""
    routes = []
    for rule in app.url_map.iter_rules():
        kind = getattr(app.view_functions[rule.endpoint], "authapp_token_type", None)
        if kind is None:
            continue
        path = re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>",
                      lambda m: "1" if m.group(1) == "int" else "0" * 32, rule.rule)
        method = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})[0]
        routes.append((method, path, kind))
    return routes


def call(client: FlaskClient, method: str, path: str, token: str):
    return client.open(path, method=method, headers=bearer(token), json={})


def test_the_token_routes_include_every_guarded_endpoint(app):
    routes = {(method, path) for method, path, _ in token_routes(app)}
    assert {("GET", "/api/me"), ("POST", "/api/auth/refresh"), ("POST", "/api/auth/logout"),
            ("GET", "/api/sessions")} <= routes


def test_a_token_without_a_type_claim_is_refused_on_every_token_endpoint(app, client, auth):
    signed_in = auth.signed_in("alice")
    for method, path, kind in token_routes(app):
        token = signed_in.access_token if kind == "access" else signed_in.refresh_token
        untyped = forge({k: v for k, v in claims(token).items() if k != "type"})
        assert_problem(call(client, method, path, untyped), 401, "token_invalid")


def test_a_token_of_an_unknown_type_is_refused_on_every_token_endpoint(app, client, auth):
    signed_in = auth.signed_in("alice")
    for method, path, kind in token_routes(app):
        token = signed_in.access_token if kind == "access" else signed_in.refresh_token
        odd = forge({**claims(token), "type": "mfa"})
        assert_problem(call(client, method, path, odd), 401, "token_invalid")


def test_a_revoked_access_token_is_refused_on_every_access_endpoint(app, client, auth):
    signed_in = auth.signed_in("alice")
    assert client.post("/api/auth/logout", headers=signed_in.headers).status_code == 204
    for method, path, kind in token_routes(app):
        if kind == "access":
            assert_problem(call(client, method, path, signed_in.access_token), 401,
                           "token_revoked")


# --- kid and the key set -------------------------------------------------------------------


def header(token: str) -> dict[str, Any]:
    import jwt as pyjwt

    return pyjwt.get_unverified_header(token)


def test_every_token_names_the_signing_key(auth):
    signed_in = auth.signed_in("alice")
    for token in (signed_in.access_token, signed_in.refresh_token):
        assert header(token) == {"alg": "HS256", "typ": "JWT", "kid": KID}


def test_a_standard_library_verifies_our_tokens_with_the_secret(auth):
    """Tokens are written by our own encoder: a JWT library must read them as we meant."""
    import jwt as pyjwt

    signed_in = auth.signed_in("alice")
    verified = pyjwt.decode(signed_in.access_token, TestingConfig.JWT_SECRET_KEY,
                            algorithms=["HS256"], audience="authapp", issuer="authapp")
    assert verified == claims(signed_in.access_token)
    assert verified["type"] == "access" and verified["sub"] == str(signed_in.user["id"])


def test_the_kid_reveals_nothing_of_the_secret():
    assert TestingConfig.JWT_SECRET_KEY not in KID
    assert hmac_kid("another secret of at least thirty-two bytes") != KID


@pytest.mark.parametrize("kid", [None, "", "unknown", "../../etc/passwd", "' OR 1=1 --", 7,
                                 KID + "x"])
def test_a_token_naming_a_key_we_do_not_have_is_invalid(client, auth, kid):
    signed_in = auth.signed_in("alice")
    token_header = {**STANDARD_HEADER, "kid": kid} if kid is not None else {"alg": "HS256"}
    forged = forge(claims(signed_in.access_token), header=token_header)
    assert_problem(me(client, forged), 401, "token_invalid")


def test_a_header_algorithm_other_than_the_keys_is_invalid(client, auth):
    import hashlib

    signed_in = auth.signed_in("alice")
    forged = forge(claims(signed_in.access_token), header={**STANDARD_HEADER, "alg": "HS512"},
                   digest=hashlib.sha512)
    assert_problem(me(client, forged), 401, "token_invalid")


@pytest.fixture
def rotated_apps(database_url: str) -> Iterator[tuple[Flask, Flask, Flask]]:
    """The same database under an old secret, a new one that still trusts the old one,
    and a new one that does not."""
    old, new = secrets.token_urlsafe(40), secrets.token_urlsafe(40)
    apps = (create_app(make_config(database_url, JWT_SECRET_KEY=old)),
            create_app(make_config(database_url, JWT_SECRET_KEY=new,
                                   JWT_PREVIOUS_SECRET_KEYS=[old])),
            create_app(make_config(database_url, JWT_SECRET_KEY=new)))
    yield apps
    delete_all_rows(apps[0])


def test_tokens_signed_with_a_previous_secret_keep_working(rotated_apps):
    before, during, after = (app.test_client() for app in rotated_apps)
    signed_in = AuthActions(before).signed_in("alice")
    assert me(during, signed_in.access_token).status_code == 200
    refreshed = bearer_refresh(during, signed_in.refresh_token)
    assert refreshed.status_code == 200
    # New tokens are signed with the new secret only.
    assert header(refreshed.json["access_token"])["kid"] == hmac_kid(
        rotated_apps[1].config["JWT_SECRET_KEY"])
    assert me(after, refreshed.json["access_token"]).status_code == 200
    assert_problem(me(after, signed_in.access_token), 401, "token_invalid")


# --- claims exactly as minted ---------------------------------------------------------------


def re_signed(signed_in: SignedIn, **changes: Any) -> str:
    return forge({**claims(signed_in.access_token), **changes})


def test_a_signature_with_base64_padding_is_invalid(client, auth):
    signed_in = auth.signed_in("alice")
    assert me(client, signed_in.access_token).status_code == 200
    for padding in ("=", "==", "%3D"):
        assert_problem(me(client, signed_in.access_token + padding), 401, "token_invalid")


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf", "auth_time"])
@pytest.mark.parametrize("value", ["9999999999", 1e300, 1.5, True, None, [1]])
def test_time_claims_that_are_not_whole_seconds_are_invalid(client, auth, claim, value):
    signed_in = auth.signed_in("alice")
    assert_problem(me(client, re_signed(signed_in, **{claim: value})), 401, "token_invalid")


def test_an_exp_past_the_types_lifetime_is_invalid(client, auth):
    signed_in = auth.signed_in("alice")
    iat = claims(signed_in.access_token)["iat"]
    assert me(client, re_signed(signed_in, exp=iat + 900)).status_code == 200
    assert_problem(me(client, re_signed(signed_in, exp=iat + 901)), 401, "token_invalid")
    assert_problem(me(client, re_signed(signed_in, exp=2**62)), 401, "token_invalid")


@pytest.mark.parametrize("changes", [
    {"amr": []}, {"amr": "pwd"}, {"amr": ["pwd", "sms"]}, {"amr": [1]}, {"fresh": "yes"},
], ids=["empty-amr", "string-amr", "unknown-method", "number-in-amr", "string-fresh"])
def test_malformed_authentication_claims_are_invalid(client, auth, changes):
    signed_in = auth.signed_in("alice")
    assert_problem(me(client, re_signed(signed_in, **changes)), 401, "token_invalid")


def test_an_auth_time_after_issue_is_invalid(client, auth):
    signed_in = auth.signed_in("alice")
    iat = claims(signed_in.access_token)["iat"]
    assert_problem(me(client, re_signed(signed_in, auth_time=iat + 1)), 401, "token_invalid")


@pytest.mark.parametrize("claim", ["auth_time", "amr", "fresh", "iss", "aud"])
def test_a_token_missing_a_minted_claim_is_invalid(client, auth, claim):
    signed_in = auth.signed_in("alice")
    payload = {k: v for k, v in claims(signed_in.access_token).items() if k != claim}
    assert_problem(me(client, forge(payload)), 401, "token_invalid")


def test_login_tokens_say_when_and_how_the_session_proved_itself(auth):
    with time_machine.travel("2026-12-01 10:00:00Z", tick=False):
        signed_in = auth.signed_in("alice")
    for token in (signed_in.access_token, signed_in.refresh_token):
        assert claims(token)["auth_time"] == claims(token)["iat"]
        assert claims(token)["amr"] == ["pwd"]


def test_auth_time_is_carried_unchanged_through_refreshes(client, auth):
    with time_machine.travel("2026-12-01 10:00:00Z", tick=False):
        signed_in = auth.signed_in("alice")
    auth_time = claims(signed_in.access_token)["auth_time"]
    token = signed_in.refresh_token
    for minutes in (5, 10):
        with time_machine.travel(f"2026-12-01 10:{minutes:02d}:00Z", tick=False):
            refreshed = bearer_refresh(client, token)
        assert refreshed.status_code == 200, refreshed.json
        token = refreshed.json["refresh_token"]
        for issued in (refreshed.json["access_token"], token):
            assert claims(issued)["auth_time"] == auth_time
            assert claims(issued)["iat"] == auth_time + minutes * 60
            assert claims(issued)["amr"] == ["pwd"]
            assert claims(issued)["fresh"] is False


# --- Flask-JWT-Extended's own decorator -------------------------------------------------------


@pytest.fixture
def extension_app(database_url: str) -> Iterator[Flask]:
    """An app with a route protected the extension's way, as an app author would add it."""
    app = create_app(make_config(database_url))

    @app.get("/api/reports")
    @jwt_required()
    def reports():
        return jsonify(user=current_user.username, sid=get_jwt()["sid"])

    @app.get("/api/reports/renew")
    @jwt_required(refresh=True)
    def renew_report():
        return jsonify(user=current_user.username)

    yield app
    delete_all_rows(app)


def test_jwt_required_routes_accept_our_access_tokens_with_current_user(extension_app):
    client = extension_app.test_client()
    signed_in = AuthActions(client).signed_in("alice")
    response = client.get("/api/reports", headers=signed_in.headers)
    assert response.status_code == 200, response.json
    assert response.json == {"user": "alice", "sid": claims(signed_in.access_token)["sid"]}
    renewed = client.get("/api/reports/renew", headers=signed_in.refresh_headers)
    assert renewed.status_code == 200 and renewed.json == {"user": "alice"}


def test_jwt_required_routes_refuse_a_revoked_token(extension_app):
    client = extension_app.test_client()
    signed_in = AuthActions(client).signed_in("alice")
    assert client.post("/api/auth/logout", headers=signed_in.headers).status_code == 204
    assert_problem(client.get("/api/reports", headers=signed_in.headers), 401, "token_revoked")
    assert_problem(client.get("/api/reports/renew", headers=signed_in.refresh_headers), 401,
                   "token_revoked")


def test_jwt_required_routes_refuse_an_untyped_token(extension_app):
    client = extension_app.test_client()
    signed_in = AuthActions(client).signed_in("alice")
    untyped = forge({k: v for k, v in claims(signed_in.access_token).items() if k != "type"})
    assert_problem(client.get("/api/reports", headers=bearer(untyped)), 401, "token_invalid")


def test_jwt_required_routes_refuse_the_wrong_type_and_unknown_keys(extension_app):
    client = extension_app.test_client()
    signed_in = AuthActions(client).signed_in("alice")
    assert_problem(client.get("/api/reports", headers=signed_in.refresh_headers), 401,
                   "token_invalid")
    foreign = forge(claims(signed_in.access_token), header={**STANDARD_HEADER, "kid": "other"})
    assert_problem(client.get("/api/reports", headers=bearer(foreign)), 401, "token_invalid")
    long_lived = forge({**claims(signed_in.access_token), "exp": 2**40})
    assert_problem(client.get("/api/reports", headers=bearer(long_lived)), 401, "token_invalid")
