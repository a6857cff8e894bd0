"""JSON shapes of our records, as the contract names them."""

from typing import Any

from authapp.accounts.devices import describe_device
from authapp.accounts.revocation import Principal
from authapp.accounts.users import Account
from authapp.core.clock import iso
from authapp.db.models import AuthEvent, Session, User


def user_json(user: User | Account | Principal) -> dict[str, Any]:
    """``{id, username, created_at, email, email_verified}``."""
    verified = (user.email_verified_at is not None if isinstance(user, User)
                else user.email_verified)
    return {"id": user.id, "username": user.username, "created_at": iso(user.created_at),
            "email": user.email, "email_verified": verified}


def session_json(session: Session, current_session_id: str) -> dict[str, Any]:
    """One entry of ``GET /api/sessions``."""
    return {
        "id": session.id,
        "created_at": iso(session.created_at),
        "last_used_at": iso(session.last_used_at),
        "expires_at": iso(session.expires_at),
        "user_agent": session.user_agent,
        "device": describe_device(session.user_agent),  # as /account names it
        "ip": session.ip,
        "current": session.id == current_session_id,
    }


def event_json(event: AuthEvent) -> dict[str, Any]:
    """One entry of ``GET /api/events``."""
    return {
        "type": event.event_type,
        "created_at": iso(event.created_at),
        "ip": event.ip,
        "user_agent": event.user_agent,
        "session_id": event.session_id,
        "details": event.details,
    }
