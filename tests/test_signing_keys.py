"""Asymmetric signing keys (SPEC §12): ES256, EdDSA and RS256 from the key table, sealed at
rest, rotation that signs nobody out, revocation seen by every instance, and the attacks."""

import uuid
from collections.abc import Iterator

import jwt as pyjwt
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from flask import Flask, jsonify
from flask.testing import FlaskClient
from flask_jwt_extended import current_user, jwt_required
from sqlalchemy import event, select
from support.api import AuthActions, bearer, bearer_refresh
from support.apps import delete_all_rows, make_config
from support.clock import later
from support.problems import assert_problem
from support.tokens import b64url_json, claims, forge
from werkzeug.test import TestResponse

from authapp import create_app
from authapp.core.extensions import db
from authapp.db.models import AuthEvent, SigningKey
from authapp.tokens import key_material
from authapp.tokens.keys import KEY_SET_TTL, hmac_kid, key_set
from authapp.tokens.verify import access_token_required, current_principal
from config import TestingConfig

ALGORITHMS = ["ES256", "EdDSA", "RS256"]
OLD_SECRET = "an-earlier-jwt-secret-of-at-least-32-bytes-0123"  # noqa: S105


def make_app(database_url: str, **overrides) -> Flask:
    """An app with two protected routes: ours (``/api/whoami``) and the extension's way."""
    app = create_app(make_config(database_url, **overrides))

    @app.get("/api/whoami")
    @access_token_required
    def whoami():
        return jsonify(user=current_principal().username)

    @app.get("/api/reports")
    @jwt_required()
    def reports():
        return jsonify(user=current_user.username)

    return app


def me(client: FlaskClient, access_token: str) -> TestResponse:
    return client.get("/api/whoami", headers=bearer(access_token))


@pytest.fixture(params=ALGORITHMS)
def algorithm(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def key_app(database_url: str, algorithm: str) -> Iterator[Flask]:
    """An app signing with ``algorithm``; every row (keys included) is deleted afterwards."""
    app = make_app(database_url, JWT_ALGORITHM=algorithm)
    yield app
    delete_all_rows(app)


@pytest.fixture
def es_app(database_url: str) -> Iterator[Flask]:
    app = make_app(database_url, JWT_ALGORITHM="ES256")
    yield app
    delete_all_rows(app)


def header(token: str) -> dict:
    return pyjwt.get_unverified_header(token)


def stored(app: Flask) -> list[SigningKey]:
    with app.app_context():
        rows = list(db.session.scalars(select(SigningKey).order_by(SigningKey.created_at)))
        db.session.expunge_all()
        return rows


def key_of_state(app: Flask, state: str) -> SigningKey:
    return next(row for row in stored(app) if row.state == state)


def run(app: Flask, *args: str):
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result


# --- signing and verifying -------------------------------------------------------------------


def test_the_first_keys_are_made_without_a_manual_step(key_app, algorithm):
    signed_in = AuthActions(key_app.test_client()).signed_in("alice")
    rows = stored(key_app)
    assert sorted(row.state for row in rows) == ["active", "standby"]
    assert {row.algorithm for row in rows} == {algorithm}
    active = key_of_state(key_app, "active")
    assert header(signed_in.access_token) == {"alg": algorithm, "typ": "JWT",
                                              "kid": active.kid}
    with key_app.app_context():
        events = db.session.scalars(select(AuthEvent.details).where(
            AuthEvent.event_type == "signing_key_generated")).all()
    assert sorted(event["kid"] for event in events) == sorted(row.kid for row in rows)


def test_tokens_of_every_algorithm_pass_our_routes_and_the_extensions(key_app):
    client = key_app.test_client()
    signed_in = AuthActions(client).signed_in("alice")
    assert me(client, signed_in.access_token).status_code == 200
    assert client.get("/api/reports", headers=signed_in.headers).json == {"user": "alice"}
    refreshed = bearer_refresh(client, signed_in.refresh_token)
    assert refreshed.status_code == 200, refreshed.json
    assert me(client, refreshed.json["access_token"]).status_code == 200


def test_the_kid_is_the_rfc_7638_thumbprint():
    # RFC 7638 §3.1's example key and its thumbprint.
    members = {"e": "AQAB", "kty": "RSA", "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
        "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
        "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI"
        "4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")}
    assert key_material.thumbprint(members) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_private_keys_are_sealed_at_rest(key_app):
    AuthActions(key_app.test_client()).signed_in("alice")
    active, standby = key_of_state(key_app, "active"), key_of_state(key_app, "standby")
    assert "PRIVATE KEY" not in active.private_key
    assert set(active.public_jwk) <= {"kty", "crv", "x", "y", "n", "e", "kid", "alg", "use"}
    sealing = TestingConfig.JWT_KEY_ENCRYPTION_KEY
    key_material.unseal(active.private_key, active.kid, sealing)  # opens with the right key
    with pytest.raises(InvalidTag):
        key_material.unseal(active.private_key, active.kid, sealing + "x")
    with pytest.raises(InvalidTag):  # a sealed key copied onto another row does not open
        key_material.unseal(active.private_key, standby.kid, sealing)


# --- attacks ---------------------------------------------------------------------------------


def signed_in_with_key(app: Flask):
    signed_in = AuthActions(app.test_client()).signed_in("alice")
    return signed_in, claims(signed_in.access_token), key_of_state(app, "active")


def test_an_hs256_token_signed_with_the_public_key_pem_is_refused(key_app, algorithm):
    signed_in, payload, active = signed_in_with_key(key_app)
    with key_app.app_context():
        public = key_material.verifying_key(active.public_jwk, algorithm)
    pem = public.public_bytes(serialization.Encoding.PEM,
                              serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    client = key_app.test_client()
    for secret in (pem, pem.strip()):
        confused = forge(payload, header={"alg": "HS256", "typ": "JWT", "kid": active.kid},
                         key=secret)
        assert_problem(me(client, confused), 401, "token_invalid")
        assert client.get("/api/reports", headers={"Authorization": f"Bearer {confused}"}
                          ).status_code == 401


def test_a_header_alg_that_is_not_its_keys_is_refused(es_app):
    signed_in, _, active = signed_in_with_key(es_app)
    signing_input, signature = signed_in.access_token.rsplit(".", 1)
    body = signing_input.split(".", 1)[1]
    client = es_app.test_client()
    for alg in ("EdDSA", "RS256", "ES384", "none", "HS256"):
        relabelled = f"{b64url_json({'alg': alg, 'typ': 'JWT', 'kid': active.kid})}.{body}"
        assert_problem(me(client, f"{relabelled}.{signature}"), 401, "token_invalid")


def test_a_kid_we_do_not_have_is_refused(es_app):
    signed_in, payload, _ = signed_in_with_key(es_app)
    private = key_material.generate_private_key("ES256")
    kid = key_material.thumbprint(key_material.public_members(private, "ES256"))
    own_key = pyjwt.encode(payload, private, algorithm="ES256", headers={"kid": kid})
    assert_problem(me(es_app.test_client(), own_key), 401, "token_invalid")


@pytest.mark.parametrize("kid", ["../../../etc/passwd", "x' OR '1'='1", "1; DROP TABLE users",
                                 "%00", "", "a" * 500])
def test_a_kid_with_path_or_sql_characters_is_refused_without_a_lookup(es_app, kid):
    signed_in, payload, active = signed_in_with_key(es_app)
    with es_app.app_context():
        private = key_material.unseal(active.private_key, active.kid,
                                      TestingConfig.JWT_KEY_ENCRYPTION_KEY)
    token = pyjwt.encode(payload, private, algorithm="ES256", headers={"kid": kid})
    with counting_key_reads(es_app) as reads:
        assert_problem(me(es_app.test_client(), token), 401, "token_invalid")
    assert reads == []
    assert me(es_app.test_client(), signed_in.access_token).status_code == 200


class counting_key_reads:
    """Collects every SELECT on signing_keys that the app's engine runs."""

    def __init__(self, app: Flask) -> None:
        with app.app_context():
            self.engine = db.engine
        self.reads: list[str] = []

    def _listen(self, _conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "signing_keys" in statement:
            self.reads.append(statement)

    def __enter__(self) -> list[str]:
        event.listen(self.engine, "before_cursor_execute", self._listen)
        return self.reads

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._listen)


def test_a_flood_of_unknown_kids_reads_the_table_at_most_once_per_interval(es_app):
    signed_in, payload, _ = signed_in_with_key(es_app)
    private = key_material.generate_private_key("ES256")
    client = es_app.test_client()
    with counting_key_reads(es_app) as reads:
        for _ in range(30):
            kid = uuid.uuid4().hex + uuid.uuid4().hex[:11]
            token = pyjwt.encode(payload, private, algorithm="ES256", headers={"kid": kid})
            assert_problem(me(client, token), 401, "token_invalid")
    assert len(reads) <= 1, reads


def test_a_revoked_keys_tokens_are_refused_and_a_deleted_keys_too(es_app):
    signed_in, _, active = signed_in_with_key(es_app)
    client = es_app.test_client()
    run(es_app, "keys", "revoke", active.kid)
    assert_problem(me(client, signed_in.access_token), 401, "token_invalid")
    assert_problem(bearer_refresh(client, signed_in.refresh_token), 401, "token_invalid")
    with es_app.app_context():
        db.session.execute(SigningKey.__table__.delete().where(SigningKey.kid == active.kid))
        db.session.commit()
    with later(seconds=KEY_SET_TTL + 1):
        assert_problem(me(client, signed_in.access_token), 401, "token_invalid")
    # Signing went on with the standby key: a new sign-in works.
    fresh = AuthActions(client).login("alice")
    assert me(client, fresh.access_token).status_code == 200
    assert header(fresh.access_token)["kid"] != active.kid


# --- rotation and revocation across instances ------------------------------------------------


def test_rotation_signs_nobody_out(key_app):
    client = key_app.test_client()
    signed_in = AuthActions(client).signed_in("alice")
    old_kid = header(signed_in.access_token)["kid"]
    run(key_app, "keys", "rotate", "--force")
    assert me(client, signed_in.access_token).status_code == 200
    refreshed = bearer_refresh(client, signed_in.refresh_token)
    assert refreshed.status_code == 200, refreshed.json
    new_kid = header(refreshed.json["access_token"])["kid"]
    assert new_kid != old_kid
    assert key_of_state(key_app, "active").kid == new_kid
    assert me(client, refreshed.json["access_token"]).status_code == 200


def test_another_instance_follows_a_rotation_and_a_revocation_within_a_minute(
        database_url, es_app):
    other = make_app(database_url, JWT_ALGORITHM="ES256")
    one, two = es_app.test_client(), other.test_client()
    signed_in = AuthActions(one).signed_in("alice")
    assert me(two, signed_in.access_token).status_code == 200

    run(es_app, "keys", "rotate", "--force")
    rotated = AuthActions(one).login("alice")
    assert me(two, rotated.access_token).status_code == 200  # the standby key was known

    run(es_app, "keys", "revoke", header(rotated.access_token)["kid"])
    assert_problem(me(one, rotated.access_token), 401, "token_invalid")
    assert me(two, rotated.access_token).status_code == 200  # still cached there
    with later(seconds=KEY_SET_TTL + 1):
        assert_problem(me(two, rotated.access_token), 401, "token_invalid")
        assert me(two, signed_in.access_token).status_code == 200  # retired, not revoked
        after = AuthActions(two).login("alice")
        assert me(one, after.access_token).status_code == 200


# --- switching algorithms and the HS256 secrets ----------------------------------------------


def test_switching_from_hs256_to_an_asymmetric_algorithm_signs_nobody_out(database_url,
                                                                           key_app, algorithm):
    hs_app = make_app(database_url)
    signed_in = AuthActions(hs_app.test_client()).signed_in("alice")
    assert header(signed_in.access_token)["alg"] == "HS256"
    client = key_app.test_client()
    assert me(client, signed_in.access_token).status_code == 200
    refreshed = bearer_refresh(client, signed_in.refresh_token)
    assert refreshed.status_code == 200, refreshed.json
    assert header(refreshed.json["access_token"])["alg"] == algorithm
    # ... and back: the stored keys still verify under HS256, once its cache has expired.
    with later(seconds=KEY_SET_TTL + 1):
        assert me(hs_app.test_client(), refreshed.json["access_token"]).status_code == 200


def test_a_previous_hs256_secret_still_verifies_but_never_signs(database_url):
    before = make_app(database_url, JWT_SECRET_KEY=OLD_SECRET)
    signed_in = AuthActions(before.test_client()).signed_in("alice")
    after = make_app(database_url, JWT_PREVIOUS_SECRET_KEYS=[OLD_SECRET])
    forgotten = make_app(database_url)
    try:
        client = after.test_client()
        assert me(client, signed_in.access_token).status_code == 200
        refreshed = bearer_refresh(client, signed_in.refresh_token)
        assert header(refreshed.json["access_token"])["kid"] == hmac_kid(
            TestingConfig.JWT_SECRET_KEY)
        with after.app_context():
            assert key_set().signing.kid != hmac_kid(OLD_SECRET)
        assert_problem(me(forgotten.test_client(), signed_in.access_token), 401,
                       "token_invalid")
    finally:
        delete_all_rows(after)
