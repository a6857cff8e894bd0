"""``flask keys list | generate | rotate | revoke`` and what ``flask auth doctor`` says of the keys
(SPEC §12)."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from support.apps import delete_all_rows, make_config
from support.clock import later

from authapp import create_app
from authapp.core.clock import utcnow
from authapp.core.configuration import secret_problems
from authapp.core.doctor import WARNING, diagnose
from authapp.core.extensions import db
from authapp.db.models import AuthEvent, SigningKey
from authapp.tokens.keys import key_set


@pytest.fixture
def es_app(database_url: str) -> Iterator[Flask]:
    app = create_app(make_config(database_url, JWT_ALGORITHM="ES256"))
    yield app
    delete_all_rows(app)


def cli(app: Flask, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def rows(app: Flask) -> dict[str, list[SigningKey]]:
    with app.app_context():
        found: dict[str, list[SigningKey]] = {}
        for row in db.session.scalars(select(SigningKey).order_by(SigningKey.created_at)):
            found.setdefault(row.state, []).append(row)
        db.session.expunge_all()
        return found


def events(app: Flask, event_type: str) -> list[dict]:
    with app.app_context():
        return list(db.session.scalars(select(AuthEvent.details)
                                       .where(AuthEvent.event_type == event_type)))


def test_list_shows_every_key_and_the_secrets_by_kid_only(es_app):
    result = cli(es_app, "keys", "list")
    assert result.exit_code == 0, result.output
    states = rows(es_app)
    listed = [line.split()[:3] for line in result.output.splitlines()[2:]]
    for state in ("active", "standby"):
        assert [states[state][0].kid, "ES256", state] in listed
    assert ["HS256", "secret"] in [columns[1:3] for columns in listed]
    assert es_app.config["JWT_SECRET_KEY"] not in result.output


def test_rotate_is_refused_until_the_standby_key_was_published_twice_the_max_age(es_app):
    cli(es_app, "keys", "list")
    standby = rows(es_app)["standby"][0].kid
    refused = cli(es_app, "keys", "rotate")
    assert refused.exit_code == 1
    assert "--force" in refused.output
    assert rows(es_app)["standby"][0].kid == standby

    with later(seconds=2 * es_app.config["JWKS_MAX_AGE"] + 1):
        done = cli(es_app, "keys", "rotate")
        assert done.exit_code == 0, done.output
    states = rows(es_app)
    assert states["active"][0].kid == standby
    assert len(states["retired"]) == 1 and len(states["standby"]) == 1
    assert events(es_app, "signing_key_rotated")[0]["activated"] == standby


def test_rotate_if_older_than_only_rotates_an_old_active_key(es_app):
    young = cli(es_app, "keys", "rotate", "--if-older-than", "30d")
    assert young.exit_code == 0 and "nothing to do" in young.output
    with later(minutes=31 * 24 * 60):
        old = cli(es_app, "keys", "rotate", "--if-older-than", "30d")
        assert old.exit_code == 0, old.output
        assert "Signing with" in old.output
    assert cli(es_app, "keys", "rotate", "--if-older-than", "soon").exit_code == 2


def test_generate_makes_a_standby_key_once_per_algorithm(es_app):
    cli(es_app, "keys", "list")
    assert cli(es_app, "keys", "generate").exit_code == 1  # ES256 already has one
    made = cli(es_app, "keys", "generate", "--alg", "EdDSA")
    assert made.exit_code == 0, made.output
    with es_app.app_context():
        published = {jwk["alg"] for jwk in key_set().published}
    assert published == {"ES256", "EdDSA"}


def test_revoke_is_audited_and_an_active_key_is_replaced_at_once(es_app):
    cli(es_app, "keys", "list")
    before = rows(es_app)
    active, standby = before["active"][0].kid, before["standby"][0].kid
    result = cli(es_app, "keys", "revoke", active)
    assert result.exit_code == 0, result.output
    after = rows(es_app)
    assert after["revoked"][0].kid == active
    assert after["active"][0].kid == standby
    assert len(after["standby"]) == 1
    assert events(es_app, "signing_key_revoked")[0]["kid"] == active
    assert cli(es_app, "keys", "revoke", active).exit_code == 1  # already revoked


def test_hs256_keys_rotate_through_the_configuration_not_the_command(app):
    result = cli(app, "keys", "rotate")
    assert result.exit_code == 1
    assert "JWT_PREVIOUS_SECRET_KEYS" in result.output


def test_doctor_reports_the_algorithm_and_key_ages(es_app):
    cli(es_app, "keys", "list")
    result = cli(es_app, "auth", "doctor")
    assert "Signing: ES256; active key" in result.output
    assert "days old" in result.output


def test_doctor_warns_without_a_standby_key_and_with_an_old_active_key(es_app):
    cli(es_app, "keys", "list")
    standby = rows(es_app)["standby"][0].kid
    cli(es_app, "keys", "revoke", standby)
    with es_app.app_context():
        stored = list(db.session.scalars(select(SigningKey)))
    now = utcnow() + timedelta(days=91)
    findings = [f for f in diagnose(es_app.config, signing_keys=stored, now=now)
                if f.setting == "JWT_ALGORITHM"]
    assert [f.severity for f in findings] == [WARNING, WARNING]
    assert "standby" in findings[0].message and "90 days" in findings[1].message


def test_production_needs_a_strong_key_encryption_key_with_an_asymmetric_algorithm():
    base = {"SECRET_KEY": "s" * 8 + "abcdefghijklmnopqrstuvwxyz0123456789",
            "JWT_SECRET_KEY": "j" * 8 + "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"}
    assert secret_problems({**base, "JWT_ALGORITHM": "HS256"}) == []
    missing = secret_problems({**base, "JWT_ALGORITHM": "ES256"})
    assert [setting for setting, _ in missing] == ["JWT_KEY_ENCRYPTION_KEY"]
    shared = secret_problems({**base, "JWT_ALGORITHM": "ES256",
                              "JWT_KEY_ENCRYPTION_KEY": base["SECRET_KEY"]})
    assert "must differ" in shared[0][1]
    strong = {**base, "JWT_ALGORITHM": "EdDSA",
              "JWT_KEY_ENCRYPTION_KEY": "k" * 8 + "0123456789abcdefghijklmnopqrstuvwxyz"}
    assert secret_problems(strong) == []


def test_development_starts_with_an_asymmetric_algorithm_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTHAPP_JWT_ALGORITHM", '"ES256"')
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'dev.sqlite3'}"},
                     instance_path=str(tmp_path))
    assert app.config["ENV_NAME"] == "development"
    assert app.config["JWT_ALGORITHM"] == "ES256"
    assert len(app.config["JWT_KEY_ENCRYPTION_KEY"]) >= 32
    again = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'dev.sqlite3'}"},
                       instance_path=str(tmp_path))
    assert again.config["JWT_KEY_ENCRYPTION_KEY"] == app.config["JWT_KEY_ENCRYPTION_KEY"]
