"""GET /.well-known/jwks.json (SPEC §12): public keys only, cacheable, revalidated by ETag."""

from collections.abc import Iterator

import pytest
import schemathesis
from flask import Flask
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support.api import AuthActions
from support.apps import delete_all_rows, make_config
from support.clock import later

from authapp import create_app
from authapp.tokens.keys import KEY_SET_TTL
from config import TestingConfig

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@pytest.fixture(params=["ES256", "EdDSA", "RS256"])
def key_app(request: pytest.FixtureRequest, database_url: str) -> Iterator[Flask]:
    app = create_app(make_config(database_url, JWT_ALGORITHM=request.param))
    yield app
    delete_all_rows(app)


def jwks(app: Flask, **headers: str):
    return app.test_client().get("/.well-known/jwks.json", headers=headers)


def kids(app: Flask) -> list[str]:
    return [key["kid"] for key in jwks(app).json["keys"]]


def cli(app: Flask, *args: str) -> None:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output


def test_the_jwks_lists_the_active_and_standby_public_keys_only(key_app):
    response = jwks(key_app)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    keys = response.json["keys"]
    assert len(keys) == 2
    algorithm = key_app.config["JWT_ALGORITHM"]
    for key in keys:
        assert key["alg"] == algorithm and key["use"] == "sig" and key["kid"]
        assert not PRIVATE_MEMBERS & set(key), key
    body = response.get_data(as_text=True)
    for secret in (TestingConfig.JWT_SECRET_KEY, TestingConfig.JWT_KEY_ENCRYPTION_KEY):
        assert secret not in body


def test_with_hs256_alone_the_jwks_is_empty_and_never_carries_the_secret(app):
    response = jwks(app)
    assert response.json == {"keys": []}
    assert TestingConfig.JWT_SECRET_KEY not in response.get_data(as_text=True)


def test_the_jwks_is_publicly_cacheable_for_jwks_max_age(key_app):
    assert jwks(key_app).headers["Cache-Control"] in ("public, max-age=600",
                                                      "max-age=600, public")
    key_app.config["JWKS_MAX_AGE"] = 60
    assert "max-age=60" in jwks(key_app).headers["Cache-Control"]


def test_a_current_etag_answers_304_and_a_rotation_changes_it(key_app):
    first = jwks(key_app)
    etag = first.headers["ETag"]
    again = jwks(key_app, **{"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    assert jwks(key_app, **{"If-None-Match": '"stale"'}).status_code == 200

    cli(key_app, "keys", "rotate", "--force")
    rotated = jwks(key_app, **{"If-None-Match": etag})
    assert rotated.status_code == 200
    assert rotated.headers["ETag"] != etag


def test_a_retired_key_stays_published_while_its_tokens_can_live_and_a_revoked_one_leaves(
        key_app):
    AuthActions(key_app.test_client()).signed_in("alice")
    active, standby = kids(key_app)
    cli(key_app, "keys", "rotate", "--force")
    after = kids(key_app)
    assert after[0] == standby and active in after and len(after) == 3

    cli(key_app, "keys", "revoke", active)
    assert active not in kids(key_app)

    cli(key_app, "keys", "rotate", "--force")
    lifetime = key_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    with later(seconds=lifetime + KEY_SET_TTL + 1):
        assert standby not in kids(key_app)
        assert len(kids(key_app)) == 2


def test_the_jwks_answers_as_its_openapi_description_says(key_app):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", key_app)
    operation = schema["/.well-known/jwks.json"]["GET"]
    current = jwks(key_app).headers["ETag"]
    for if_none_match in (None, current, '"stale"'):
        case = operation.Case(headers={"If-None-Match": if_none_match} if if_none_match else {})
        case.call_and_validate(checks=[not_a_server_error, status_code_conformance,
                                       response_headers_conformance,
                                       response_schema_conformance])
