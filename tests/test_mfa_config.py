"""MFA_ENCRYPTION_KEY: derived in development, judged by `auth doctor` for production."""

import secrets
from pathlib import Path

import pytest
from support.apps import make_config

from authapp import create_app
from authapp.core.doctor import ERROR, diagnose
from config import ProductionConfig, TestingConfig


def production(**overrides) -> dict:
    config = {key: getattr(ProductionConfig, key) for key in dir(ProductionConfig)
              if key.isupper()}
    config.update(ENV_NAME="production", SECRET_KEY=secrets.token_urlsafe(48),
                  JWT_SECRET_KEY=secrets.token_urlsafe(48),
                  MFA_ENCRYPTION_KEY=secrets.token_urlsafe(48))
    config.update(overrides)
    return config


def mfa_findings(config: dict) -> list:
    return [f for f in diagnose(config) if f.setting == "MFA_ENCRYPTION_KEY"]


def test_a_random_key_passes():
    assert mfa_findings(production()) == []


@pytest.mark.parametrize("value", [None, "", "short", TestingConfig.MFA_ENCRYPTION_KEY,
                                   "a" * 40])
def test_a_missing_short_published_or_low_entropy_key_is_an_error(value):
    [finding] = mfa_findings(production(MFA_ENCRYPTION_KEY=value))
    assert finding.severity == ERROR


def test_a_key_shared_with_another_secret_is_an_error():
    config = production()
    config["MFA_ENCRYPTION_KEY"] = config["SECRET_KEY"]
    [finding] = mfa_findings(config)
    assert "differ" in finding.message


def test_development_derives_a_stable_key_of_its_own(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("AUTHAPP_MFA_ENCRYPTION_KEY", raising=False)
    url = f"sqlite:///{tmp_path / 'dev.sqlite3'}"
    first = create_app(make_config(url, ENV_NAME="development"),
                       instance_path=str(tmp_path / "instance"))
    again = create_app(make_config(url, ENV_NAME="development"),
                       instance_path=str(tmp_path / "instance"))
    key = first.config["MFA_ENCRYPTION_KEY"]
    assert len(key) >= 32 and key == again.config["MFA_ENCRYPTION_KEY"]
    assert key not in {first.config["JWT_KEY_ENCRYPTION_KEY"], first.config["SECRET_KEY"],
                       first.config["JWT_SECRET_KEY"]}
