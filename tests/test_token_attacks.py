"""Forged and hostile tokens against GET /api/me and POST /api/auth/refresh (SPEC §3, §6, §7).

Every attack must answer 401 with the contract's code and an RFC 6750
``WWW-Authenticate: Bearer realm="authapp"...`` challenge, never a 500.  Tokens
are forged by hand (header serialised exactly as given, HMAC by hand) so that
headers PyJWT would refuse to produce can be tested too; a control test shows
that an unchanged re-signature with the real key is accepted, so every
rejection below is due to the one thing each attack changes.
"""

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from support.problems import assert_problem
from support.tokens import KEY, STANDARD_HEADER, b64url, b64url_json, claims, forge

# --- forging -------------------------------------------------------------------------------


def unsigned(payload: dict[str, Any], alg: str) -> str:
    return f"{b64url_json({'alg': alg, 'typ': 'JWT'})}.{b64url_json(payload)}."


def without(payload: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != name}


# --- the two endpoints under attack --------------------------------------------------------


@dataclass
class Target:
    """An endpoint and the kind of token it takes."""

    name: str
    method: str
    path: str
    kind: str  # "access" or "refresh"

    def call(self, client: FlaskClient, authorization: str | None = None, *,
             path: str | None = None, **kwargs: Any):
        headers = {"Authorization": authorization} if authorization is not None else {}
        return client.open(path or self.path, method=self.method, headers=headers, **kwargs)

    def with_token(self, client: FlaskClient, token: str):
        return self.call(client, f"Bearer {token}")


ME = Target("me", "GET", "/api/me", "access")
REFRESH = Target("refresh", "POST", "/api/auth/refresh", "refresh")


@dataclass
class Victim:
    access_token: str
    refresh_token: str
    user_id: int

    def token(self, kind: str) -> str:
        return self.access_token if kind == "access" else self.refresh_token

    def claims(self, kind: str) -> dict[str, Any]:
        return claims(self.token(kind))


@pytest.fixture(params=[ME, REFRESH], ids=lambda t: t.name)
def target(request: pytest.FixtureRequest) -> Target:
    return request.param


def sign_in(auth, username: str) -> Victim:
    login = auth.signed_in(username, bearer=True)  # bearer mode: no cookies in the jar
    return Victim(login.access_token, login.refresh_token, login.user["id"])


@pytest.fixture
def alice(auth) -> Victim:
    return sign_in(auth, "alice")


@pytest.fixture
def bob(auth) -> Victim:
    return sign_in(auth, "bob")


# --- control -------------------------------------------------------------------------------


def test_unchanged_claims_re_signed_with_the_real_key_are_accepted(client, alice, target):
    forged = forge(alice.claims(target.kind))
    response = target.with_token(client, forged)
    assert response.status_code == 200, response.json


# --- signatures and algorithms -------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_unsigned_alg_none_token_is_invalid(client, alice, target, alg):
    response = target.with_token(client, unsigned(alice.claims(target.kind), alg))
    assert_problem(response, 401, "token_invalid")


def test_token_signed_with_a_wrong_key_is_invalid(client, alice, target):
    forged = forge(alice.claims(target.kind), key="not-the-key-" + "x" * 40)
    assert_problem(target.with_token(client, forged), 401, "token_invalid")


def test_tampered_payload_keeping_the_signature_is_invalid(client, alice, bob, target):
    header, _payload, signature = alice.token(target.kind).split(".")
    tampered = {**alice.claims(target.kind), "sub": str(bob.user_id)}
    forged = f"{header}.{b64url_json(tampered)}.{signature}"
    assert_problem(target.with_token(client, forged), 401, "token_invalid")


def test_a_signature_spelled_another_way_is_invalid(client, alice, target):
    """A 32-byte HMAC takes 43 base64url characters, whose last carries 2 unused bits:
    flipping them spells the same bytes. Any change to the token must be refused."""
    header, payload, signature = alice.token(target.kind).split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(signature[-1])
    respelled = f"{header}.{payload}.{signature[:-1]}{alphabet[last ^ 0b1]}"
    assert respelled != alice.token(target.kind)
    assert_problem(target.with_token(client, respelled), 401, "token_invalid")


def test_an_audience_list_is_not_what_we_issue(client, alice, target):
    forged = forge({**alice.claims(target.kind), "aud": ["authapp"]})
    assert_problem(target.with_token(client, forged), 401, "token_invalid")


@pytest.mark.parametrize(("alg", "digest"), [("HS512", hashlib.sha512),
                                             ("HS384", hashlib.sha384),
                                             ("RS256", hashlib.sha256)])
def test_algorithm_outside_the_allowlist_is_invalid_even_with_the_right_secret(
        client, alice, target, alg, digest):
    forged = forge(alice.claims(target.kind), header={"alg": alg, "typ": "JWT"}, digest=digest)
    assert_problem(target.with_token(client, forged), 401, "token_invalid")


# --- issuer and audience -------------------------------------------------------------------


CLAIM_EDITS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "missing_iss": lambda c: without(c, "iss"),
    "wrong_iss": lambda c: {**c, "iss": "someone-else"},
    "missing_aud": lambda c: without(c, "aud"),
    "wrong_aud": lambda c: {**c, "aud": "someone-else"},
    "aud_list_without_ours": lambda c: {**c, "aud": ["someone-else", "another"]},
}


@pytest.mark.parametrize("edit", CLAIM_EDITS.values(), ids=CLAIM_EDITS.keys())
def test_issuer_and_audience_are_enforced(client, alice, target, edit):
    forged = forge(edit(alice.claims(target.kind)))
    assert_problem(target.with_token(client, forged), 401, "token_invalid")


# --- header parameters that would let a token choose its key -------------------------------


HOSTILE_HEADERS = {
    "jku": {"jku": "https://attacker.example/jwks.json"},
    "x5u": {"x5u": "https://attacker.example/cert.pem"},
    "jwk": {"jwk": {"kty": "oct", "k": b64url(KEY.encode())}},
    "x5c": {"x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]},
    "crit": {"crit": ["exp"], "exp": 0},
    "crit_unknown": {"crit": ["urn:example:unknown"], "urn:example:unknown": True},
}


@pytest.mark.parametrize("extra", HOSTILE_HEADERS.values(), ids=HOSTILE_HEADERS.keys())
def test_key_choosing_and_critical_headers_are_rejected(client, alice, target, extra):
    forged = forge(alice.claims(target.kind), header={**STANDARD_HEADER, **extra})
    assert_problem(target.with_token(client, forged), 401, "token_invalid")


# --- token types ---------------------------------------------------------------------------


def test_refresh_token_used_as_an_access_token_is_invalid(client, alice):
    assert_problem(ME.with_token(client, alice.refresh_token), 401, "token_invalid")


def test_access_token_used_as_a_refresh_token_is_invalid(client, alice):
    assert_problem(REFRESH.with_token(client, alice.access_token), 401, "token_invalid")


# --- where tokens may come from ------------------------------------------------------------


@pytest.mark.parametrize("param", ["jwt", "access_token", "token", "refresh_token"])
def test_token_in_the_query_string_is_ignored(client, alice, target, param):
    token = alice.token(target.kind)
    response = target.call(client, path=f"{target.path}?{param}={token}")
    assert_problem(response, 401, "token_missing")


def test_refresh_token_in_the_json_body_is_ignored(client, alice):
    response = REFRESH.call(client, json={"refresh_token": alice.refresh_token})
    assert_problem(response, 401, "token_missing")


# --- garbage -------------------------------------------------------------------------------


GARBAGE = {
    "bearer_x": "Bearer x",
    "bearer_three_parts": "Bearer a.b.c",
    "bearer_alone": "Bearer",
    "bearer_two_words": "Bearer a.b.c d.e.f",
    "basic": "Basic abc",
    "bearer_4kb_random": "Bearer " + secrets.token_urlsafe(3072),
    "raw_4kb_random": secrets.token_urlsafe(3072),
    "bearer_4kb_dotted": "Bearer " + ".".join(secrets.token_urlsafe(1024) for _ in range(3)),
    "bearer_bad_base64": "Bearer !!!.@@@.###",
    "bearer_json_not_object": f"Bearer {b64url(b'[]')}.{b64url(b'42')}.{b64url(b'sig')}",
    "empty": "",
}


@pytest.mark.parametrize("authorization", GARBAGE.values(), ids=GARBAGE.keys())
def test_garbage_authorization_headers_are_401_not_500(client, alice, target, authorization):
    response = target.call(client, authorization)
    assert_problem(response, 401, {"token_missing", "token_invalid"})


def test_no_authorization_at_all_is_token_missing(client, target):
    assert_problem(target.call(client), 401, "token_missing")


# --- claims that point at the wrong place --------------------------------------------------


def test_signed_token_with_another_users_session_is_rejected(client, alice, bob, target):
    forged = forge({**alice.claims(target.kind), "sid": bob.claims(target.kind)["sid"]})
    response = target.with_token(client, forged)
    assert_problem(response, 401, {"token_invalid", "token_revoked", "token_reused"})


def test_signed_token_without_sid_is_401_not_500(client, alice, target):
    forged = forge(without(alice.claims(target.kind), "sid"))
    assert_problem(target.with_token(client, forged), 401, "token_invalid")


@pytest.mark.parametrize("sid", [None, 42, ["x"], {"id": "x"}, "", "nonexistent-session",
                                 "nul\x00inside"])
def test_signed_token_with_a_malformed_sid_is_401_not_500(client, alice, target, sid):
    forged = forge({**alice.claims(target.kind), "sid": sid})
    response = target.with_token(client, forged)
    assert_problem(response, 401, {"token_invalid", "token_revoked"})


def test_a_sid_with_a_nul_suffix_does_not_reach_its_session(client, alice, target):
    """A C-string driver would read only up to the NUL and find the real session."""
    claims = alice.claims(target.kind)
    forged = forge({**claims, "sid": claims["sid"] + "\x00x"})
    assert_problem(target.with_token(client, forged), 401, {"token_invalid", "token_revoked"})


@pytest.mark.parametrize("sub", [None, 42, "not-a-number", "999999999", ["1"], "0", "01", " 1",
                                 "\u00b2", "9" * 40, "2147483648", "99999999999"])
def test_signed_token_with_a_malformed_sub_is_401_not_500(client, alice, target, sub):
    forged = forge({**alice.claims(target.kind), "sub": sub})
    response = target.with_token(client, forged)
    assert_problem(response, 401, {"token_invalid", "token_revoked"})


def test_signed_token_without_jti_is_401_not_500(client, alice, target):
    forged = forge(without(alice.claims(target.kind), "jti"))
    assert_problem(target.with_token(client, forged), 401, {"token_invalid", "token_revoked"})


def test_signed_token_with_an_unknown_jti_for_refresh_is_rejected(client, alice):
    forged = forge({**alice.claims("refresh"), "jti": str(uuid.uuid4())})
    assert REFRESH.with_token(client, forged).status_code == 401


# --- time ----------------------------------------------------------------------------------


def test_expired_access_token_is_token_expired(auth, client):
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        victim = sign_in(auth, "alice")
        clock.shift(timedelta(minutes=16))
        assert_problem(ME.with_token(client, victim.access_token), 401, "token_expired")


def test_expired_refresh_token_is_token_expired(auth, client):
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        victim = sign_in(auth, "alice")
        clock.shift(timedelta(days=14, minutes=1))
        assert_problem(REFRESH.with_token(client, victim.refresh_token), 401, "token_expired")


def test_forged_token_with_a_past_exp_is_token_expired(client, alice, target):
    now = int(datetime.now(UTC).timestamp())
    forged = forge({**alice.claims(target.kind), "iat": now - 4200, "nbf": now - 4200,
                    "auth_time": now - 4200, "exp": now - 3600})
    assert_problem(target.with_token(client, forged), 401, "token_expired")


def test_token_not_yet_valid_is_invalid(client, alice, target):
    nbf = int(datetime.now(UTC).timestamp()) + 3600
    forged = forge({**alice.claims(target.kind), "nbf": nbf})
    assert_problem(target.with_token(client, forged), 401, "token_invalid")


def test_token_issued_in_the_future_is_invalid(client, alice, target):
    ahead = 3600
    shifted = {name: value + ahead if name in ("iat", "nbf", "exp", "auth_time") else value
               for name, value in alice.claims(target.kind).items()}
    assert_problem(target.with_token(client, forge(shifted)), 401, "token_invalid")


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
def test_non_numeric_time_claims_are_invalid(client, alice, target, claim):
    forged = forge({**alice.claims(target.kind), claim: "tomorrow"})
    assert_problem(target.with_token(client, forged), 401, "token_invalid")


# --- sessions of other users ---------------------------------------------------------------


def test_deleting_another_users_session_is_not_found(client, alice, bob):
    response = client.delete(f"/api/sessions/{bob.claims('access')['sid']}",
                             headers={"Authorization": f"Bearer {alice.access_token}"})
    assert response.status_code == 404
    assert response.json["code"] == "not_found"
    assert ME.with_token(client, bob.access_token).status_code == 200
