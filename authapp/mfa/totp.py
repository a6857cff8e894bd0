"""TOTP (RFC 6238: SHA-1, 6 digits, 30 s, ±1 step) with each step accepted at most once.

The secret (160 bits) is sealed at rest under ``MFA_ENCRYPTION_KEY``
(core/sealing.py), bound to its account. Replay protection is one
conditional UPDATE: a code is accepted only if its step is above the stored
``last_used_step``, so of two requests with one code exactly one wins, and a
code older than one already used is refused — the confirming code included.
"""

import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

import pyotp
from flask import current_app
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError

from authapp.accounts import audit, sessions
from authapp.core import sealing
from authapp.core.clock import utcnow
from authapp.core.errors import MfaInvalid, ServiceUnavailable, ValidationFailed
from authapp.core.extensions import db
from authapp.db.models import Authenticator, User
from authapp.db.transaction import flow
from authapp.http.client import Client
from authapp.mfa import factors, recovery_codes
from authapp.mfa.notices import notify

DIGITS = 6
PERIOD = 30
WINDOW = 1  # steps tolerated either side of now
SECRET_BASE32_CHARS = 32  # 160 bits
SEAL_PURPOSE = b"authapp totp secrets at rest v1"
CODE = re.compile(r"[0-9]{6}")
_authenticators = Authenticator.__table__
USE_STEP = (
    update(_authenticators)
    .where(_authenticators.c.id == bindparam("row_id"),
           or_(_authenticators.c.last_used_step.is_(None),
               _authenticators.c.last_used_step < bindparam("step")))
    .values(last_used_step=bindparam("step"), last_used_at=bindparam("now"))
)
# The confirming code also turns the factor on, once.
CONFIRM_STEP = USE_STEP.where(_authenticators.c.confirmed_at.is_(None)).values(
    confirmed_at=bindparam("now"))


@dataclass(frozen=True)
class Enrolment:
    """A pending TOTP: the secret for manual entry and the URI its QR code shows."""

    secret: str
    otpauth_uri: str


def _encryption_key() -> str:
    key = current_app.config.get("MFA_ENCRYPTION_KEY")
    if not key:
        raise ServiceUnavailable("Two-factor sign-in is not configured on this server "
                                 "(MFA_ENCRYPTION_KEY is not set).")
    return key


def _bound_to(user_id: int) -> bytes:
    return f"totp:{user_id}".encode()


def seal_secret(secret: str, user_id: int) -> str:
    return sealing.seal(secret.encode(), _bound_to(user_id), _encryption_key(), SEAL_PURPOSE)


def open_secret(row: Authenticator) -> str:
    return sealing.unseal(row.data["secret"], _bound_to(row.user_id), _encryption_key(),
                          SEAL_PURPOSE).decode()


def otpauth_uri(secret: str, username: str) -> str:
    """``otpauth://totp/<issuer>:<username>?secret=…&issuer=…&digits=6&period=30``."""
    issuer = current_app.config["MFA_ISSUER"]
    query = urlencode({"secret": secret, "issuer": issuer, "digits": DIGITS, "period": PERIOD},
                      quote_via=quote)
    return f"otpauth://totp/{quote(issuer)}:{quote(username)}?{query}"


def matching_step(secret: str, code: str, at: datetime) -> int | None:
    """The time step within ±``WINDOW`` of ``at`` whose code is ``code``, if any."""
    code = "".join(code.split())
    if not CODE.fullmatch(code):
        return None
    generator = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD)
    now = generator.timecode(at)
    for step in (now, now - WINDOW, now + WINDOW):
        if hmac.compare_digest(generator.generate_otp(step), code):
            return step
    return None


def _accept(row: Authenticator, code: str, statement=USE_STEP) -> bool:
    """True if ``code`` is right for ``row`` and its step was not used yet (now used)."""
    now = utcnow()
    step = matching_step(open_secret(row), code, now)
    return step is not None and db.session.execute(
        statement, {"row_id": row.id, "step": step, "now": now}).rowcount == 1


def _row(user_id: int) -> Authenticator | None:
    return db.session.scalar(select(Authenticator).where(
        Authenticator.user_id == user_id, Authenticator.type == factors.TOTP))


def confirmed(user_id: int) -> Authenticator | None:
    """The account's TOTP if it is on."""
    row = _row(user_id)
    return row if row is not None and row.confirmed_at is not None else None


def verify(user_id: int, code: str) -> bool:
    """Accept a code of the account's TOTP, at most once per step."""
    row = confirmed(user_id)
    return row is not None and _accept(row, code)


def _still_pending(row: Authenticator | None) -> bool:
    lifetime = timedelta(seconds=current_app.config["MFA_ENROLMENT_EXPIRES"])
    return (row is not None and row.confirmed_at is None
            and row.created_at + lifetime > utcnow())


def pending_enrolment(user: User) -> Enrolment | None:
    """The set-up waiting for its confirming code, if it has not expired."""
    row = _row(user.id)
    if not _still_pending(row):
        return None
    secret = open_secret(row)
    return Enrolment(secret, otpauth_uri(secret, user.username))


@flow
def begin_enrolment(user: User, client: Client) -> Enrolment:
    """A new pending secret (replacing an unconfirmed one) for the account to confirm."""
    row = _row(user.id)
    if row is not None and row.confirmed_at is not None:
        raise ValidationFailed({"totp": ["Two-factor sign-in is already on. Turn it off "
                                         "first to move to another authenticator app."]})
    secret = pyotp.random_base32(SECRET_BASE32_CHARS)
    if row is None:
        row = Authenticator(user_id=user.id, type=factors.TOTP)
        db.session.add(row)
    row.data = {"secret": seal_secret(secret, user.id)}
    row.created_at, row.last_used_step, row.last_used_at = utcnow(), None, None
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:  # a concurrent set-up of the same account won
        raise ValidationFailed({"totp": ["A set-up is already under way; try again."]}) from exc
    audit.record("mfa_setup_started", client=client, user_id=user.id)
    return Enrolment(secret, otpauth_uri(secret, user.username))


@flow
def confirm_enrolment(user: User, code: str, keep_session: str, client: Client) -> list[str]:
    """Turn TOTP on with a first code; returns the recovery codes (shown once).

    Every other session of the account is signed out, and the account is mailed.
    """
    row = _row(user.id)
    if not _still_pending(row):
        raise ValidationFailed({"code": ["No set-up is waiting for a code (it lasts 15 "
                                         "minutes): start again."]})
    if not _accept(row, code, CONFIRM_STEP):
        audit.record("mfa_failed", client=client, user_id=user.id, session_id=keep_session,
                     action="enable")
        raise MfaInvalid("The code is not correct. Check the time on your phone and try "
                         "the newest code.")
    codes = recovery_codes.replace(user.id)
    revoked = sessions.revoke_user_sessions(user.id, "mfa_enabled", keep=keep_session)
    notify(user, "mfa_enabled")
    audit.record("mfa_enabled", client=client, user_id=user.id, session_id=keep_session,
                 other_sessions_revoked=revoked)
    return codes


@flow
def disable(user: User, code: str, keep_session: str, client: Client) -> int:
    """Turn two-factor sign-in off with a current code; returns how many sessions ended."""
    row = confirmed(user.id)
    if row is None:
        raise ValidationFailed({"code": ["Two-factor sign-in is not on."]})
    if not _accept(row, code):
        audit.record("mfa_failed", client=client, user_id=user.id, session_id=keep_session,
                     action="disable")
        raise MfaInvalid("The code is not correct.")
    factors.remove(user.id, factors.TOTP, factors.RECOVERY_CODE)
    revoked = sessions.revoke_user_sessions(user.id, "mfa_disabled", keep=keep_session)
    notify(user, "mfa_disabled")
    audit.record("mfa_disabled", client=client, user_id=user.id, session_id=keep_session,
                 other_sessions_revoked=revoked)
    return revoked
