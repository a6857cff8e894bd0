"""Sign-in challenges: the opaque ``mfa_token`` between the password and the second factor.

Only its SHA-256 is stored. It lives ``MFA_TOKEN_EXPIRES`` seconds and lets
``MAX_ATTEMPTS`` codes be tried with it: ``attempt`` counts a try before the
code is checked, in one conditional UPDATE, so even concurrent guesses get no
more; ``finish`` uses it up, once. It is not a JWT, so no token check accepts it.
"""

from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, select, update

from authapp.core.clock import utcnow
from authapp.core.extensions import db
from authapp.db.models import MfaChallenge
from authapp.tokens import opaque

MAX_ATTEMPTS = 5
_challenges = MfaChallenge.__table__
_live = (_challenges.c.token_hash == bindparam("digest"), _challenges.c.used_at.is_(None),
         _challenges.c.expires_at > bindparam("now"))
ATTEMPT = (
    update(_challenges)
    .where(*_live, _challenges.c.attempts < MAX_ATTEMPTS)
    .values(attempts=_challenges.c.attempts + 1)
    .returning(_challenges.c.user_id)
)
FINISH = update(_challenges).where(*_live).values(used_at=bindparam("now"))


def issue(user_id: int) -> str:
    """A new ``mfa_token`` for the account whose password was just right."""
    token = opaque.generate()
    now = utcnow()
    db.session.add(MfaChallenge(
        token_hash=opaque.digest(token), user_id=user_id, created_at=now, attempts=0,
        expires_at=now + timedelta(seconds=current_app.config["MFA_TOKEN_EXPIRES"])))
    return token


def attempt(token: object) -> int | None:
    """The account a live token is for, counting one try; None if it is dead or unknown."""
    digest = opaque.digest(token)
    row = None if digest is None else db.session.execute(
        ATTEMPT, {"digest": digest, "now": utcnow()}).first()
    return None if row is None else row.user_id


def finish(token: str) -> bool:
    """Use the token up; False if another request just did."""
    return db.session.execute(FINISH, {"digest": opaque.digest(token),
                                       "now": utcnow()}).rowcount == 1


def pending_account(token: object) -> int | None:
    """The account a live token with tries left is for, without counting one."""
    digest = opaque.digest(token)
    return None if digest is None else db.session.scalar(select(MfaChallenge.user_id).where(
        MfaChallenge.token_hash == digest, MfaChallenge.used_at.is_(None),
        MfaChallenge.expires_at > utcnow(), MfaChallenge.attempts < MAX_ATTEMPTS))
