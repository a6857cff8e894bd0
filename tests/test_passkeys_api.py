"""Passkeys through the API (SPEC §11) with a software authenticator: registration, sign-in
without a username, the second factor, re-authentication, and attacks on each check."""

from datetime import UTC, datetime

import pytest
import time_machine
from flask import Flask
from sqlalchemy import func, select
from support.api import PASSWORD, bearer, login
from support.mfa import enrol, password_step, second_step
from support.problems import assert_problem
from support.tokens import claims
from support.webauthn import SoftAuthenticator, b64url, flip_signature_byte, unb64url

from authapp.core.extensions import db
from authapp.db.models import AuthEvent, Passkey, PasskeyChallenge

START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC).timestamp()
SIGN_IN_AMR = ["hwk", "user", "mfa"]


def at(seconds: float) -> time_machine.travel:
    return time_machine.travel(START + seconds, tick=False)


def add_passkey(client, token: str, authenticator: SoftAuthenticator, **fields):
    options = client.post("/api/account/passkeys/options", headers=bearer(token))
    assert options.status_code == 200, options.json
    credential = authenticator.create(options.json["options"])
    return client.post("/api/account/passkeys", headers=bearer(token), json={
        "challenge_id": options.json["challenge_id"], "credential": credential, **fields})


def sign_in_options(client) -> dict:
    answer = client.post("/api/auth/passkey/options")
    assert answer.status_code == 200, answer.json
    return answer.json


def passkey_sign_in(client, ceremony: dict, credential: dict, **fields):
    return client.post("/api/auth/passkey", json={
        "challenge_id": ceremony["challenge_id"], "credential": credential, **fields})


def events(app: Flask, event_type: str) -> list[AuthEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuthEvent).where(
            AuthEvent.event_type == event_type)))


@pytest.fixture
def key() -> SoftAuthenticator:
    return SoftAuthenticator()


@pytest.fixture
def alice(client, auth, key):
    """alice, signed in, with one passkey."""
    signed_in = auth.signed_in("alice")
    added = add_passkey(client, signed_in.access_token, key, name="Laptop")
    assert added.status_code == 201, added.json
    return signed_in


def test_registration_options_ask_for_a_discoverable_verified_key(client, alice, key):
    answer = client.post("/api/account/passkeys/options", headers=alice.headers)
    options = answer.json["options"]
    assert len(unb64url(options["challenge"])) == 32
    assert options["rp"] == {"id": "localhost", "name": "authapp"}
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["attestation"] == "none"
    assert [entry["id"] for entry in options["excludeCredentials"]] == [
        b64url(key.credentials[0].id)]
    assert unb64url(options["user"]["id"]) == key.credentials[0].user_handle  # one handle
    assert options["user"]["name"] == "alice"


def test_a_registered_passkey_is_listed_and_counted(client, alice):
    listed = client.get("/api/account/passkeys", headers=alice.headers).json["passkeys"]
    assert [(row["name"], row["last_used_at"]) for row in listed] == [("Laptop", None)]
    assert client.get("/api/account/mfa", headers=alice.headers).json["passkeys"] == 1


def test_registration_needs_recent_authentication(client, auth, key):
    with at(0):
        signed_in = auth.signed_in("alice")
        assert add_passkey(client, signed_in.access_token, key).status_code == 201
    with at(301):
        refused = client.post("/api/account/passkeys/options", headers=signed_in.headers)
    body = assert_problem(refused, 401, "reauthentication_required")
    assert body["methods"] == ["password", "passkey"]


def test_a_registration_answer_is_checked(client, auth, key):
    signed_in = auth.signed_in("alice")
    options = client.post("/api/account/passkeys/options", headers=signed_in.headers).json
    wrong_origin = key.create(options["options"], origin="https://evil.example")
    answer = client.post("/api/account/passkeys", headers=signed_in.headers, json={
        "challenge_id": options["challenge_id"], "credential": wrong_origin})
    assert_problem(answer, 422, "validation_error")
    retried = client.post("/api/account/passkeys", headers=signed_in.headers, json={
        "challenge_id": options["challenge_id"], "credential": key.create(options["options"])})
    assert "challenge_id" in assert_problem(retried, 422, "validation_error")["errors"]


def test_sign_in_without_a_username(app, client, alice, key):
    ceremony = sign_in_options(client)
    assert ceremony["options"]["allowCredentials"] == []
    assert ceremony["options"]["userVerification"] == "required"
    answer = passkey_sign_in(client, ceremony, key.get(ceremony["options"]),
                             refresh_in_body=True)
    assert answer.status_code == 200, answer.json
    assert answer.json["user"]["username"] == "alice"
    assert claims(answer.json["access_token"])["amr"] == SIGN_IN_AMR
    assert answer.json["refresh_token"] and not answer.headers.getlist("Set-Cookie")
    assert [e.details["action"] for e in events(app, "passkey_used")] == ["sign_in"]
    listed = client.get("/api/account/passkeys", headers=alice.headers).json["passkeys"]
    assert listed[0]["last_used_at"] is not None


def test_sign_in_in_cookie_mode_sets_the_refresh_cookies(client, alice, key):
    ceremony = sign_in_options(client)
    answer = passkey_sign_in(client, ceremony, key.get(ceremony["options"]))
    assert answer.status_code == 200
    assert "refresh_token" not in answer.json
    assert client.get_cookie("refresh_token_cookie") is not None


def test_a_replayed_assertion_is_refused(client, alice, key):
    ceremony = sign_in_options(client)
    assertion = key.get(ceremony["options"])
    assert passkey_sign_in(client, ceremony, assertion).status_code == 200
    assert_problem(passkey_sign_in(client, ceremony, assertion), 401, "invalid_credentials")
    fresh = sign_in_options(client)  # a new challenge, the old assertion
    assert_problem(passkey_sign_in(client, fresh, assertion), 401, "invalid_credentials")


@pytest.mark.parametrize("tamper", [
    {"origin": "https://evil.example"},
    {"origin": "http://localhost:8080"},
    {"rp_id": "evil.example"},
    {"user_verified": False},
])
def test_an_assertion_for_another_site_or_without_verification_is_refused(client, alice, key,
                                                                          tamper):
    ceremony = sign_in_options(client)
    assertion = key.get(ceremony["options"], **tamper)
    assert_problem(passkey_sign_in(client, ceremony, assertion), 401, "invalid_credentials")


def test_a_flipped_signature_byte_is_refused(app, client, alice, key):
    ceremony = sign_in_options(client)
    assertion = flip_signature_byte(key.get(ceremony["options"]))
    assert_problem(passkey_sign_in(client, ceremony, assertion), 401, "invalid_credentials")
    assert [e.details["reason"] for e in events(app, "passkey_failed")] == ["invalid_assertion"]


def test_a_counter_that_goes_backwards_is_refused_and_audited(app, client, alice, key):
    for count in (5, 6):
        ceremony = sign_in_options(client)
        assertion = key.get(ceremony["options"], sign_count=count)
        assert passkey_sign_in(client, ceremony, assertion).status_code == 200
    for count in (6, 3):
        ceremony = sign_in_options(client)
        assertion = key.get(ceremony["options"], sign_count=count)
        assert_problem(passkey_sign_in(client, ceremony, assertion), 401, "invalid_credentials")
    clones = events(app, "passkey_clone_suspected")
    assert [(e.details["stored_count"], e.details["presented_count"]) for e in clones] == [
        (6, 6), (6, 3)]
    assert all(e.user_id == alice.user["id"] for e in clones)


def test_a_counter_that_stays_at_zero_is_accepted(client, auth):
    synced = SoftAuthenticator()
    signed_in = auth.signed_in("carol")
    options = client.post("/api/account/passkeys/options", headers=signed_in.headers).json
    client.post("/api/account/passkeys", headers=signed_in.headers, json={
        "challenge_id": options["challenge_id"],
        "credential": synced.create(options["options"], counts=False)})
    for _ in range(3):
        ceremony = sign_in_options(client)
        answer = passkey_sign_in(client, ceremony, synced.get(ceremony["options"]))
        assert answer.status_code == 200, answer.json


def test_a_mismatched_user_handle_signs_nobody_in(client, auth, alice, key):
    bob = auth.signed_in("bob")
    bob_key = SoftAuthenticator()
    assert add_passkey(client, bob.access_token, bob_key).status_code == 201
    ceremony = sign_in_options(client)
    # alice's credential claiming bob's handle: refused, never bob's account
    assertion = key.get(ceremony["options"],
                        user_handle=bob_key.credentials[0].user_handle)
    assert_problem(passkey_sign_in(client, ceremony, assertion), 401, "invalid_credentials")
    ceremony = sign_in_options(client)
    no_handle = key.get(ceremony["options"])
    no_handle["response"]["userHandle"] = None
    assert_problem(passkey_sign_in(client, ceremony, no_handle), 401, "invalid_credentials")


def test_an_unknown_credential_is_refused(client, alice):
    stranger = SoftAuthenticator()
    ceremony = sign_in_options(client)
    stranger.create({"rp": {"id": "localhost"}, "user": {"id": "AAAA"},
                     "challenge": ceremony["options"]["challenge"]})
    assertion = stranger.get(ceremony["options"])
    assert_problem(passkey_sign_in(client, ceremony, assertion), 401, "invalid_credentials")


def test_an_expired_challenge_is_refused(client, auth, key):
    with at(0):
        signed_in = auth.signed_in("alice")
        assert add_passkey(client, signed_in.access_token, key).status_code == 201
        ceremony = sign_in_options(client)
    with at(301):
        answer = passkey_sign_in(client, ceremony, key.get(ceremony["options"]))
    assert_problem(answer, 401, "invalid_credentials")


def test_a_challenge_of_another_purpose_is_refused(client, alice, key):
    registration = client.post("/api/account/passkeys/options", headers=alice.headers).json
    assertion = key.get({**registration["options"], "rpId": "localhost"})
    answer = passkey_sign_in(client, registration, assertion)
    assert_problem(answer, 401, "invalid_credentials")
    reauth = client.post("/api/auth/reauthenticate/passkey/options", headers=alice.headers).json
    assert_problem(passkey_sign_in(client, reauth, key.get(reauth["options"])), 401,
                   "invalid_credentials")


@pytest.mark.parametrize("credential", [
    {}, {"id": 1}, {"id": "x", "rawId": "x", "type": "public-key"},
    {"id": "!!", "rawId": "!!", "type": "public-key", "response": {
        "clientDataJSON": "!!", "authenticatorData": "!!", "signature": "!!"}},
    {"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {
        "clientDataJSON": "e30", "authenticatorData": "AA", "signature": "AA",
        "userHandle": 5}},
])
def test_malformed_credentials_are_refused_without_a_server_error(client, alice, credential):
    ceremony = sign_in_options(client)
    assert_problem(passkey_sign_in(client, ceremony, credential), 401, "invalid_credentials")
    options = client.post("/api/account/passkeys/options", headers=alice.headers).json
    answer = client.post("/api/account/passkeys", headers=alice.headers, json={
        "challenge_id": options["challenge_id"], "credential": credential})
    assert_problem(answer, 422, "validation_error")


def test_rename_and_remove_only_the_accounts_own_passkeys(app, client, auth, alice):
    own = client.get("/api/account/passkeys", headers=alice.headers).json["passkeys"][0]
    renamed = client.patch(f"/api/account/passkeys/{own['id']}", headers=alice.headers,
                           json={"name": "  <b>Work</b>   phone "})
    assert renamed.status_code == 200 and renamed.json["passkey"]["name"] == "<b>Work</b> phone"
    too_long = client.patch(f"/api/account/passkeys/{own['id']}", headers=alice.headers,
                            json={"name": "x" * 65})
    assert_problem(too_long, 422, "validation_error")
    bob = auth.signed_in("bob")
    assert_problem(client.delete(f"/api/account/passkeys/{own['id']}", headers=bob.headers),
                   404, "not_found")
    assert_problem(client.patch(f"/api/account/passkeys/{own['id']}", headers=bob.headers,
                                json={"name": "mine"}), 404, "not_found")
    assert client.delete(f"/api/account/passkeys/{own['id']}",
                         headers=alice.headers).status_code == 204
    assert client.get("/api/account/passkeys", headers=alice.headers).json["passkeys"] == []
    assert [e.event_type for e in events(app, "passkey_renamed") + events(
        app, "passkey_removed")] == ["passkey_renamed", "passkey_removed"]


def test_a_passkey_alone_keeps_the_one_step_password_login(client, alice):
    assert login(client, "alice", PASSWORD).status_code == 200


def test_a_passkey_is_a_second_factor(client, alice, key):
    enrol(client, alice.access_token, datetime.now(UTC).timestamp())
    refused = login(client, "alice", PASSWORD)
    assert refused.json["mfa_methods"] == ["totp", "recovery_code", "passkey"]
    mfa_token = refused.json["mfa_token"]
    options = client.post("/api/auth/mfa/passkey/options", json={"mfa_token": mfa_token}).json
    assert [entry["id"] for entry in options["options"]["allowCredentials"]] == [
        b64url(key.credentials[0].id)]
    answer = second_step(client, mfa_token, challenge_id=options["challenge_id"],
                         credential=key.get(options["options"]), refresh_in_body=True)
    assert answer.status_code == 200, answer.json
    assert claims(answer.json["access_token"])["amr"] == ["pwd", *SIGN_IN_AMR]


def test_a_second_factor_challenge_is_bound_to_its_sign_in(client, auth, alice, key):
    now = datetime.now(UTC).timestamp()
    enrol(client, alice.access_token, now)
    first, second = password_step(client), password_step(client)
    options = client.post("/api/auth/mfa/passkey/options", json={"mfa_token": first}).json
    answer = second_step(client, second, challenge_id=options["challenge_id"],
                         credential=key.get(options["options"]))
    assert_problem(answer, 401, "mfa_invalid")


def test_another_accounts_passkey_is_no_second_factor(client, auth, alice, key):
    enrol(client, alice.access_token, datetime.now(UTC).timestamp())
    bob = auth.signed_in("bob")
    bob_key = SoftAuthenticator()
    assert add_passkey(client, bob.access_token, bob_key).status_code == 201
    mfa_token = password_step(client)
    options = client.post("/api/auth/mfa/passkey/options", json={"mfa_token": mfa_token}).json
    bobs = bob_key.get({**options["options"], "allowCredentials": []})
    answer = second_step(client, mfa_token, challenge_id=options["challenge_id"],
                         credential=bobs)
    assert_problem(answer, 401, "mfa_invalid")


def test_second_factor_options_need_a_live_sign_in(client):
    answer = client.post("/api/auth/mfa/passkey/options", json={"mfa_token": "nope"})
    assert_problem(answer, 401, "mfa_invalid")


def test_reauthentication_with_a_passkey(client, auth, key):
    with at(0):
        signed_in = auth.signed_in("alice")
        assert add_passkey(client, signed_in.access_token, key).status_code == 201
    with at(600):
        options = client.post("/api/auth/reauthenticate/passkey/options",
                              headers=signed_in.headers).json
        assert len(options["options"]["allowCredentials"]) == 1
        answer = client.post("/api/auth/reauthenticate", headers=signed_in.headers, json={
            "challenge_id": options["challenge_id"], "credential": key.get(options["options"])})
        assert answer.status_code == 200, answer.json
        assert claims(answer.json["access_token"])["auth_time"] == int(START + 600)
        again = client.post("/api/auth/reauthenticate", headers=signed_in.headers, json={
            "challenge_id": options["challenge_id"], "credential": key.get(options["options"])})
    assert_problem(again, 401, "invalid_credentials")


def test_another_accounts_reauthentication_challenge_is_refused(client, auth, alice, key):
    bob = auth.signed_in("bob")
    bob_key = SoftAuthenticator()
    assert add_passkey(client, bob.access_token, bob_key).status_code == 201
    alices = client.post("/api/auth/reauthenticate/passkey/options", headers=alice.headers).json
    answer = client.post("/api/auth/reauthenticate", headers=bob.headers, json={
        "challenge_id": alices["challenge_id"],
        "credential": bob_key.get({**alices["options"], "allowCredentials": []})})
    assert_problem(answer, 401, "invalid_credentials")


def test_deleting_the_account_deletes_its_passkeys(app, client, alice):
    answer = client.delete("/api/account", headers=alice.headers,
                           json={"password": PASSWORD})
    assert answer.status_code in (200, 204), answer.json
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Passkey)) == 0
        assert db.session.scalar(select(func.count()).select_from(PasskeyChallenge)) == 0
