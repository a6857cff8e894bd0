"""The audit trail: security events to the ``auth_events`` table and to the log.

``record`` inserts the row in the current transaction (a plain Core insert,
no unit-of-work flush), so an event is committed together with the change it
describes.
"""

import json
import logging
from typing import Any

from sqlalchemy import insert, select

from authapp.core.clock import iso, utcnow
from authapp.core.extensions import db
from authapp.db.models import IP_MAX, USER_AGENT_MAX, AuthEvent
from authapp.db.transaction import flow
from authapp.http.client import Client

log = logging.getLogger("authapp.audit")

EVENT_TYPES = frozenset({
    "register", "login_succeeded", "login_failed", "refresh", "token_reused", "logout",
    "logout_all", "session_revoked", "password_changed", "rate_limited", "user_disabled",
    "user_enabled", "reauthenticated", "reauthentication_failed",
    "signing_key_generated", "signing_key_rotated", "signing_key_revoked",
    "role_granted", "role_revoked", "roles_changed", "data_exported", "account_deleted",
    "email_verification_sent", "email_verified", "signup_address_in_use",
    "password_reset_requested", "password_reset", "email_change_requested", "email_changed",
    "mfa_setup_started", "mfa_enabled", "mfa_disabled", "mfa_requested", "mfa_failed",
    "recovery_code_used", "recovery_codes_regenerated",
    "passkey_registered", "passkey_renamed", "passkey_removed", "passkey_used", "passkey_failed",
    "passkey_clone_suspected",
})
EVENTS = AuthEvent.__table__
INSERT_EVENT = insert(EVENTS)  # built once: recorded on every sign-in and refresh


def new_event(event_type: str, *, client: Client | None = None, user_id: int | None = None,
              session_id: str | None = None, **details: Any) -> dict[str, Any]:
    """The ``auth_events`` row of an event, for callers that insert it themselves."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown audit event {event_type!r}")
    return {
        "created_at": utcnow(), "event_type": event_type, "user_id": user_id,
        "session_id": session_id, "ip": (client.ip if client else "")[:IP_MAX],
        "user_agent": (client.user_agent if client else "")[:USER_AGENT_MAX],
        "details": details,
    }


def log_event(row: dict[str, Any]) -> None:
    """Write an event row as one JSON line on the ``authapp.audit`` logger."""
    log.info(json.dumps({
        "event": row["event_type"], "at": iso(row["created_at"]), "user_id": row["user_id"],
        "session_id": row["session_id"], "ip": row["ip"], "user_agent": row["user_agent"],
        **row["details"],
    }, ensure_ascii=False, default=str))


def record(event_type: str, *, client: Client | None = None, user_id: int | None = None,
           session_id: str | None = None, **details: Any) -> None:
    """Insert an event in the current transaction and log it as one JSON line."""
    row = new_event(event_type, client=client, user_id=user_id, session_id=session_id,
                    **details)
    db.session.execute(INSERT_EVENT, row)
    log_event(row)


@flow
def record_on_its_own(event_type: str, **fields: Any) -> None:
    """Record an event that is a change of its own (a refused request), in a flow of its own."""
    record(event_type, **fields)


def recent_events(user_id: int, limit: int = 20,
                  exclude: tuple[str, ...] = ()) -> list[AuthEvent]:
    """The user's latest events, newest first."""
    return list(db.session.scalars(
        select(AuthEvent)
        .where(AuthEvent.user_id == user_id, AuthEvent.event_type.not_in(exclude))
        .order_by(AuthEvent.created_at.desc(), AuthEvent.id.desc()).limit(limit)
    ))
