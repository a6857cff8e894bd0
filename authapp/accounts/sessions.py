"""Sessions (refresh-token families): start, rotate, revoke, list.

Every function here is request-free so the pages and the API share it; the
caller passes the client it is acting for.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from authapp.accounts import audit, roles
from authapp.core.clock import utcnow
from authapp.core.errors import TokenInvalid, TokenReused, TokenRevoked
from authapp.core.extensions import db
from authapp.db.models import IP_MAX, USER_AGENT_MAX, RevokedToken, Session
from authapp.db.transaction import flow
from authapp.http.client import Client
from authapp.tokens.mint import Grant, new_jti


@dataclass(frozen=True)
class StartedSession:
    """A session just opened by a sign-in: what its first tokens need."""

    grant: Grant
    refresh_jti: str


@dataclass(frozen=True)
class Rotation:
    """The outcome of a successful refresh.

    ``refresh_jti`` is None for a grace answer: the immediately previous
    token was presented again within the grace window, so only a new access
    token is issued and the session's current refresh token stays valid.
    """

    grant: Grant
    refresh_jti: str | None


# Sign-in and refresh run these on every call: built once, so each call skips statement
# construction and cache-key generation, and no ORM unit of work is involved.
_sessions = Session.__table__
INSERT_SESSION = insert(_sessions)
ROTATE = (
    update(_sessions)
    .where(
        _sessions.c.id == bindparam("session_id"),
        _sessions.c.user_id == bindparam("subject_id"),
        _sessions.c.refresh_jti == bindparam("presented_jti"),
        _sessions.c.revoked_at.is_(None),
        _sessions.c.expires_at > bindparam("now"),
    )
    .values(refresh_jti=bindparam("successor_jti"), previous_jti=bindparam("presented_jti"),
            rotated_at=bindparam("now"), last_used_at=bindparam("now"))
    .returning(_sessions.c.expires_at, _sessions.c.auth_time, _sessions.c.amr,
               roles.role_names_of(_sessions.c.user_id).label("roles"))
)


@flow
def start_session(user_id: int, client: Client, amr: tuple[str, ...] = ("pwd",), *,
                  role_names: tuple[str, ...] | None = None) -> StartedSession:
    """Open a session for a fresh sign-in, with its audit event.

    ``role_names`` are the account's roles if the caller read them with the account
    (a password sign-in does); otherwise they are read here.
    """
    now = utcnow()
    lifetime = timedelta(seconds=current_app.config["SESSION_MAX_LIFETIME"])
    if role_names is None:
        role_names = roles.names_of(user_id)
    grant = Grant(user_id, uuid.uuid4().hex, now + lifetime, now, amr, role_names)
    session = StartedSession(grant, new_jti())
    session_row = {
        "id": grant.session_id, "user_id": user_id, "created_at": now, "last_used_at": now,
        "expires_at": grant.session_expires_at, "user_agent": client.user_agent[:USER_AGENT_MAX],
        "ip": client.ip[:IP_MAX], "refresh_jti": session.refresh_jti,
        "revoked_at": None, "revoked_reason": None, "previous_jti": None, "rotated_at": None,
        "auth_time": now, "amr": " ".join(amr),
    }
    event_row = audit.new_event("login_succeeded", client=client, user_id=user_id,
                                session_id=grant.session_id)
    db.session.execute(INSERT_SESSION, session_row)
    db.session.execute(audit.INSERT_EVENT, event_row)
    audit.log_event(event_row)
    return session


@flow
def rotate(session_id: str, presented_jti: str, user_id: int, client: Client) -> Rotation:
    """Retire ``presented_jti`` and name its successor, atomically.

    The compare-and-set UPDATE only succeeds while the presented token is
    still the session's current one, so of N concurrent refreshes with one
    token exactly one mints a successor; the others fall through to the
    grace or reuse rules below. ``user_id`` is the token's subject: a token
    naming another user's session is refused without touching that session.
    """
    now = utcnow()
    successor = new_jti()
    won = db.session.execute(ROTATE, {
        "session_id": session_id, "subject_id": user_id, "presented_jti": presented_jti,
        "successor_jti": successor, "now": now,
    }).first()
    if won is None:
        # Nothing was written; end the transaction so SQLite's write lock is not held
        # across the reads below (a refresh always runs as its own flow).
        db.session.rollback()
        return _after_lost_compare_and_set(session_id, presented_jti, user_id, now, client)
    audit.record("refresh", client=client, user_id=user_id, session_id=session_id)
    return Rotation(Grant(user_id, session_id, won.expires_at, won.auth_time,
                          tuple(won.amr.split()), roles.parse_names(won.roles)), successor)


def _after_lost_compare_and_set(session_id: str, presented_jti: str, user_id: int,
                                now: datetime, client: Client) -> Rotation:
    """The presented token is not current: a grace answer, or theft."""
    session = db.session.get(Session, session_id, populate_existing=True)
    if session is not None and session.user_id != user_id:
        raise TokenInvalid("The refresh token does not belong to its session.")
    if session is None or session.revoked_at is not None or session.expires_at <= now:
        raise TokenRevoked("This session has been signed out.")
    grace = timedelta(seconds=current_app.config["REFRESH_REUSE_GRACE"])
    if (session.previous_jti == presented_jti and session.rotated_at is not None
            and now - session.rotated_at <= grace):
        return Rotation(grant_of(session), None)
    revoke_session(session.id, "reuse_detected", client=client, event="token_reused",
                   signed_in_ip=session.ip, signed_in_user_agent=session.user_agent)
    raise TokenReused("This refresh token was already used; the session has been revoked.")


def grant_of(session: Session) -> Grant:
    """What a stored session lets its tokens vouch for."""
    return Grant(session.user_id, session.id, session.expires_at, session.auth_time,
                 tuple(session.amr.split()), roles.names_of(session.user_id))


@flow
def revoke_session(session_id: str, reason: str, *, client: Client, user_id: int | None = None,
                   event: str = "session_revoked", **details: str) -> bool:
    """Revoke one live session (only if ``user_id`` owns it, when given); True if it was live."""
    conditions = [Session.id == session_id, Session.revoked_at.is_(None)]
    if user_id is not None:
        conditions.append(Session.user_id == user_id)
    revoked = db.session.execute(
        update(Session).where(*conditions).values(revoked_at=utcnow(), revoked_reason=reason)
        .returning(Session.user_id)
        .execution_options(synchronize_session=False)
    ).first()
    if revoked is not None:
        audit.record(event, client=client, user_id=revoked.user_id, session_id=session_id,
                     reason=reason, **details)
    return revoked is not None


def revoke_user_sessions(user_id: int, reason: str, *, keep: str | None = None) -> int:
    """Revoke every live session of a user, except ``keep``; returns how many.

    The calling flow records the event that explains it.
    """
    conditions = [Session.user_id == user_id, Session.revoked_at.is_(None),
                  Session.expires_at > utcnow()]
    if keep is not None:
        conditions.append(Session.id != keep)
    result = db.session.execute(
        update(Session).where(*conditions).values(revoked_at=utcnow(), revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


@flow
def sign_out_everywhere(user_id: int, client: Client) -> int:
    """Revoke all of a user's sessions, as the user asked."""
    count = revoke_user_sessions(user_id, "logout_all")
    audit.record("logout_all", client=client, user_id=user_id, sessions_revoked=count)
    return count


@flow
def revoke_all_by_operator(user_id: int, client: Client, **details: int) -> int:
    """Sign a user out everywhere on an operator's word; returns how many sessions.
    ``details`` go into the event (an acting admin's id)."""
    count = revoke_user_sessions(user_id, "admin_revoked")
    audit.record("session_revoked", client=client, user_id=user_id, reason="admin_revoked",
                 sessions_revoked=count, **details)
    return count


@flow
def revoke_token(jti: str, token_type: str, user_id: int, expires_at: datetime,
                 reason: str) -> None:
    """Record a single token as revoked until its own expiry (idempotent: a token revoked
    twice, even concurrently, stays one row)."""
    insert_row = (postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert)
    db.session.execute(insert_row(RevokedToken).values(
        jti=jti, token_type=token_type, user_id=user_id, expires_at=expires_at, reason=reason,
        revoked_at=utcnow()).on_conflict_do_nothing(index_elements=["jti"]))


def live_sessions(user_id: int) -> list[Session]:
    """The user's sessions that are neither revoked nor expired, newest first."""
    return list(db.session.scalars(
        select(Session)
        .where(Session.user_id == user_id, Session.revoked_at.is_(None),
               Session.expires_at > utcnow())
        .order_by(Session.created_at.desc(), Session.id)
    ))


def suspected_theft(user_id: int, limit: int = 5) -> list[Session]:
    """Recent sessions ended by refresh-token reuse: someone else held a token."""
    return list(db.session.scalars(
        select(Session)
        .where(Session.user_id == user_id, Session.revoked_reason == "reuse_detected")
        .order_by(Session.revoked_at.desc()).limit(limit)
    ))
