"""Accounts through the JSON API: register, login, /api/me, password change (SPEC §4, §6, §7)."""

from datetime import UTC, datetime, timedelta

import jwt
import psycopg
import pytest
from sqlalchemy import select
from support.api import PASSWORD, login, register
from support.apps import make_config
from support.problems import assert_problem

from authapp import create_app
from authapp.accounts import users
from authapp.core.extensions import db
from authapp.db.models import User

NEW_PASSWORD = "purple monkey dishwasher 1987"
TWO_WEEKS = 1_209_600
EMOJI = "😀😃😄😁😆😅😂🤣😊😇🙂🙃😉😌😍🥰😘😗😙😚😋😛😝😜🤪🤨🧐🤓😎🥳"


def change_password(client, headers, current=PASSWORD, new=NEW_PASSWORD):
    return client.post("/api/auth/password", headers=headers,
                       json={"current_password": current, "new_password": new})


def set_cookies(response):
    """Set-Cookie headers as {name: (value, {attribute: value or True})}."""
    cookies = {}
    for header in response.headers.getlist("Set-Cookie"):
        name_value, *attributes = [part.strip() for part in header.split(";")]
        name, _, value = name_value.partition("=")
        parsed = {}
        for attribute in attributes:
            key, has_value, attribute_value = attribute.partition("=")
            parsed[key.lower()] = attribute_value if has_value else True
        cookies[name] = (value, parsed)
    return cookies


def stored_hash(app, username="alice"):
    with app.app_context():
        return db.session.scalar(select(User.password_hash).where(User.username == username))


# --- register ---------------------------------------------------------------------------


def test_register_answers_201_with_the_user(client):
    response = register(client)
    assert response.status_code == 201
    assert response.mimetype == "application/json"
    assert set(response.json) == {"user"}
    user = response.json["user"]
    assert set(user) == {"id", "username", "created_at", "email", "email_verified"}
    assert isinstance(user["id"], int)
    assert user["username"] == "alice"


def test_register_created_at_is_iso_8601_utc_with_an_offset(client):
    created_at = register(client).json["user"]["created_at"]
    moment = datetime.fromisoformat(created_at)
    assert moment.tzinfo is not None
    assert moment.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - moment) < timedelta(minutes=1)


@pytest.mark.parametrize("same_name", ["alice", "ALICE", "Alice", "ａｌｉｃｅ"])
def test_username_taken_without_regard_to_case_or_width(client, same_name):
    register(client, "alice")
    response = register(client, same_name)
    assert_problem(response, 409, "username_taken")


def test_decomposed_and_precomposed_forms_are_one_name(client):
    assert register(client, "Zo\u00eb").status_code == 201
    assert_problem(register(client, "Zoe\u0308"), 409, "username_taken")


@pytest.mark.parametrize("username", ["Zoë", "名前abc", "Ωμέγα", "josé.garcía", "a_b-c.d", "abc",
                                      "a" * 32, "user2024"])
def test_register_accepts_unicode_letters_digits_and_allowed_punctuation(client, username):
    response = register(client, username)
    assert response.status_code == 201, response.json
    assert response.json["user"]["username"] == username


@pytest.mark.parametrize("username", [
    "", "ab", "a" * 33, "   ", "al ice", "alice!", "al@ice", "a/b", "<script>",
    "alice😀", "alice\u200b", "ali;ce",
])
def test_register_rejects_bad_usernames_with_errors_username(client, username):
    response = register(client, username)
    assert_problem(response, 422, "validation_error")
    assert response.json["errors"]["username"]


def test_register_rejects_a_password_under_8_characters(client):
    response = register(client, password="Xk9#mq2")
    assert_problem(response, 422, "validation_error")
    assert response.json["errors"]["password"]


@pytest.mark.parametrize("password", [
    ("correct horse battery staple " * 3)[:73],
    EMOJI,
], ids=["73-ascii-bytes", "30-emoji-120-bytes"])
def test_register_rejects_a_password_over_72_bytes_and_says_so(client, password):
    assert len(password.encode("utf-8")) > 72
    response = register(client, password=password)
    assert_problem(response, 422, "validation_error")
    assert any("72" in message for message in response.json["errors"]["password"])


def test_emoji_password_is_under_72_characters_but_over_72_bytes():
    assert len(EMOJI) == 30
    assert len(EMOJI.encode("utf-8")) == 120


def test_register_accepts_a_password_of_exactly_72_bytes(client):
    password = ("correct horse battery staple " * 3)[:72]
    assert register(client, password=password).status_code == 201
    assert login(client, password=password).status_code == 200


@pytest.mark.parametrize("password", ["password", "password1", "qwertyuiop", "iloveyou2"])
def test_register_rejects_common_passwords(client, password):
    response = register(client, password=password)
    assert_problem(response, 422, "validation_error")
    assert response.json["errors"]["password"]
    assert login(client, password=password).status_code == 401


@pytest.mark.parametrize("password", ["Kestrel.Moon42", "kestrel.moon42", "KESTREL.MOON42"])
def test_register_rejects_a_password_equal_to_the_username(client, password):
    response = register(client, "Kestrel.Moon42", password)
    assert_problem(response, 422, "validation_error")
    assert response.json["errors"]["password"]


def test_register_ignores_unknown_fields(client, auth):
    response = register(client, is_admin=True, role="admin", id=424242,
                        created_at="2000-01-01T00:00:00+00:00")
    assert response.status_code == 201
    user = response.json["user"]
    assert set(user) == {"id", "username", "created_at", "email", "email_verified"}
    assert user["id"] != 424242
    assert not user["created_at"].startswith("2000-")
    me = client.get("/api/me", headers=auth.login().headers)
    assert me.json == {**user, "roles": []}  # role="admin" in the body granted nothing


def test_password_is_never_echoed_in_any_response(client):
    password = "Zebra-Quokka-Lantern-8812"
    weak = "zzzzzzzzzz"
    responses = [
        register(client, password=password),
        register(client, password=password),  # 409
        register(client, "bob", password=weak),  # 422
        register(client, "al", password=password),  # 422
        login(client, password=password),  # cookie mode
        login(client, password=password, refresh_in_body=True),
        login(client, password=password + "x"),  # 401
        login(client, "nobody", password=password),  # 401
    ]
    headers = {"Authorization": f"Bearer {responses[5].json['access_token']}"}
    responses.append(change_password(client, headers, current=password, new=weak))  # 422
    responses.append(change_password(client, headers, current=password))  # 204
    assert [r.status_code for r in responses] == [201, 409, 422, 422, 200, 200, 401, 401, 422,
                                                  204]
    for response in responses:
        seen = response.get_data(as_text=True) + str(response.headers)
        assert password not in seen
        assert weak not in seen
        assert NEW_PASSWORD not in seen


# --- login ------------------------------------------------------------------------------


def test_login_answers_200_with_token_type_expiry_and_user(client):
    user = register(client).json["user"]
    response = login(client)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.json
    assert set(body) == {"access_token", "token_type", "expires_in", "user"}
    assert isinstance(body["access_token"], str) and body["access_token"]
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["user"] == user


@pytest.mark.parametrize("typed", ["alice", "ALICE", "aLiCe", "ａｌｉｃｅ"])
def test_login_matches_the_username_without_regard_to_case(client, typed):
    register(client, "Alice")
    response = login(client, typed)
    assert response.status_code == 200, response.json
    assert response.json["user"]["username"] == "Alice"


def test_login_in_cookie_mode_sets_an_httponly_refresh_cookie(client):
    register(client)
    cookies = set_cookies(login(client))
    assert "refresh_token_cookie" in cookies
    value, attributes = cookies["refresh_token_cookie"]
    assert value
    assert attributes.get("httponly") is True
    assert attributes.get("samesite", "").lower() == "lax"
    assert attributes.get("path") == "/"
    assert attributes.get("max-age") == str(TWO_WEEKS)


def test_login_in_cookie_mode_sets_a_readable_csrf_refresh_cookie(client):
    register(client)
    cookies = set_cookies(login(client))
    assert "csrf_refresh_token" in cookies
    value, attributes = cookies["csrf_refresh_token"]
    assert value
    assert "httponly" not in attributes
    assert attributes.get("max-age") == str(TWO_WEEKS)


def test_login_in_cookie_mode_sets_no_access_cookie(client):
    register(client)
    response = login(client)
    cookies = set_cookies(response)
    assert "access_token_cookie" not in cookies
    assert "csrf_access_token" not in cookies
    assert "refresh_token" not in response.json


def test_login_with_refresh_in_body_returns_the_refresh_token_and_sets_no_cookie(client):
    register(client)
    response = login(client, refresh_in_body=True)
    assert response.status_code == 200
    assert isinstance(response.json["refresh_token"], str) and response.json["refresh_token"]
    assert response.headers.getlist("Set-Cookie") == []


@pytest.mark.parametrize("value", ["true", 1, 0, "yes", [], {}])
def test_login_rejects_a_refresh_in_body_that_is_not_a_boolean(client, value):
    register(client)
    response = login(client, refresh_in_body=value)
    assert_problem(response, 422, "validation_error")
    assert response.json["errors"]["refresh_in_body"]
    assert response.headers.getlist("Set-Cookie") == []


def test_login_ignores_unknown_fields(client):
    register(client)
    response = login(client, is_admin=True, remember_me="forever")
    assert response.status_code == 200
    assert set(response.json) == {"access_token", "token_type", "expires_in", "user"}


def test_unknown_user_gets_401_invalid_credentials(client):
    response = login(client, "nobody")
    assert_problem(response, 401, "invalid_credentials")


def test_wrong_password_gets_401_invalid_credentials(client):
    register(client)
    response = login(client, password="not the right password at all")
    assert_problem(response, 401, "invalid_credentials")


def test_unknown_user_and_wrong_password_get_identical_answers(client):
    register(client)
    unknown = login(client, "mallory")
    wrong = login(client, "alice", "not the right password at all")
    assert unknown.status_code == wrong.status_code == 401
    for header in ("Content-Type", "WWW-Authenticate", "Cache-Control"):
        assert unknown.headers.get(header) == wrong.headers.get(header), header
    assert unknown.headers.getlist("Set-Cookie") == wrong.headers.getlist("Set-Cookie")
    unknown_body, wrong_body = dict(unknown.json), dict(wrong.json)
    unknown_body.pop("request_id", None)
    wrong_body.pop("request_id", None)
    assert unknown_body == wrong_body


def test_login_with_a_password_over_72_bytes_is_401_not_500(client):
    register(client)
    response = login(client, password=PASSWORD + "x" * 60)
    assert_problem(response, 401, "invalid_credentials")


def test_login_never_truncates_a_password_sharing_the_first_72_bytes(client):
    password = ("correct horse battery staple " * 3)[:72]
    register(client, password=password)
    response = login(client, password=password + "!")
    assert_problem(response, 401, "invalid_credentials")


def test_access_token_claims(client):
    user = register(client).json["user"]
    token = login(client).json["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == str(user["id"])
    assert isinstance(claims["sub"], str)
    assert isinstance(claims["sid"], str) and claims["sid"]
    assert isinstance(claims["jti"], str) and claims["jti"]
    assert claims["type"] == "access"
    assert claims["fresh"] is True
    assert all(isinstance(claims[name], int) for name in ("iat", "nbf", "exp"))
    assert claims["exp"] - claims["iat"] == 900
    assert claims["nbf"] <= claims["iat"] + 1
    assert claims["iss"] == "authapp"
    assert claims["aud"] in ("authapp", ["authapp"])


def test_refresh_token_claims_name_the_same_session_and_carry_a_csrf_value(client):
    user = register(client).json["user"]
    body = login(client, refresh_in_body=True).json
    access = jwt.decode(body["access_token"], options={"verify_signature": False})
    refresh = jwt.decode(body["refresh_token"], options={"verify_signature": False})
    assert refresh["type"] == "refresh"
    assert refresh["sub"] == str(user["id"])
    assert refresh["sid"] == access["sid"]
    assert refresh["jti"] != access["jti"]
    assert refresh["fresh"] is False
    assert refresh["exp"] - refresh["iat"] == 14 * 24 * 3600
    assert refresh["iss"] == "authapp" and refresh["aud"] in ("authapp", ["authapp"])
    # the double-submit values the cookie flow compares against X-CSRF-TOKEN
    assert isinstance(refresh["csrf"], str) and isinstance(access["csrf"], str)
    assert refresh["csrf"] != access["csrf"]


def test_access_token_is_hs256_signed_with_the_jwt_secret_key(app, client):
    register(client)
    token = login(client).json["access_token"]
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, app.config["JWT_SECRET_KEY"], algorithms=["HS256"],
                        audience="authapp", issuer="authapp")
    assert claims["type"] == "access"


def test_each_login_is_a_new_session_with_its_own_token_ids(client):
    register(client)
    first = jwt.decode(login(client).json["access_token"], options={"verify_signature": False})
    second = jwt.decode(login(client).json["access_token"], options={"verify_signature": False})
    assert first["sid"] != second["sid"]
    assert first["jti"] != second["jti"]


def test_no_transaction_or_pooled_connection_is_held_while_bcrypt_runs(
        app, client, database_url, monkeypatch):
    """A sign-in spends ~250 ms in bcrypt; holding a transaction (and a pool slot) that
    long would pin PostgreSQL snapshots and starve the pool under concurrent sign-ins."""
    register(client)
    seen = []
    real_verify = users.verify_password

    def observing_verify(password, password_hash):
        seen.append((db.session().in_transaction(), db.engine.pool.checkedout()))
        if database_url.startswith("postgresql"):
            with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as probe:
                seen.append(probe.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND state LIKE 'idle in transaction%'").fetchone()[0])
        return real_verify(password, password_hash)

    monkeypatch.setattr(users, "verify_password", observing_verify)
    assert login(client).status_code == 200
    assert login(client, password="not the right password at all").status_code == 401
    expected = [(False, 0), 0] if database_url.startswith("postgresql") else [(False, 0)]
    assert seen == expected * 2


def test_lower_cost_hash_is_upgraded_on_login(app, client, database_url):
    register(client)
    assert stored_hash(app).startswith("$2b$04$")
    stronger = create_app(make_config(database_url, BCRYPT_LOG_ROUNDS=5))
    try:
        assert login(stronger.test_client()).status_code == 200
        assert stored_hash(stronger).startswith("$2b$05$")
        assert login(stronger.test_client()).status_code == 200
    finally:
        with stronger.app_context():
            db.engine.dispose()
    assert login(client).status_code == 200
    assert login(client, password="not the right password at all").status_code == 401


def test_hash_at_the_configured_cost_is_left_alone_on_login(app, client):
    register(client)
    before = stored_hash(app)
    assert login(client).status_code == 200
    assert stored_hash(app) == before


# --- /api/me ----------------------------------------------------------------------------


def test_me_returns_the_account_with_its_address_and_roles(client, auth):
    user = auth.register().json["user"]
    response = client.get("/api/me", headers=auth.login().headers)
    assert response.status_code == 200
    assert {key: value for key, value in response.json.items() if key != "roles"} == user
    assert set(response.json) == {"id", "username", "created_at", "email", "email_verified",
                                  "roles"}


def test_me_requires_a_token(client):
    response = client.get("/api/me")
    assert_problem(response, 401, "token_missing")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="authapp"'


# --- POST /api/auth/password ------------------------------------------------------------


def test_password_change_answers_204(client, auth):
    signed_in = auth.signed_in()
    response = change_password(client, signed_in.headers)
    assert response.status_code == 204
    assert response.get_data() == b""


def test_password_change_new_password_works_and_old_one_fails(client, auth):
    signed_in = auth.signed_in()
    assert change_password(client, signed_in.headers).status_code == 204
    assert login(client, password=NEW_PASSWORD).status_code == 200
    assert_problem(login(client, password=PASSWORD), 401, "invalid_credentials")


def test_password_change_revokes_access_tokens_of_every_other_session(client, auth):
    current = auth.signed_in()
    other = auth.login()
    assert change_password(client, current.headers).status_code == 204
    response = client.get("/api/me", headers=other.headers)
    assert_problem(response, 401, "token_revoked")


def test_password_change_revokes_refresh_tokens_of_every_other_session(client, auth):
    current = auth.signed_in()
    other = auth.login()
    assert change_password(client, current.headers).status_code == 204
    response = client.post("/api/auth/refresh", headers=other.refresh_headers)
    assert_problem(response, 401, "token_revoked")


def test_password_change_keeps_the_current_session(client, auth):
    current = auth.signed_in()
    auth.login()
    assert change_password(client, current.headers).status_code == 204
    assert client.get("/api/me", headers=current.headers).status_code == 200
    refreshed = client.post("/api/auth/refresh", headers=current.refresh_headers)
    assert refreshed.status_code == 200, refreshed.json
    new_access = {"Authorization": f"Bearer {refreshed.json['access_token']}"}
    assert client.get("/api/me", headers=new_access).status_code == 200


def test_password_change_with_wrong_current_password_is_422_and_changes_nothing(client, auth):
    current = auth.signed_in()
    other = auth.login()
    response = change_password(client, current.headers, current="not the right password")
    assert_problem(response, 422, "validation_error")
    assert response.json["errors"]["current_password"]
    assert login(client, password=PASSWORD).status_code == 200
    assert login(client, password=NEW_PASSWORD).status_code == 401
    assert client.get("/api/me", headers=other.headers).status_code == 200


@pytest.mark.parametrize("new_password", [
    "short", "password1", "qwertyuiop", "iloveyou2",
    ("correct horse battery staple " * 3)[:73], EMOJI,
])
def test_password_change_to_a_weak_password_is_422(client, auth, new_password):
    current = auth.signed_in()
    response = change_password(client, current.headers, new=new_password)
    assert_problem(response, 422, "validation_error")
    assert response.json["errors"]["new_password"]
    assert login(client, password=PASSWORD).status_code == 200


@pytest.mark.parametrize("body, missing", [
    ({}, {"current_password", "new_password"}),
    ({"current_password": PASSWORD}, {"new_password"}),
    ({"new_password": NEW_PASSWORD}, {"current_password"}),
])
def test_password_change_with_missing_fields_is_422(client, auth, body, missing):
    current = auth.signed_in()
    response = client.post("/api/auth/password", headers=current.headers, json=body)
    assert_problem(response, 422, "validation_error")
    assert missing <= set(response.json["errors"])
    assert login(client, password=PASSWORD).status_code == 200


def test_password_change_requires_a_token(client, auth):
    auth.register()
    response = client.post("/api/auth/password",
                           json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert_problem(response, 401, "token_missing")
    assert login(client, password=PASSWORD).status_code == 200


# --- caching ----------------------------------------------------------------------------


@pytest.mark.parametrize("bearer", [True, False], ids=["body", "cookie"])
def test_login_response_carries_cache_control_no_store(client, bearer):
    register(client)
    response = login(client, refresh_in_body=bearer)
    assert response.status_code == 200
    assert "no-store" in response.headers.get("Cache-Control", "")


def test_bearer_refresh_response_carries_cache_control_no_store(client, auth):
    signed_in = auth.signed_in()
    response = client.post("/api/auth/refresh", headers=signed_in.refresh_headers)
    assert response.status_code == 200
    assert "no-store" in response.headers.get("Cache-Control", "")


def test_cookie_refresh_response_carries_cache_control_no_store(client, auth):
    auth.signed_in(bearer=False)
    response = auth.csrf_refresh()
    assert response.status_code == 200, response.json
    assert "no-store" in response.headers.get("Cache-Control", "")


def test_failed_login_carries_cache_control_no_store(client):
    response = login(client, "nobody")
    assert response.status_code == 401
    assert "no-store" in response.headers.get("Cache-Control", "")
