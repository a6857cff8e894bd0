"""``flask auth doctor``: the production-safety checks, pure and through the command.

Apps here get a temporary instance folder and a clean environment (no
``AUTHAPP_*``, ``DATABASE_URL`` or ``FLASK_DEBUG``) so nothing local leaks in.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from support.apps import make_config

from authapp import create_app
from authapp.core.configuration import check_production_secrets, secret_problems
from authapp.core.doctor import ERROR, WARNING, Finding, diagnose
from config import ProductionConfig, TestingConfig

POSTGRES = "postgresql+psycopg://authapp@db.internal:5432/authapp"
REDIS = "redis://cache.internal:6379/0"
SECRET = secrets.token_urlsafe(48)
JWT_SECRET = secrets.token_urlsafe(48)
MFA_KEY = secrets.token_urlsafe(48)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("AUTHAPP_") or key in {"DATABASE_URL", "FLASK_DEBUG"}:
            monkeypatch.delenv(key)


PUBLIC_URL = "https://auth.example.com"


def production_config(**overrides: Any) -> dict[str, Any]:
    """A correct production configuration, as the mapping ``diagnose`` reads."""
    config = {key: getattr(ProductionConfig, key) for key in dir(ProductionConfig)
              if key.isupper()}
    config.update(ENV_NAME="production", SECRET_KEY=SECRET, JWT_SECRET_KEY=JWT_SECRET,
                  MFA_ENCRYPTION_KEY=MFA_KEY, SQLALCHEMY_DATABASE_URI=POSTGRES,
                  RATELIMIT_STORAGE_URI=REDIS,
                  PUBLIC_URL=PUBLIC_URL, DEBUG=False, TESTING=False)
    config.update(overrides)
    return config


def production_app(tmp_path: Path, database_url: str = POSTGRES, **overrides: Any) -> Flask:
    """A real app loaded with a correct production configuration (plus ``overrides``)."""
    settings = {"ENV_NAME": "production", "SECRET_KEY": SECRET, "JWT_SECRET_KEY": JWT_SECRET,
                "PUBLIC_URL": PUBLIC_URL, "MFA_ENCRYPTION_KEY": MFA_KEY,
                "RATELIMIT_STORAGE_URI": REDIS, "BCRYPT_LOG_ROUNDS": 12, **overrides}
    return create_app(make_config(database_url, **settings),
                      instance_path=str(tmp_path / "instance"))


def doctor(app: Flask, *args: str):
    return app.test_cli_runner().invoke(args=["auth", "doctor", *args])


def settings(findings: list[Finding], severity: str) -> set[str]:
    return {finding.setting for finding in findings if finding.severity == severity}


# -- the pure checks ------------------------------------------------------------------------


def test_a_correct_production_configuration_has_no_findings() -> None:
    assert diagnose(production_config()) == []


SHORT = secrets.token_urlsafe(32)[:31]


UNSAFE = [
    ({"ENV_NAME": "development"}, ERROR, "ENV_NAME", "AUTHAPP_ENV=production"),
    ({"DEBUG": True}, ERROR, "DEBUG", "debug"),
    ({"TESTING": True}, ERROR, "TESTING", "testing"),
    ({"SECRET_KEY": None}, ERROR, "SECRET_KEY", "at least 32 bytes"),
    ({"JWT_SECRET_KEY": ""}, ERROR, "JWT_SECRET_KEY", "at least 32 bytes"),
    ({"SECRET_KEY": SHORT}, ERROR, "SECRET_KEY", "at least 32 bytes"),
    ({"SECRET_KEY": "a" * 40}, ERROR, "SECRET_KEY", "low-entropy"),
    ({"SECRET_KEY": TestingConfig.SECRET_KEY}, ERROR, "SECRET_KEY", "published"),
    ({"JWT_SECRET_KEY": TestingConfig.JWT_SECRET_KEY}, ERROR, "JWT_SECRET_KEY", "published"),
    ({"JWT_SECRET_KEY": SECRET}, ERROR, "JWT_SECRET_KEY", "must differ"),
    ({"JWT_COOKIE_SECURE": False}, ERROR, "JWT_COOKIE_SECURE", "AUTHAPP_JWT_COOKIE_SECURE"),
    ({"JWT_COOKIE_SAMESITE": "None"}, ERROR, "JWT_COOKIE_SAMESITE", "CORS_ORIGINS"),
    ({"JWT_COOKIE_SAMESITE": None}, WARNING, "JWT_COOKIE_SAMESITE", "Lax"),
    ({"JWT_REFRESH_COOKIE_NAME": "refresh_token_cookie"}, ERROR, "JWT_REFRESH_COOKIE_NAME",
     "__Host-"),
    ({"JWT_ACCESS_COOKIE_NAME": "access_token_cookie"}, ERROR, "JWT_ACCESS_COOKIE_NAME",
     "__Host-"),
    ({"SESSION_COOKIE_SECURE": False}, ERROR, "SESSION_COOKIE_SECURE", "plain HTTP"),
    ({"SESSION_COOKIE_SAMESITE": None}, ERROR, "SESSION_COOKIE_SAMESITE", "Lax"),
    ({"JWT_COOKIE_CSRF_PROTECT": False}, ERROR, "JWT_COOKIE_CSRF_PROTECT", "X-CSRF-TOKEN"),
    ({"WTF_CSRF_ENABLED": False}, ERROR, "WTF_CSRF_ENABLED", "CSRF"),
    ({"JWT_ACCESS_TOKEN_EXPIRES": 3601}, ERROR, "JWT_ACCESS_TOKEN_EXPIRES", "at most 3600"),
    ({"JWT_ACCESS_TOKEN_EXPIRES": timedelta(hours=2)}, ERROR, "JWT_ACCESS_TOKEN_EXPIRES",
     "at most 3600"),
    ({"JWT_ACCESS_TOKEN_EXPIRES": 0}, ERROR, "JWT_ACCESS_TOKEN_EXPIRES", "never expire"),
    ({"JWT_ACCESS_TOKEN_EXPIRES": False}, ERROR, "JWT_ACCESS_TOKEN_EXPIRES", "never expire"),
    ({"JWT_ACCESS_TOKEN_EXPIRES": "soon"}, ERROR, "JWT_ACCESS_TOKEN_EXPIRES", "not a lifetime"),
    ({"JWT_DECODE_LEEWAY": 1}, WARNING, "JWT_DECODE_LEEWAY", "prefer 0"),
    ({"JWT_DECODE_LEEWAY": 30}, WARNING, "JWT_DECODE_LEEWAY", "prefer 0"),
    ({"JWT_DECODE_LEEWAY": 31}, ERROR, "JWT_DECODE_LEEWAY", "at most 30"),
    ({"BCRYPT_LOG_ROUNDS": 11}, ERROR, "BCRYPT_LOG_ROUNDS", "at least 12"),
    ({"BCRYPT_LOG_ROUNDS": 4}, ERROR, "BCRYPT_LOG_ROUNDS", "at least 12"),
    ({"RATELIMIT_ENABLED": False}, ERROR, "RATELIMIT_ENABLED", "AUTHAPP_RATELIMIT_ENABLED"),
    ({"RATELIMIT_STORAGE_URI": "memory://"}, ERROR, "RATELIMIT_STORAGE_URI", "Redis"),
    ({"SQLALCHEMY_DATABASE_URI": "sqlite:////srv/authapp.sqlite3"}, ERROR,
     "SQLALCHEMY_DATABASE_URI", "PostgreSQL"),
    ({"TRUSTED_PROXY_COUNT": 0}, WARNING, "TRUSTED_PROXY_COUNT", "proxy"),
]


SECRET_LABELS = {None: "missing", "": "empty", SHORT: "31-bytes", "a" * 40: "low-entropy",
                 TestingConfig.SECRET_KEY: "published", TestingConfig.JWT_SECRET_KEY: "published",
                 SECRET: "same-as-SECRET_KEY"}


def case_id(overrides: dict[str, Any]) -> str:
    """A stable test id that never shows a (random) secret."""
    return "-".join(f"{key}={SECRET_LABELS[value] if 'SECRET' in key else repr(value)}"
                    for key, value in overrides.items())


@pytest.mark.parametrize(("overrides", "severity", "setting", "fragment"), UNSAFE,
                         ids=[case_id(case[0]) for case in UNSAFE])
def test_each_unsafe_setting_is_one_finding_naming_it(
        overrides: dict[str, Any], severity: str, setting: str, fragment: str) -> None:
    findings = diagnose(production_config(**overrides))

    assert [(f.severity, f.setting) for f in findings] == [(severity, setting)], findings
    assert fragment in findings[0].message


@pytest.mark.parametrize("overrides", [
    pytest.param({"JWT_ACCESS_TOKEN_EXPIRES": 3600}, id="access-token-one-hour"),
    pytest.param({"JWT_ACCESS_TOKEN_EXPIRES": timedelta(minutes=5)}, id="access-timedelta"),
    pytest.param({"JWT_DECODE_LEEWAY": 0}, id="no-leeway"),
    pytest.param({"BCRYPT_LOG_ROUNDS": 13}, id="higher-cost"),
    pytest.param({"JWT_COOKIE_SAMESITE": "None", "CORS_ORIGINS": ["https://app.example.com"]},
                 id="samesite-none-for-cors"),
    pytest.param({"JWT_COOKIE_SAMESITE": "Strict"}, id="samesite-strict"),
])
def test_safe_variations_pass(overrides: dict[str, Any]) -> None:
    assert diagnose(production_config(**overrides)) == []


def test_disabled_rate_limits_are_one_finding_whatever_the_storage() -> None:
    findings = diagnose(production_config(RATELIMIT_ENABLED=False,
                                          RATELIMIT_STORAGE_URI="memory://"))
    assert [f.setting for f in findings] == ["RATELIMIT_ENABLED"]


def test_findings_never_repeat_a_secret_value() -> None:
    findings = diagnose(production_config(SECRET_KEY=SHORT, JWT_SECRET_KEY=SHORT))
    assert findings
    assert not any(SHORT in finding.message for finding in findings)


def test_errors_come_before_warnings() -> None:
    findings = diagnose(production_config(TRUSTED_PROXY_COUNT=0, BCRYPT_LOG_ROUNDS=4,
                                          JWT_DECODE_LEEWAY=5))
    assert [f.severity for f in findings] == [ERROR, WARNING, WARNING]


def test_development_defaults_fail_naming_each_problem(tmp_path: Path) -> None:
    app = create_app({"ENV_NAME": "development"}, instance_path=str(tmp_path / "instance"))

    findings = diagnose(app.config)

    assert settings(findings, ERROR) == {
        "ENV_NAME", "JWT_COOKIE_SECURE", "JWT_ACCESS_COOKIE_NAME", "JWT_REFRESH_COOKIE_NAME",
        "SESSION_COOKIE_SECURE", "RATELIMIT_STORAGE_URI", "SQLALCHEMY_DATABASE_URI",
        "PUBLIC_URL", "MAIL_BACKEND"}  # http://127.0.0.1:5000 and mail as files
    assert settings(findings, WARNING) == {"TRUSTED_PROXY_COUNT"}


def test_testing_defaults_also_fail_on_their_published_secrets_and_cheap_hashing(
        tmp_path: Path) -> None:
    app = create_app({"ENV_NAME": "testing"}, instance_path=str(tmp_path / "instance"))

    errors = settings(diagnose(app.config), ERROR)

    assert {"TESTING", "SECRET_KEY", "JWT_SECRET_KEY", "BCRYPT_LOG_ROUNDS",
            "RATELIMIT_ENABLED"} <= errors


def test_secret_problems_lists_every_problem_and_production_start_still_refuses() -> None:
    config = {"SECRET_KEY": SHORT, "JWT_SECRET_KEY": TestingConfig.JWT_SECRET_KEY}

    assert [setting for setting, _ in secret_problems(config)] == ["SECRET_KEY",
                                                                  "JWT_SECRET_KEY"]
    with pytest.raises(RuntimeError, match="SECRET_KEY.*JWT_SECRET_KEY"):
        check_production_secrets(config)
    check_production_secrets({"SECRET_KEY": SECRET, "JWT_SECRET_KEY": JWT_SECRET})


# -- the command ----------------------------------------------------------------------------


def test_doctor_command_fails_on_the_development_defaults(tmp_path: Path) -> None:
    app = create_app({"ENV_NAME": "development"}, instance_path=str(tmp_path / "instance"))

    result = doctor(app)

    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    for setting in ("ENV_NAME", "JWT_COOKIE_SECURE", "SESSION_COOKIE_SECURE",
                    "RATELIMIT_STORAGE_URI", "SQLALCHEMY_DATABASE_URI"):
        assert any(line.startswith("ERROR") and f" {setting}: " in line for line in lines), \
            result.output
    assert any(line.startswith("WARNING") and "TRUSTED_PROXY_COUNT" in line for line in lines)
    assert "not safe for production" in lines[-1]


def test_doctor_command_passes_a_correct_production_configuration(tmp_path: Path) -> None:
    app = production_app(tmp_path)
    assert app.config["JWT_COOKIE_SECURE"] is True  # the production class really loaded

    result = doctor(app)

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "OK: the configuration passes every production check."


def test_doctor_command_judges_the_configured_database(tmp_path: Path, database_url: str) -> None:
    """The shared test databases: PostgreSQL passes, SQLite is the one problem."""
    result = doctor(production_app(tmp_path, database_url))

    if database_url.startswith("sqlite"):
        assert result.exit_code == 1
        assert result.output.splitlines()[0].startswith("ERROR    SQLALCHEMY_DATABASE_URI: ")
        assert "Connections:" not in result.output
        assert "1 error(s), 0 warning(s)" in result.output
    else:
        assert result.exit_code == 0, result.output
        assert "workers x" in result.output.splitlines()[-1]


def test_doctor_command_fails_on_weak_secrets_without_printing_them(tmp_path: Path) -> None:
    # Production refuses to start with these, so load the app first and weaken it after.
    app = production_app(tmp_path)
    app.config.update(SECRET_KEY=SHORT, JWT_SECRET_KEY=SHORT)

    result = doctor(app)

    assert result.exit_code == 1
    assert "ERROR    SECRET_KEY: " in result.output
    assert "ERROR    JWT_SECRET_KEY: " in result.output
    assert SHORT not in result.output


def test_doctor_command_warnings_pass_unless_strict(tmp_path: Path) -> None:
    app = production_app(tmp_path, TRUSTED_PROXY_COUNT=0, JWT_DECODE_LEEWAY=5)

    relaxed = doctor(app)
    strict = doctor(app, "--strict")

    assert relaxed.exit_code == 0, relaxed.output
    assert "WARNING  TRUSTED_PROXY_COUNT: " in relaxed.output
    assert "WARNING  JWT_DECODE_LEEWAY: " in relaxed.output
    assert "0 error(s), 2 warning(s): acceptable, with warnings." in relaxed.output
    assert strict.exit_code == 1
    assert "not safe for production" in strict.output
