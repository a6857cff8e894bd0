"""Test apps: the configuration they start from and the clean-up after them."""

from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import delete

from authapp.core.extensions import db
from authapp.db.models import (
    Authenticator,
    AuthEvent,
    LinkToken,
    MfaChallenge,
    OutboxMessage,
    Passkey,
    PasskeyChallenge,
    RevokedToken,
    Role,
    Session,
    SigningKey,
    User,
    UserRole,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = str(REPO_ROOT / "migrations")  # flask_migrate takes a str


def make_config(database_url: str, **overrides: Any) -> dict[str, Any]:
    """The configuration every test app starts from."""
    # No mail thread in the test process, whatever the environment says (some tests clear
    # it): one would deliver the shared test database's outbox behind other tests' backs.
    return {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url,
            "MAIL_WORKER_ENABLED": False, **overrides}


def delete_all_rows(app: Flask) -> None:
    """Leave the shared test database empty for the next test."""
    with app.app_context():
        for model in (Passkey, PasskeyChallenge, Authenticator, MfaChallenge, OutboxMessage,
                      LinkToken, AuthEvent, RevokedToken, Session, UserRole, Role, User,
                      SigningKey):
            db.session.execute(delete(model))
        db.session.commit()
        db.engine.dispose()
