"""SPEC §6 input rules on the JSON endpoints: every bad body is a problem+json, never a 500."""

import io
import json

import pytest
from support.api import PASSWORD
from support.apps import make_config
from support.problems import PROBLEM_JSON, PROBLEM_KEYS, assert_problem
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from authapp import create_app
from authapp.core.extensions import db

ENDPOINTS = ["/api/auth/register", "/api/auth/login"]
LIMIT = 65_536
CREDENTIALS = {"username": "alice", "password": PASSWORD}

endpoints = pytest.mark.parametrize("path", ENDPOINTS, ids=["register", "login"])


def post_raw(client, path, data, content_type="application/json"):
    return client.post(path, data=data, content_type=content_type)


def sized_body(size, **fields):
    """A JSON object with the credentials (or ``fields``), padded to exactly ``size`` bytes."""
    document = {**(fields or CREDENTIALS), "padding": ""}
    document["padding"] = "x" * (size - len(json.dumps(document).encode()))
    raw = json.dumps(document).encode()
    assert len(raw) == size
    return raw


def post_chunked(client, path, raw):
    """POST with ``Transfer-Encoding: chunked`` and no Content-Length, as a WSGI server
    that de-chunks the body presents it (``wsgi.input_terminated``)."""
    builder = EnvironBuilder(path=path, method="POST", input_stream=io.BytesIO(raw),
                             content_type="application/json",
                             headers={"Transfer-Encoding": "chunked"})
    environ = builder.get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input_terminated"] = True
    return client.open(Request(environ))


# --- 415: content type ------------------------------------------------------------------


@endpoints
@pytest.mark.parametrize("content_type", [
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/xml", "text/json",
])
def test_wrong_content_type_is_415(client, path, content_type):
    response = post_raw(client, path, json.dumps(CREDENTIALS), content_type)
    assert_problem(response, 415, "unsupported_media_type")


@endpoints
def test_form_encoded_body_is_415(client, path):
    response = client.post(path, data=CREDENTIALS)
    assert_problem(response, 415, "unsupported_media_type")


@endpoints
def test_missing_content_type_is_415(client, path):
    response = client.post(path, data=json.dumps(CREDENTIALS).encode())
    assert "Content-Type" not in response.request.headers
    assert_problem(response, 415, "unsupported_media_type")


@endpoints
def test_json_with_a_charset_parameter_is_accepted(client, path, auth):
    if path.endswith("login"):
        auth.register()
    response = post_raw(client, path, json.dumps(CREDENTIALS),
                        "application/json; charset=utf-8")
    assert response.status_code in (200, 201), response.json


# --- 400: not JSON ----------------------------------------------------------------------


@endpoints
@pytest.mark.parametrize("data", [b"", b"   ", b"\r\n\t "], ids=["empty", "spaces", "blank"])
def test_empty_body_with_json_content_type_is_400(client, path, data):
    assert_problem(post_raw(client, path, data), 400, "invalid_json")


@endpoints
@pytest.mark.parametrize("data", [
    b'{"username": "alice",',
    b"{'username': 'alice', 'password': 'x'}",
    b'{"username": "alice"} trailing',
    b'{"username": "alice",}',
    b"{username: alice}",
    b'{"username": "alice" "password": "x"}',
    b"\x00",
    b'{"a": 01}',
], ids=["truncated", "single-quotes", "trailing-garbage", "trailing-comma", "bare-words",
        "missing-comma", "nul", "leading-zero"])
def test_malformed_json_is_400(client, path, data):
    assert_problem(post_raw(client, path, data), 400, "invalid_json")


@endpoints
@pytest.mark.parametrize("data", [
    b'{"username": "\xff\xfe", "password": "x"}',
    b'{"username": "al\xc3", "password": "x"}',
    b'{"username": "\xed\xa0\x80", "password": "x"}',
    "{\"username\": \"alice\"}".encode("utf-16"),
], ids=["ff-fe", "truncated-sequence", "encoded-surrogate", "utf-16"])
def test_invalid_utf8_is_400(client, path, data):
    assert_problem(post_raw(client, path, data), 400, "invalid_json")


@endpoints
def test_lone_surrogate_in_a_value_is_400(client, path):
    data = b'{"username": "al\\ud800ice", "password": "correct horse battery staple"}'
    assert_problem(post_raw(client, path, data), 400, "invalid_json")


@endpoints
def test_lone_surrogate_as_a_whole_value_is_400(client, path):
    data = b'{"username": "\\ud800", "password": "correct horse battery staple"}'
    assert_problem(post_raw(client, path, data), 400, "invalid_json")


@endpoints
def test_lone_surrogate_in_a_key_is_400(client, path):
    data = b'{"\\ud800": 1, "username": "alice", "password": "correct horse battery staple"}'
    assert_problem(post_raw(client, path, data), 400, "invalid_json")


@endpoints
def test_lone_low_surrogate_in_a_nested_value_is_400(client, path):
    data = b'{"username": "alice", "password": "correct horse battery staple", "x": ["\\udc00"]}'
    assert_problem(post_raw(client, path, data), 400, "invalid_json")


@endpoints
def test_escaped_surrogate_pair_is_valid_unicode(client, path):
    data = b'{"username": "alice\\ud83d\\ude00", "password": "correct horse battery staple"}'
    response = post_raw(client, path, data)
    assert response.status_code in (401, 422), response.json


@endpoints
@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_400(client, path, constant):
    data = b'{"username": "alice", "password": "correct horse battery staple", "n": ' \
        + constant + b"}"
    assert_problem(post_raw(client, path, data), 400, "invalid_json")


@endpoints
def test_100_deep_nesting_is_400(client, path):
    data = json.dumps(CREDENTIALS)[:-1] + ', "x": ' + "[" * 100 + "]" * 100 + "}"
    assert_problem(post_raw(client, path, data), 400, "invalid_json")


@endpoints
def test_100_deep_object_nesting_is_400(client, path):
    data = '{"a": ' * 100 + "1" + "}" * 100
    assert_problem(post_raw(client, path, data), 400, "invalid_json")


@endpoints
def test_deepest_nesting_that_fits_in_64_kib_is_400(client, path):
    data = "[" * (LIMIT // 2) + "]" * (LIMIT // 2)
    assert len(data) == LIMIT
    assert_problem(post_raw(client, path, data), 400, "invalid_json")


@endpoints
def test_unclosed_nesting_filling_64_kib_is_400(client, path):
    assert_problem(post_raw(client, path, "[" * LIMIT), 400, "invalid_json")


@endpoints
def test_100000_deep_nesting_is_rejected_without_a_500(client, path):
    """100,000-deep JSON needs 200,000 bytes: over 64 KiB, so the size rule answers first."""
    data = "[" * 100_000 + "]" * 100_000
    assert_problem(post_raw(client, path, data), 413, "payload_too_large")


@endpoints
def test_100000_deep_nesting_is_400_when_the_size_limit_allows_it(database_url, path):
    roomy = create_app(make_config(database_url, MAX_CONTENT_LENGTH=1_000_000))
    try:
        response = post_raw(roomy.test_client(), path, "[" * 100_000 + "]" * 100_000)
        assert_problem(response, 400, "invalid_json")
        response = post_raw(roomy.test_client(), path, '{"a": ' * 100_000 + "1" + "}" * 100_000)
        assert_problem(response, 400, "invalid_json")
    finally:
        with roomy.app_context():
            db.engine.dispose()


# --- 422: well-formed JSON that is not the expected object ------------------------------


@endpoints
@pytest.mark.parametrize("data", ["[]", "42", "null", '"x"', "true", "1.5", '["alice"]'])
def test_json_that_is_not_an_object_is_422(client, path, data):
    assert_problem(post_raw(client, path, data), 422, "validation_error")


@endpoints
@pytest.mark.parametrize("body, fields", [
    ({"username": 123, "password": PASSWORD}, {"username"}),
    ({"username": "alice", "password": None}, {"password"}),
    ({"username": ["alice"], "password": PASSWORD}, {"username"}),
    ({"username": "alice", "password": {"value": PASSWORD}}, {"password"}),
    ({"username": True, "password": PASSWORD}, {"username"}),
    ({"username": "alice", "password": 12345678}, {"password"}),
    ({"username": 1.5, "password": [PASSWORD]}, {"username", "password"}),
    ({"username": None, "password": None}, {"username", "password"}),
], ids=["username-int", "password-null", "username-list", "password-object", "username-bool",
        "password-int", "both-wrong", "both-null"])
def test_wrong_types_are_422_with_per_field_errors(client, path, body, fields):
    problem = assert_problem(client.post(path, json=body), 422, "validation_error")
    assert fields <= set(problem["errors"])
    for field in fields:
        assert isinstance(problem["errors"][field], list) and problem["errors"][field]
        assert all(isinstance(message, str) for message in problem["errors"][field])


@endpoints
@pytest.mark.parametrize("body, fields", [
    ({}, {"username", "password"}),
    ({"username": "alice"}, {"password"}),
    ({"password": PASSWORD}, {"username"}),
    ({"user": "alice", "pass": PASSWORD}, {"username", "password"}),
], ids=["empty-object", "no-password", "no-username", "wrong-names"])
def test_missing_fields_are_422_with_per_field_errors(client, path, body, fields):
    problem = assert_problem(client.post(path, json=body), 422, "validation_error")
    assert fields <= set(problem["errors"])


# --- 413: size --------------------------------------------------------------------------


def test_body_of_exactly_64_kib_is_accepted_by_register(client):
    response = post_raw(client, "/api/auth/register", sized_body(LIMIT))
    assert response.status_code == 201, response.json


def test_body_of_exactly_64_kib_is_accepted_by_login(client, auth):
    auth.register()
    response = post_raw(client, "/api/auth/login", sized_body(LIMIT))
    assert response.status_code == 200, response.json


@endpoints
def test_body_one_byte_over_64_kib_is_413(client, path):
    assert_problem(post_raw(client, path, sized_body(LIMIT + 1)), 413, "payload_too_large")


@endpoints
def test_large_body_is_413(client, path):
    assert_problem(post_raw(client, path, sized_body(1_000_000)), 413, "payload_too_large")


def test_body_over_64_kib_does_not_register_anyone(client):
    post_raw(client, "/api/auth/register", sized_body(LIMIT + 1))
    assert client.post("/api/auth/login", json=CREDENTIALS).status_code == 401


def test_chunked_body_of_exactly_64_kib_is_accepted(client):
    response = post_chunked(client, "/api/auth/register", sized_body(LIMIT))
    assert "Content-Length" not in response.request.headers
    assert response.status_code == 201, response.json


@endpoints
def test_chunked_body_one_byte_over_64_kib_is_413(client, path):
    response = post_chunked(client, path, sized_body(LIMIT + 1))
    assert "Content-Length" not in response.request.headers
    assert_problem(response, 413, "payload_too_large")


def test_chunked_body_over_64_kib_padded_with_whitespace_is_413(client):
    """A valid object followed by whitespace: cutting it at 64 KiB would still parse."""
    raw = json.dumps(CREDENTIALS).encode()
    response = post_chunked(client, "/api/auth/register", raw + b" " * (200_000 - len(raw)))
    assert_problem(response, 413, "payload_too_large")


# --- control characters ---------------------------------------------------------------


def test_nul_character_in_login_username_is_401_not_500(client, auth):
    """PostgreSQL text cannot hold NUL; such a name can never exist, so it is an unknown user."""
    auth.register()
    response = client.post("/api/auth/login",
                           json={"username": "alice\u0000", "password": PASSWORD})
    assert_problem(response, 401, "invalid_credentials")


def test_nul_character_in_register_username_is_422(client):
    response = client.post("/api/auth/register",
                           json={"username": "al\u0000ice", "password": PASSWORD})
    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"]["username"]


def test_nul_character_in_login_password_is_401(client, auth):
    auth.register()
    response = client.post("/api/auth/login",
                           json={"username": "alice", "password": PASSWORD + "\u0000"})
    assert_problem(response, 401, "invalid_credentials")


# --- routing errors on /api -------------------------------------------------------------


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/nope"), ("POST", "/api/auth/nope"), ("GET", "/api/auth"),
    ("DELETE", "/api/users/1"), ("GET", "/api/"),
])
def test_unknown_api_path_is_problem_json_404(client, method, path):
    assert_problem(client.open(path, method=method), 404, "not_found")


@pytest.mark.parametrize("path", ENDPOINTS, ids=["register", "login"])
def test_get_on_a_post_endpoint_is_405_with_allow(client, path):
    response = client.get(path)
    assert_problem(response, 405, "method_not_allowed")
    allowed = {method.strip() for method in response.headers.get("Allow", "").split(",")}
    assert "POST" in allowed
    assert "GET" not in allowed


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_other_methods_on_login_are_405(client, method):
    response = client.open("/api/auth/login", method=method, json=CREDENTIALS)
    assert_problem(response, 405, "method_not_allowed")
    assert "POST" in response.headers.get("Allow", "")


@pytest.mark.parametrize("path", ["/api/me", "/api/auth/login", "/api/health"])
def test_trace_is_405(client, path):
    response = client.open(path, method="TRACE")
    assert_problem(response, 405, "method_not_allowed")
    assert "TRACE" not in response.headers.get("Allow", "")


def test_trace_does_not_reflect_the_request(client):
    response = client.open("/api/me", method="TRACE", headers={"X-Secret-Probe": "reflect-me"})
    assert response.status_code == 405
    assert "reflect-me" not in response.get_data(as_text=True)


# --- nothing a client sends is a 500 ----------------------------------------------------


HOSTILE_BODIES = [
    (b"", "application/json"),
    (b"{", "application/json"),
    (b"\xff", "application/json"),
    (b'{"username": "\\ud800"}', "application/json"),
    (b"[" * 1000, "application/json"),
    (b"null", "application/json"),
    (b'{"username": {"$ne": null}, "password": {"$gt": ""}}', "application/json"),
    (b'{"username": "alice\\u0000", "password": "x"}', "application/json"),
    (b'{"username": "alice\' OR 1=1 --", "password": "x"}', "application/json"),
    (b'{"username": "' + b"a" * 60_000 + b'", "password": "x"}', "application/json"),
    (b'{"username": "alice", "password": "' + b"p" * 60_000 + b'"}', "application/json"),
    (b'{"username": "alice", "password": "\\u0000\\u0000\\u0000\\u0000\\u0000"}',
     "application/json"),
    (b"{}", "application/json; charset=latin-1"),
    (b"{}", "application/merge-patch+json"),
    (b"{}", "application/json; charset"),
    (b"{}", ";;;"),
]


@endpoints
@pytest.mark.parametrize("data, content_type", HOSTILE_BODIES,
                         ids=[f"body{index}" for index in range(len(HOSTILE_BODIES))])
def test_hostile_bodies_never_cause_a_500(client, path, data, content_type):
    response = client.post(path, data=data, content_type=content_type)
    text = response.get_data(as_text=True)
    assert response.status_code < 500, text
    assert "Traceback" not in text
    if response.status_code >= 400:
        assert response.mimetype == PROBLEM_JSON
        assert set(response.json) >= PROBLEM_KEYS
