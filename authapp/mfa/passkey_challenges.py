"""Server-side WebAuthn challenges: 32 random bytes, single use, ``WEBAUTHN_CHALLENGE_EXPIRES``.

A ceremony's options carry the challenge; the client names it back by an opaque
``challenge_id`` (stored as its SHA-256). ``consume`` uses it up in one conditional
UPDATE that also checks its purpose and what it is bound to (the account, and for a
second factor the pending sign-in's ``mfa_token``), so of two requests with one
challenge exactly one gets it, and a challenge of another purpose or account is none.
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, update

from authapp.core.clock import utcnow
from authapp.core.extensions import db
from authapp.db.models import PasskeyChallenge
from authapp.tokens import opaque

CHALLENGE_BYTES = 32
REGISTER = "register"
SIGN_IN = "sign_in"
SECOND_FACTOR = "second_factor"
REAUTHENTICATE = "reauthenticate"
_challenges = PasskeyChallenge.__table__
CONSUME = (
    update(_challenges)
    .where(_challenges.c.id_hash == bindparam("digest"),
           _challenges.c.purpose == bindparam("wanted_purpose"),
           _challenges.c.used_at.is_(None), _challenges.c.expires_at > bindparam("now"))
    .values(used_at=bindparam("now"))
    .returning(_challenges.c.challenge, _challenges.c.user_handle)
)


@dataclass(frozen=True)
class Issued:
    """A new challenge: its bytes for the options, its id for the client."""

    challenge: bytes
    challenge_id: str


@dataclass(frozen=True)
class Consumed:
    """A challenge just used up: the bytes the client data must carry."""

    challenge: bytes
    user_handle: str | None


def issue(purpose: str, *, user_id: int | None = None, bound_to: str | None = None,
          user_handle: str | None = None) -> Issued:
    """Store a new challenge for ``purpose`` (adds to the current transaction)."""
    challenge, challenge_id, now = secrets.token_bytes(CHALLENGE_BYTES), opaque.generate(), utcnow()
    lifetime = timedelta(seconds=current_app.config["WEBAUTHN_CHALLENGE_EXPIRES"])
    db.session.add(PasskeyChallenge(
        id_hash=opaque.digest(challenge_id), purpose=purpose, user_id=user_id,
        bound_to=None if bound_to is None else opaque.digest(bound_to),
        user_handle=user_handle, challenge=challenge, created_at=now, expires_at=now + lifetime))
    db.session.flush()
    return Issued(challenge, challenge_id)


def consume(challenge_id: object, purpose: str, *, user_id: int | None = None,
            bound_to: str | None = None) -> Consumed | None:
    """Use up a live challenge of ``purpose`` bound to exactly these; None if there is none."""
    digest = opaque.digest(challenge_id)
    bound_digest = None if bound_to is None else opaque.digest(bound_to)
    if digest is None or (bound_to is not None and bound_digest is None):
        return None
    statement = CONSUME.where(
        _challenges.c.user_id.is_(None) if user_id is None else _challenges.c.user_id == user_id,
        _challenges.c.bound_to.is_(None) if bound_digest is None
        else _challenges.c.bound_to == bound_digest)
    row = db.session.execute(statement, {"digest": digest, "wanted_purpose": purpose,
                                         "now": utcnow()}).first()
    return None if row is None else Consumed(row.challenge, row.user_handle)
