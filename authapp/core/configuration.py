"""Load configuration in its documented order and refuse unsafe secrets."""

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from authapp.tokens.key_material import ASYMMETRIC_ALGORITHMS
from config import CONFIGS, TestingConfig

MIN_SECRET_BYTES = 32
SECRET_KEYS = ("SECRET_KEY", "JWT_SECRET_KEY")
DEV_SECRETS_FILE = "secrets.json"
MIN_DISTINCT_CHARS = 12
KNOWN_SECRETS = {TestingConfig.SECRET_KEY, TestingConfig.JWT_SECRET_KEY,
                 TestingConfig.JWT_KEY_ENCRYPTION_KEY, TestingConfig.MFA_ENCRYPTION_KEY}
ALGORITHMS = ("HS256", *ASYMMETRIC_ALGORITHMS)
KEY_ENCRYPTION_KEY = "JWT_KEY_ENCRYPTION_KEY"
DEV_KEY_ENCRYPTION_LABEL = b"authapp development key-encryption key"
MFA_ENCRYPTION_KEY = "MFA_ENCRYPTION_KEY"
DEV_MFA_ENCRYPTION_LABEL = b"authapp development MFA encryption key"


def load_config(app: Flask, overrides: Mapping[str, Any] | None = None) -> None:
    """Fill ``app.config``: class, instance file, environment, overrides."""
    env = (overrides or {}).get("ENV_NAME") or os.environ.get("AUTHAPP_ENV", "development")
    if env not in CONFIGS:
        raise RuntimeError(f"AUTHAPP_ENV must be one of {sorted(CONFIGS)}, not {env!r}")
    app.config.from_object(CONFIGS[env])
    app.config["ENV_NAME"] = env
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("AUTHAPP")
    if os.environ.get("DATABASE_URL") and "AUTHAPP_SQLALCHEMY_DATABASE_URI" not in os.environ:
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if overrides:
        app.config.update(overrides)

    app.config["SQLALCHEMY_DATABASE_URI"] = database_uri(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A local file never drops the connection; skip the per-checkout ping.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **app.config["SQLALCHEMY_ENGINE_OPTIONS"], "pool_pre_ping": False}
    if app.config["CORS_ORIGINS"]:
        # Cross-site frontends can only send cookies marked SameSite=None, which need Secure.
        app.config["JWT_COOKIE_SAMESITE"] = "None"
        app.config["JWT_COOKIE_SECURE"] = True
    if app.config["JWT_ALGORITHM"] not in ALGORITHMS:
        raise RuntimeError(f"JWT_ALGORITHM must be one of {ALGORITHMS}, "
                           f"not {app.config['JWT_ALGORITHM']!r}")
    if env == "development":
        _load_or_create_dev_secrets(app)
        # Derived, not stored: AUTHAPP_JWT_ALGORITHM=ES256 alone is enough to start.
        for setting, label in ((KEY_ENCRYPTION_KEY, DEV_KEY_ENCRYPTION_LABEL),
                               (MFA_ENCRYPTION_KEY, DEV_MFA_ENCRYPTION_LABEL)):
            if not app.config.get(setting):
                app.config[setting] = hmac.new(app.config["JWT_SECRET_KEY"].encode(), label,
                                               hashlib.sha256).hexdigest()
    if env == "production":
        check_production_secrets(app.config)


def database_uri(app: Flask) -> str:
    """The configured database, defaulting to SQLite in instance/, on psycopg 3."""
    uri = app.config.get("SQLALCHEMY_DATABASE_URI")
    if not uri:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        return "sqlite:///" + os.path.join(app.instance_path, "authapp.sqlite3")
    for prefix in ("postgres://", "postgresql://"):
        if uri.startswith(prefix):
            return "postgresql+psycopg://" + uri[len(prefix):]
    return uri


def _load_or_create_dev_secrets(app: Flask) -> None:
    """Generate the development secrets once, readable only by their owner."""
    if all(app.config.get(key) for key in SECRET_KEYS):
        return
    path = Path(app.instance_path) / DEV_SECRETS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        stored = json.loads(path.read_text())
    else:
        stored = {key: secrets.token_urlsafe(48) for key in SECRET_KEYS}
        with os.fdopen(fd, "w") as handle:
            json.dump(stored, handle)
    for key in SECRET_KEYS:
        if not app.config.get(key):
            app.config[key] = stored[key]


def secret_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every way the secrets fall short, as ``(setting, what to do)`` pairs.

    ``JWT_KEY_ENCRYPTION_KEY`` counts only with an asymmetric ``JWT_ALGORITHM``.
    """
    problems = []
    checked = SECRET_KEYS
    if config.get("JWT_ALGORITHM") in ASYMMETRIC_ALGORITHMS:
        checked = (*SECRET_KEYS, KEY_ENCRYPTION_KEY)
        sealing = config.get(KEY_ENCRYPTION_KEY)
        if sealing and sealing in {config.get(key) for key in SECRET_KEYS}:
            problems.append((KEY_ENCRYPTION_KEY, f"{KEY_ENCRYPTION_KEY} must differ from "
                                                 "SECRET_KEY and JWT_SECRET_KEY."))
    for key in checked:
        value = config.get(key)
        if not value or len(str(value).encode()) < MIN_SECRET_BYTES:
            problems.append((key, f"{key} must be set to a random value of at least "
                                  f"{MIN_SECRET_BYTES} bytes in production (AUTHAPP_{key})."))
        elif value in KNOWN_SECRETS or len(set(str(value))) < MIN_DISTINCT_CHARS:
            problems.append((key, f"{key} is a published or low-entropy value; "
                                  "generate a random one."))
    secret, jwt_secret = config.get("SECRET_KEY"), config.get("JWT_SECRET_KEY")
    if secret and secret == jwt_secret:
        problems.append(("JWT_SECRET_KEY", "SECRET_KEY and JWT_SECRET_KEY must differ; "
                                           "give each its own random value."))
    return problems


def check_production_secrets(config: Mapping[str, Any]) -> None:
    """Refuse to start production with a missing, short or shared secret."""
    if problems := secret_problems(config):
        raise RuntimeError(" ".join(message for _, message in problems))
