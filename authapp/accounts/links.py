"""Mailed links: 32 random bytes in the link, only their SHA-256 in the database.

A GET never consumes a link (mail scanners fetch links before people do);
``consume`` is one conditional UPDATE, so of two concurrent uses exactly one
wins. A link also dies when it expires and when ``retire`` ends its purpose
(a newer reset link was mailed, the password changed, the address changed).
"""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select, update

from authapp.core.clock import utcnow
from authapp.core.errors import LinkInvalid
from authapp.core.extensions import db
from authapp.db.models import LinkToken
from authapp.tokens import opaque

VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"  # noqa: S105  (a link purpose, not a password)
CHANGE_EMAIL = "change_email"
_links = LinkToken.__table__
CONSUME = (
    update(_links)
    .where(_links.c.token_hash == bindparam("digest"), _links.c.purpose == bindparam("kind"),
           _links.c.used_at.is_(None), _links.c.expires_at > bindparam("now"))
    .values(used_at=bindparam("now"))
    .returning(_links.c.user_id, _links.c.email)
)


@dataclass(frozen=True)
class LinkUse:
    """Whom a consumed link was for."""

    user_id: int
    email: str


def issue(user_id: int, purpose: str, email: str, lifetime_seconds: int) -> str:
    """A new link token for ``purpose``; returns the token that goes into the link."""
    token = opaque.generate()
    now = utcnow()
    db.session.add(LinkToken(token_hash=opaque.digest(token), purpose=purpose, user_id=user_id,
                             email=email, created_at=now,
                             expires_at=now + timedelta(seconds=lifetime_seconds)))
    return token


def retire(user_id: int, purpose: str) -> None:
    """End every unused link of ``purpose`` for this user."""
    now = utcnow()
    db.session.execute(update(_links).where(
        _links.c.user_id == user_id, _links.c.purpose == purpose, _links.c.used_at.is_(None),
    ).values(used_at=now).execution_options(synchronize_session=False))


def peek(token: str, purpose: str) -> LinkUse | None:
    """Whom a link is for if it would work, without using it up (a GET, a form to show)."""
    digest = opaque.digest(token)
    if digest is None:
        return None
    row = db.session.execute(select(LinkToken.user_id, LinkToken.email).where(
        LinkToken.token_hash == digest, LinkToken.purpose == purpose,
        LinkToken.used_at.is_(None), LinkToken.expires_at > utcnow())).first()
    return None if row is None else LinkUse(row.user_id, row.email)


def consume(token: str, purpose: str) -> LinkUse:
    """Use a link up, atomically, or raise LinkInvalid."""
    digest = opaque.digest(token)
    row = None if digest is None else db.session.execute(
        CONSUME, {"digest": digest, "kind": purpose, "now": utcnow()}).first()
    if row is None:
        raise LinkInvalid()
    return LinkUse(row.user_id, row.email)


def last_issued_seconds_ago(user_id: int, purpose: str) -> float | None:
    """How long ago the newest link of ``purpose`` was issued to this user, if ever."""
    newest = db.session.scalar(select(LinkToken.created_at).where(
        LinkToken.user_id == user_id, LinkToken.purpose == purpose,
    ).order_by(LinkToken.created_at.desc()).limit(1))
    return None if newest is None else (utcnow() - newest).total_seconds()
