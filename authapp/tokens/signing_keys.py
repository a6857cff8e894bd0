"""The ``signing_keys`` table: key states and the operator's changes to them (SPEC §12).

States: ``standby`` (published in the JWKS, signs nothing yet) → ``active``
(signs; one per algorithm) → ``retired`` (verifies until every token it signed
has expired, then deleted) — or ``revoked`` at any point (verifies nothing,
leaves the JWKS). Every instance reads the table through the key set's short
cache (tokens/keys.py), so a change here reaches all of them within a minute.

The first keys are made without a manual step (``ensure_first_keys``), on a
connection of their own, because the key set may be loaded in the middle of
another flow's transaction. Every other change is a flow of its own.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Connection, delete, insert, or_, select, update

from authapp.accounts.audit import EVENTS, new_event, record
from authapp.core.clock import iso, utcnow
from authapp.core.extensions import db
from authapp.db.models import SigningKey
from authapp.db.transaction import flow
from authapp.tokens import key_material

STANDBY, ACTIVE, RETIRED, REVOKED = "standby", "active", "retired", "revoked"
KEYS = SigningKey.__table__


class KeyChangeRefused(Exception):
    """An operator's key change that the rules refuse; nothing is written."""


def longest_token_lifetime(config: Any) -> timedelta:
    """How long a token signed now can stay valid: a retired key verifies this long."""
    seconds = max(config["JWT_ACCESS_TOKEN_EXPIRES"], config["JWT_REFRESH_TOKEN_EXPIRES"])
    return timedelta(seconds=seconds + (config["JWT_DECODE_LEEWAY"] or 0))


def still_verifies(row: Any, now: datetime, config: Any) -> bool:
    """True while a key may verify tokens: not revoked, and if retired, not for too long."""
    if row.state == REVOKED:
        return False
    return row.state != RETIRED or row.retired_at + longest_token_lifetime(config) > now


def load_rows(connection: Connection) -> list[Any]:
    """Every stored key, newest first (a handful of rows)."""
    return list(connection.execute(select(KEYS).order_by(KEYS.c.created_at.desc())))


def new_key_row(algorithm: str, state: str, now: datetime) -> dict[str, Any]:
    """A freshly generated key as a table row, its private half sealed."""
    private_key = key_material.generate_private_key(algorithm)
    members = key_material.public_members(private_key, algorithm)
    kid = key_material.thumbprint(members)
    return {
        "kid": kid, "algorithm": algorithm, "state": state,
        "public_jwk": key_material.public_jwk(members, kid, algorithm),
        "private_key": key_material.seal(private_key, kid,
                                         current_app.config["JWT_KEY_ENCRYPTION_KEY"]),
        "created_at": now, "activated_at": now if state == ACTIVE else None,
    }


def ensure_first_keys(connection: Connection, algorithm: str) -> list[dict[str, Any]]:
    """Give ``algorithm`` an active and a standby key if it lacks them; the audit rows written.

    A standby key of the algorithm becomes active when there is no active one (an
    operator who publishes it before switching ``JWT_ALGORITHM`` loses no verifier).
    Two instances racing here meet the unique index: the loser gets an IntegrityError
    and keeps the winner's keys. The caller owns the transaction and logs the events.
    """
    now = utcnow()
    states = {row.state for row in load_rows(connection) if row.algorithm == algorithm}
    if ACTIVE not in states and STANDBY in states:
        connection.execute(_set_state(algorithm, STANDBY, ACTIVE, activated_at=now))
        states = {ACTIVE}
    events = []
    for state in (ACTIVE, STANDBY):
        if state not in states:
            row = new_key_row(algorithm, state, now)
            connection.execute(insert(KEYS), row)
            events.append(new_event("signing_key_generated", kid=row["kid"],
                                    algorithm=algorithm, state=state, reason="first keys"))
            connection.execute(insert(EVENTS), events[-1])
    return events


def _set_state(algorithm: str, old: str, new: str, **times: datetime) -> Any:
    return (update(KEYS).where(KEYS.c.algorithm == algorithm, KEYS.c.state == old)
            .values(state=new, **times))


@dataclass(frozen=True)
class Rotation:
    """What a rotation did."""

    activated: str
    retired: list[str]
    standby: str
    deleted: list[str]


@flow
def generate_standby(algorithm: str) -> str:
    """Make a standby key for ``algorithm``; refused if it already has one. Returns its kid."""
    if db.session.scalar(select(KEYS.c.kid).where(KEYS.c.algorithm == algorithm,
                                                  KEYS.c.state == STANDBY)):
        raise KeyChangeRefused(f"{algorithm} already has a standby key; rotate to it, or "
                               "revoke it first.")
    row = new_key_row(algorithm, STANDBY, utcnow())
    db.session.execute(insert(KEYS), row)
    record("signing_key_generated", kid=row["kid"], algorithm=algorithm, state=STANDBY)
    return row["kid"]


@flow
def rotate(algorithm: str, *, min_published: timedelta, force: bool = False) -> Rotation:
    """The standby key of ``algorithm`` becomes active; every active key retires; a new
    standby key is made; keys no token can still need are deleted.

    Refused (unless ``force``) while the standby key has been published for less than
    ``min_published``, since verifiers holding an older JWKS would not know it yet.
    """
    now = utcnow()
    standby = db.session.execute(select(KEYS).where(KEYS.c.algorithm == algorithm,
                                                    KEYS.c.state == STANDBY)).first()
    if standby is None:
        raise KeyChangeRefused(f"{algorithm} has no standby key; run `flask keys generate` "
                               "and rotate once it has been published long enough.")
    if not force and standby.created_at + min_published > now:
        ready = iso(standby.created_at + min_published)
        raise KeyChangeRefused(
            f"the standby key {standby.kid} was published at {iso(standby.created_at)}; "
            f"verifiers may not have it yet. Rotate after {ready}, or pass --force.")
    retired = list(db.session.scalars(select(KEYS.c.kid).where(
        or_(KEYS.c.state == ACTIVE, KEYS.c.state == STANDBY), KEYS.c.kid != standby.kid)))
    db.session.execute(update(KEYS).where(KEYS.c.kid.in_(retired))
                       .values(state=RETIRED, retired_at=now))
    promoted = db.session.execute(update(KEYS).where(KEYS.c.kid == standby.kid,
                                                     KEYS.c.state == STANDBY)
                                  .values(state=ACTIVE, activated_at=now))
    if promoted.rowcount != 1:
        raise KeyChangeRefused("another rotation changed the keys at the same time; "
                               "run `flask keys list` and try again.")
    row = new_key_row(algorithm, STANDBY, now)
    db.session.execute(insert(KEYS), row)
    deleted = _delete_unneeded(now)
    rotation = Rotation(standby.kid, retired, row["kid"], deleted)
    record("signing_key_rotated", algorithm=algorithm, activated=standby.kid,
           retired=retired, standby=row["kid"], deleted=deleted)
    return rotation


def _delete_unneeded(now: datetime) -> list[str]:
    """Delete retired and revoked keys whose every token has expired."""
    cutoff = now - longest_token_lifetime(current_app.config)
    done = list(db.session.scalars(select(KEYS.c.kid).where(
        or_((KEYS.c.state == RETIRED) & (KEYS.c.retired_at <= cutoff),
            (KEYS.c.state == REVOKED) & (KEYS.c.revoked_at <= cutoff)))))
    if done:
        db.session.execute(delete(KEYS).where(KEYS.c.kid.in_(done)))
    return done


@flow
def revoke(kid: str) -> Any:
    """Emergency: the key verifies nothing from now on and leaves the JWKS.

    An active key's standby takes over at once (or a new key is made), so signing goes on.
    Returns the revoked row as it was.
    """
    row = db.session.execute(select(KEYS).where(KEYS.c.kid == kid)).first()
    if row is None:
        raise KeyChangeRefused(f"no stored key has the id {kid!r} (`flask keys list`).")
    if row.state == REVOKED:
        raise KeyChangeRefused(f"the key {kid} is already revoked.")
    now = utcnow()
    db.session.execute(update(KEYS).where(KEYS.c.kid == kid)
                       .values(state=REVOKED, revoked_at=now))
    successor = None
    if row.state == ACTIVE:
        promoted = db.session.execute(_set_state(row.algorithm, STANDBY, ACTIVE,
                                                 activated_at=now))
        fresh = new_key_row(row.algorithm, STANDBY if promoted.rowcount else ACTIVE, now)
        db.session.execute(insert(KEYS), fresh)
        successor = fresh["kid"]
    record("signing_key_revoked", kid=kid, algorithm=row.algorithm, was=row.state,
           new_key=successor)
    return row
