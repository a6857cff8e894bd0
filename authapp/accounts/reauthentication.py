"""Recent authentication ("sudo mode", SPEC §9): has this session proved itself lately?

A session's ``auth_time`` is when it last proved who it is (sign-in, second
factor, re-authentication). Sensitive actions need it within
``REAUTH_MAX_AGE`` seconds; re-authenticating moves it to now for the whole
session, so the refreshed tokens carry it too.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, select, update

from authapp.accounts import audit, roles
from authapp.accounts.passwords import verify_password
from authapp.accounts.revocation import Principal
from authapp.core.clock import utcnow
from authapp.core.errors import (
    InvalidCredentials,
    MfaInvalid,
    ReauthenticationRequired,
    TokenRevoked,
)
from authapp.core.extensions import db
from authapp.db import direct
from authapp.db.models import Session, User
from authapp.db.transaction import flow
from authapp.http.client import Client
from authapp.mfa import factors, passkeys, totp
from authapp.mfa.passkey_challenges import REAUTHENTICATE
from authapp.tokens.mint import Grant

PASSWORD_BY_ID = direct.hot_statement(
    "password_by_id", select(User.password_hash).where(User.id == bindparam("id")))
_sessions = Session.__table__
PROVE_SESSION = (
    update(_sessions)
    .where(_sessions.c.id == bindparam("session_id"), _sessions.c.user_id == bindparam("owner_id"),
           _sessions.c.revoked_at.is_(None))
    .values(auth_time=bindparam("proved_at"))
    .returning(_sessions.c.expires_at, _sessions.c.amr,
               roles.role_names_of(_sessions.c.user_id).label("roles"))
)


@dataclass(frozen=True)
class SessionState:
    """What ``GET /api/auth/session`` tells a client before it attempts a sensitive action."""

    session_id: str
    auth_time: datetime
    amr: list[str]
    reauthenticated_until: datetime
    mfa_enabled: bool


def methods(user_id: int) -> list[str]:
    """How this account can re-authenticate."""
    return factors.reauthentication_methods(user_id)


def recently_authenticated(claims: dict[str, Any]) -> bool:
    """True while the token's ``auth_time`` is within ``REAUTH_MAX_AGE``."""
    return claims["auth_time"] >= time.time() - current_app.config["REAUTH_MAX_AGE"]


def require_recent_authentication(claims: dict[str, Any], principal: Principal) -> None:
    """Raise ReauthenticationRequired (with the account's methods) for a stale session."""
    if not recently_authenticated(claims):
        raise ReauthenticationRequired(methods(principal.id))


def session_state(claims: dict[str, Any]) -> SessionState:
    """The session's standing as its access token states it."""
    auth_time = datetime.fromtimestamp(claims["auth_time"], UTC)
    until = datetime.fromtimestamp(claims["auth_time"] + current_app.config["REAUTH_MAX_AGE"],
                                   UTC)
    return SessionState(claims["sid"], auth_time, list(claims["amr"]), until,
                        factors.enabled(int(claims["sub"])))


@flow
def reauthenticate_with_password(principal: Principal, password: str, client: Client) -> Grant:
    """Prove the session again with the account's password; the new grant starts now.

    The hash is read on the direct connection, so no transaction is open during bcrypt.
    """
    row = direct.fetch_one(PASSWORD_BY_ID, id=str(principal.id))
    if row is None or not verify_password(password, row[0]):
        audit.record("reauthentication_failed", client=client, user_id=principal.id,
                     session_id=principal.session_id, method="password")
        raise InvalidCredentials("The password is not correct.")
    return _prove(principal, client, "password")


@flow
def reauthenticate_with_code(principal: Principal, code: str, client: Client) -> Grant:
    """Prove the session again with a current TOTP code (each step accepted once)."""
    if not totp.verify(principal.id, code):
        audit.record("reauthentication_failed", client=client, user_id=principal.id,
                     session_id=principal.session_id, method="totp")
        raise MfaInvalid("The code is not correct.")
    return _prove(principal, client, "totp")


@flow
def reauthenticate_with_passkey(principal: Principal, challenge_id: str | None,
                                credential: dict[str, Any], client: Client) -> Grant:
    """Prove the session again with one of the account's passkeys."""
    if passkeys.check(challenge_id, credential, REAUTHENTICATE, user_id=principal.id,
                      client=client) is None:
        audit.record("reauthentication_failed", client=client, user_id=principal.id,
                     session_id=principal.session_id, method="passkey")
        raise InvalidCredentials("This passkey could not confirm it is you.")
    return _prove(principal, client, "passkey")


def _prove(principal: Principal, client: Client, method: str) -> Grant:
    """Move the session's ``auth_time`` to now; the grant its new tokens carry."""
    now = utcnow()
    proved = db.session.execute(PROVE_SESSION, {"session_id": principal.session_id,
                                                "owner_id": principal.id, "proved_at": now}).first()
    if proved is None:
        raise TokenRevoked("This session has been signed out.")
    audit.record("reauthenticated", client=client, user_id=principal.id,
                 session_id=principal.session_id, method=method)
    return Grant(principal.id, principal.session_id, proved.expires_at, now,
                 tuple(proved.amr.split()), roles.parse_names(proved.roles))
