"""Leaving (SPEC §13): a person's data as a download, and deleting the account for good.

Deletion removes the account row; the database's cascades take its sessions,
revoked tokens, roles, mailed links and second factors in the same
statement. Its audit rows stay for the service's security record but keep
nothing that identifies the person: no user id, session, address or user
agent, and a random tombstone id where the details were. The username is free
again at once. A verified address gets a goodbye mail, queued in the same
transaction.

Order matters when a refresh of the same account runs at the same moment:
the live sessions are revoked first, which locks exactly the rows a refresh
updates, so the refresh either finishes before (and its event is scrubbed
below) or finds its session gone and answers 401.
"""

import secrets
from typing import Any

from sqlalchemy import delete, select, update

from authapp.accounts import audit, roles, sessions
from authapp.accounts.passwords import verify_password
from authapp.accounts.reauthentication import PASSWORD_BY_ID
from authapp.accounts.revocation import Principal
from authapp.core.clock import iso, utcnow
from authapp.core.errors import InvalidCredentials, TokenRevoked
from authapp.core.extensions import db
from authapp.db import direct
from authapp.db.models import AuthEvent, Session, User
from authapp.db.transaction import flow
from authapp.http.client import Client
from authapp.mail.outbox import queue_mail


def new_tombstone() -> str:
    return f"deleted-{secrets.token_hex(8)}"


@flow
def delete_account(principal: Principal, password: str, client: Client) -> str:
    """Delete the signed-in account once its password is confirmed; returns its tombstone.

    The hash is read on the direct connection, so no transaction is open during bcrypt.
    """
    row = direct.fetch_one(PASSWORD_BY_ID, id=str(principal.id))
    if row is None or not verify_password(password, row[0]):
        audit.record("reauthentication_failed", client=client, user_id=principal.id,
                     session_id=principal.session_id, method="password",
                     action="delete_account")
        raise InvalidCredentials("The password is not correct.")
    sessions.revoke_user_sessions(principal.id, "account_deleted")
    user = db.session.execute(
        select(User.email, User.email_verified_at).where(User.id == principal.id)).first()
    if user is None:
        raise TokenRevoked("This account has already been deleted.")
    tombstone = new_tombstone()
    db.session.execute(
        update(AuthEvent).where(AuthEvent.user_id == principal.id)
        .values(user_id=None, session_id=None, ip="", user_agent="",
                details={"tombstone": tombstone})
        .execution_options(synchronize_session=False))
    db.session.execute(delete(User).where(User.id == principal.id)
                       .execution_options(synchronize_session=False))
    audit.record("account_deleted", tombstone=tombstone)
    if user.email and user.email_verified_at:
        queue_mail(user.email, "goodbye", username=principal.username)
    return tombstone


@flow
def export_account(principal: Principal, client: Client) -> dict[str, Any]:
    """Everything the service holds about the account, as JSON-ready data (GDPR Art. 15, 20).

    The export itself is recorded, so the person can see when their data left.
    """
    user = db.session.get_one(User, principal.id)
    stored_sessions = db.session.scalars(
        select(Session).where(Session.user_id == user.id)
        .order_by(Session.created_at.desc(), Session.id)).all()
    events = db.session.scalars(
        select(AuthEvent).where(AuthEvent.user_id == user.id)
        .order_by(AuthEvent.created_at.desc(), AuthEvent.id.desc())).all()
    export = {
        "exported_at": iso(utcnow()),
        "profile": {
            "id": user.id, "username": user.username, "created_at": iso(user.created_at),
            "password_changed_at": iso(user.password_changed_at), "email": user.email,
            "email_verified_at": _iso_or_none(user.email_verified_at),
            "disabled_at": _iso_or_none(user.disabled_at), "roles": list(roles.names_of(user.id)),
        },
        "sessions": [{
            "id": s.id, "created_at": iso(s.created_at), "last_used_at": iso(s.last_used_at),
            "expires_at": iso(s.expires_at), "user_agent": s.user_agent, "ip": s.ip,
            "revoked_at": _iso_or_none(s.revoked_at), "revoked_reason": s.revoked_reason,
        } for s in stored_sessions],
        "events": [{
            "type": e.event_type, "created_at": iso(e.created_at), "ip": e.ip,
            "user_agent": e.user_agent, "session_id": e.session_id, "details": e.details,
        } for e in events],
    }
    audit.record("data_exported", client=client, user_id=user.id,
                 session_id=principal.session_id)
    return export


def _iso_or_none(value: Any) -> str | None:
    return None if value is None else iso(value)
