"""The audit trail: security events to the ``auth_events`` table and to the log.

``record`` inserts the row in the current transaction (a plain Core insert,
no unit-of-work flush), so an event is committed together with the change it
describes.
"""

import json
import logging
from typing import Any

from sqlalchemy import insert, select

from .client_info import Client
from .clock import iso, utcnow
from .extensions import db
from .models import IP_MAX, USER_AGENT_MAX, AuthEvent

log = logging.getLogger("authapp.audit")

EVENT_TYPES = frozenset({
    "register", "login_succeeded", "login_failed", "refresh", "token_reused", "logout",
    "logout_all", "session_revoked", "password_changed", "rate_limited", "user_disabled",
    "user_enabled",
})
INSERT_EVENT = insert(AuthEvent.__table__)  # built once: recorded on every sign-in and refresh


def record(event_type: str, *, client: Client | None = None, user_id: int | None = None,
           session_id: str | None = None, **details: Any) -> None:
    """Insert an event in the current transaction and log it as one JSON line."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown audit event {event_type!r}")
    row = {
        "created_at": utcnow(), "event_type": event_type, "user_id": user_id,
        "session_id": session_id, "ip": (client.ip if client else "")[:IP_MAX],
        "user_agent": (client.user_agent if client else "")[:USER_AGENT_MAX],
        "details": details,
    }
    db.session.execute(INSERT_EVENT, row)
    log.info(json.dumps({
        "event": event_type, "at": iso(row["created_at"]), "user_id": user_id,
        "session_id": session_id, "ip": row["ip"], "user_agent": row["user_agent"], **details,
    }, ensure_ascii=False, default=str))


def recent_events(user_id: int, limit: int = 20,
                  exclude: tuple[str, ...] = ()) -> list[AuthEvent]:
    """The user's latest events, newest first."""
    return list(db.session.scalars(
        select(AuthEvent)
        .where(AuthEvent.user_id == user_id, AuthEvent.event_type.not_in(exclude))
        .order_by(AuthEvent.created_at.desc(), AuthEvent.id.desc()).limit(limit)
    ))
