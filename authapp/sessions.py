"""Sessions (refresh-token families): start, rotate, revoke, list.

Every function here is request-free so the pages and the API share it.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from .clock import utcnow
from .errors import TokenReused, TokenRevoked
from .extensions import db
from .models import IP_MAX, USER_AGENT_MAX, RevokedToken, Session


@dataclass(frozen=True)
class Client:
    """Where a request came from, as recorded on the session it starts."""

    ip: str
    user_agent: str


@dataclass(frozen=True)
class Rotation:
    """The outcome of a successful refresh.

    ``refresh_jti`` is None for a grace answer: the immediately previous
    token was presented again within the grace window, so only a new access
    token is issued and the session's current refresh token stays valid.
    """

    session_id: str
    user_id: int
    session_expires_at: datetime
    refresh_jti: str | None


def new_jti() -> str:
    """A fresh token id."""
    return str(uuid.uuid4())


def start_session(user_id: int, client: Client) -> Session:
    """Open a session for a fresh sign-in and commit it."""
    now = utcnow()
    lifetime = timedelta(seconds=current_app.config["SESSION_MAX_LIFETIME"])
    session = Session(
        user_id=user_id,
        created_at=now,
        last_used_at=now,
        expires_at=now + lifetime,
        user_agent=client.user_agent[:USER_AGENT_MAX],
        ip=client.ip[:IP_MAX],
        refresh_jti=new_jti(),
    )
    db.session.add(session)
    db.session.commit()
    return session


def refresh_lifetime(session_expires_at: datetime) -> timedelta:
    """A refresh token's lifetime: the configured one, never past the session's end."""
    configured = timedelta(seconds=current_app.config["JWT_REFRESH_TOKEN_EXPIRES"])
    return max(timedelta(0), min(configured, session_expires_at - utcnow()))


def rotate(session_id: str, presented_jti: str) -> Rotation:
    """Retire ``presented_jti`` and name its successor, atomically.

    The compare-and-set UPDATE only succeeds while the presented token is
    still the session's current one, so of N concurrent refreshes with one
    token exactly one mints a successor; the others fall through to the
    grace or reuse rules below.
    """
    now = utcnow()
    successor = new_jti()
    won = db.session.execute(
        update(Session)
        .where(
            Session.id == session_id,
            Session.refresh_jti == presented_jti,
            Session.revoked_at.is_(None),
            Session.expires_at > now,
        )
        .values(refresh_jti=successor, previous_jti=presented_jti, rotated_at=now, last_used_at=now)
        .returning(Session.user_id, Session.expires_at)
        .execution_options(synchronize_session=False)
    ).first()
    db.session.commit()
    if won is not None:
        return Rotation(session_id, won.user_id, won.expires_at, successor)
    return _after_lost_compare_and_set(session_id, presented_jti, now)


def _after_lost_compare_and_set(session_id: str, presented_jti: str, now: datetime) -> Rotation:
    """The presented token is not current: a grace answer, or theft."""
    session = db.session.get(Session, session_id, populate_existing=True)
    if session is None or session.revoked_at is not None or session.expires_at <= now:
        raise TokenRevoked("This session has been signed out.")
    grace = timedelta(seconds=current_app.config["REFRESH_REUSE_GRACE"])
    if (session.previous_jti == presented_jti and session.rotated_at is not None
            and now - session.rotated_at <= grace):
        return Rotation(session.id, session.user_id, session.expires_at, None)
    revoke_session(session.id, "reuse_detected")
    raise TokenReused("This refresh token was already used; the session has been revoked.")


def revoke_session(session_id: str, reason: str, *, user_id: int | None = None) -> bool:
    """Revoke one live session (optionally only if ``user_id`` owns it); True if it was live."""
    conditions = [Session.id == session_id, Session.revoked_at.is_(None)]
    if user_id is not None:
        conditions.append(Session.user_id == user_id)
    result = db.session.execute(
        update(Session).where(*conditions).values(revoked_at=utcnow(), revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def revoke_user_sessions(user_id: int, reason: str, *, keep: str | None = None) -> int:
    """Revoke every live session of a user, except ``keep``; returns how many."""
    conditions = [Session.user_id == user_id, Session.revoked_at.is_(None)]
    if keep is not None:
        conditions.append(Session.id != keep)
    result = db.session.execute(
        update(Session).where(*conditions).values(revoked_at=utcnow(), revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


def revoke_token(jti: str, token_type: str, user_id: int, expires_at: datetime,
                 reason: str) -> None:
    """Record a single token as revoked until its own expiry (idempotent)."""
    db.session.add(RevokedToken(jti=jti, token_type=token_type, user_id=user_id,
                                expires_at=expires_at, reason=reason))
    try:
        db.session.commit()
    except IntegrityError:  # revoked concurrently: the outcome is the same
        db.session.rollback()


def live_sessions(user_id: int) -> list[Session]:
    """The user's sessions that are neither revoked nor expired, newest first."""
    return list(db.session.scalars(
        select(Session)
        .where(Session.user_id == user_id, Session.revoked_at.is_(None),
               Session.expires_at > utcnow())
        .order_by(Session.created_at.desc(), Session.id)
    ))
