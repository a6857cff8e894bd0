"""Delivering the outbox: claim due rows atomically, send them, record the outcome.

A claim is a conditional UPDATE (on PostgreSQL over ``FOR UPDATE SKIP
LOCKED``, so workers never wait on each other's rows): a row is claimed by
exactly one worker until ``claimed_until``, and only that claim may mark it
sent. A failed send is retried with exponential back-off; after
``MAIL_MAX_ATTEMPTS`` the row is ``failed`` and ``flask mail outbox`` shows it.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, bindparam, or_, select, update

from authapp.core.clock import utcnow
from authapp.core.extensions import db
from authapp.db.models import OutboxMessage
from authapp.db.transaction import flow
from authapp.mail.backends import backend_for, build_message
from authapp.mail.outbox import PASSWORD_FORGOT

log = logging.getLogger(__name__)
BATCH = 20
MAX_BACKOFF_SECONDS = 3600
_outbox = OutboxMessage.__table__
_due = (
    select(_outbox.c.id)
    .where(_outbox.c.status == "pending", _outbox.c.next_attempt_at <= bindparam("now"),
           or_(_outbox.c.claimed_until.is_(None), _outbox.c.claimed_until < bindparam("now")))
    .order_by(_outbox.c.id).limit(BATCH)
    .with_for_update(skip_locked=True)  # PostgreSQL; SQLite's one writer needs no lock
)
CLAIM = (
    update(_outbox).where(_outbox.c.id.in_(_due.scalar_subquery()))
    .values(claimed_until=bindparam("until"), attempts=_outbox.c.attempts + 1)
    .returning(_outbox.c.id, _outbox.c.kind, _outbox.c.recipient, _outbox.c.subject,
               _outbox.c.text_body, _outbox.c.html_body, _outbox.c.attempts)
)


def _ours(row_id: int, claim: datetime) -> Any:
    return and_(_outbox.c.id == row_id, _outbox.c.claimed_until == claim)


@flow
def claim_due(now: datetime) -> tuple[datetime, list[Any]]:
    """Claim up to a batch of due rows for this worker; returns the claim and the rows."""
    until = now + timedelta(seconds=current_app.config["MAIL_CLAIM_SECONDS"])
    return until, list(db.session.execute(CLAIM, {"now": now, "until": until}))


@flow
def _mark_sent(row_id: int, claim: datetime) -> None:
    """Record the delivery and drop the bodies: they hold live links, which the database
    keeps only as hashes once they are on their way."""
    db.session.execute(update(_outbox).where(_ours(row_id, claim)).values(
        status="sent", sent_at=utcnow(), claimed_until=None, text_body="", html_body=""))


@flow
def _mark_failed(row_id: int, claim: datetime, attempts: int, error: Exception) -> None:
    gave_up = attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]
    delay = min(MAX_BACKOFF_SECONDS, current_app.config["MAIL_RETRY_SECONDS"] * 2 ** (attempts - 1))
    db.session.execute(update(_outbox).where(_ours(row_id, claim)).values(
        status="failed" if gave_up else "pending", claimed_until=None,
        next_attempt_at=utcnow() + timedelta(seconds=delay),
        last_error=f"{type(error).__name__}: {error}"[:500]))


@flow
def _run_job(row: Any, claim: datetime) -> None:
    """Turn a queued job into the mail it calls for, then retire the job, in one flow."""
    from authapp.accounts.recovery import password_forgot_job

    if row.kind == PASSWORD_FORGOT:
        password_forgot_job(row.recipient)
    _mark_sent(row.id, claim)


def deliver_due() -> int:
    """Send everything due now, in batches; returns how many rows were handled."""
    config = current_app.config
    backend = backend_for(config, current_app.instance_path)
    handled = 0
    while True:
        claim, rows = claim_due(utcnow())
        if not rows:
            return handled
        for row in rows:
            handled += 1
            try:
                if row.kind != "message":
                    _run_job(row, claim)
                    continue
                backend.send(build_message(config["MAIL_DEFAULT_SENDER"], row.recipient,
                                           row.subject, row.text_body, row.html_body))
            except Exception as exc:  # noqa: BLE001  (any failure: retry later)
                log.warning("mail %s not delivered (attempt %s): %s", row.id, row.attempts,
                            type(exc).__name__)
                _mark_failed(row.id, claim, row.attempts, exc)
            else:
                if row.kind == "message":
                    _mark_sent(row.id, claim)
