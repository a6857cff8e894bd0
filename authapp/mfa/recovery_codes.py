"""Recovery codes: ten single-use codes, stored only as bcrypt hashes.

A code is 16 base32 characters (80 random bits), shown as ``ABCD-EFGH-JKLM-NPQR``
and read back without regard to case, spaces or dashes. Its first four
characters are a selector stored in the clear, so using a code costs one
bcrypt check, not ten; the other twelve (60 bits) are the hashed secret.
Each code is an ``authenticators`` row, used up by one conditional UPDATE.
"""

import secrets

from sqlalchemy import bindparam, select, update

from authapp.accounts import audit
from authapp.accounts.passwords import hash_password, verify_password
from authapp.core.clock import utcnow
from authapp.core.errors import ValidationFailed
from authapp.core.extensions import db
from authapp.db.models import Authenticator
from authapp.db.transaction import flow
from authapp.http.client import Client
from authapp.mfa import factors

CODES_PER_SET = 10
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # RFC 4648 base32: 5 bits a character
LENGTH = 16
SELECTOR = 4
GROUP = 4
MAX_INPUT = 64
_authenticators = Authenticator.__table__
USE_CODE = (
    update(_authenticators)
    .where(_authenticators.c.id == bindparam("row_id"), _authenticators.c.last_used_at.is_(None))
    .values(last_used_at=bindparam("now"))
)


def normalize(text: str) -> str | None:
    """The code a person typed, in its stored form; None if it cannot be one of ours."""
    if len(text) > MAX_INPUT:
        return None
    code = "".join(text.split()).replace("-", "").upper()
    return code if len(code) == LENGTH and all(ch in ALPHABET for ch in code) else None


def _shown(code: str) -> str:
    return "-".join(code[i:i + GROUP] for i in range(0, LENGTH, GROUP))


def replace(user_id: int) -> list[str]:
    """A new set of codes for the account (the old set dies); returns them for display."""
    factors.remove(user_id, factors.RECOVERY_CODE)
    codes: dict[str, str] = {}
    while len(codes) < CODES_PER_SET:  # distinct selectors, so a selector names one code
        code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        codes.setdefault(code[:SELECTOR], code)
    now = utcnow()
    db.session.add_all(
        Authenticator(user_id=user_id, type=factors.RECOVERY_CODE, created_at=now,
                      confirmed_at=now,
                      data={"selector": selector, "hash": hash_password(code[SELECTOR:])})
        for selector, code in codes.items())
    db.session.flush()
    return [_shown(code) for code in codes.values()]


def use(user_id: int, typed: str) -> bool:
    """Use up one of the account's unused codes; False if ``typed`` is none of them.

    One bcrypt check runs whatever was typed (a dummy one for an unknown selector).
    """
    code = normalize(typed) or ""
    unused = db.session.scalars(select(Authenticator).where(
        Authenticator.user_id == user_id, Authenticator.type == factors.RECOVERY_CODE,
        Authenticator.last_used_at.is_(None))).all()
    row = next((r for r in unused if code and secrets.compare_digest(
        r.data["selector"], code[:SELECTOR])), None)
    if not verify_password(code[SELECTOR:], row.data["hash"] if row else None) or row is None:
        return False
    return db.session.execute(USE_CODE, {"row_id": row.id, "now": utcnow()}).rowcount == 1


@flow
def regenerate(user_id: int, session_id: str, client: Client) -> list[str]:
    """A new set of codes for an account with two-factor sign-in on."""
    if not factors.enabled(user_id):
        raise ValidationFailed({"recovery_codes": ["Turn on two-factor sign-in first."]})
    codes = replace(user_id)
    audit.record("recovery_codes_regenerated", client=client, user_id=user_id,
                 session_id=session_id)
    return codes
