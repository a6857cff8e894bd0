"""``flask tokens prune``: drop what has expired (revoked-token rows, sessions, mailed links,
sign-in challenges), delivered mail past its keeping time and old audit events."""

import sys
from datetime import timedelta
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import ColumnElement, delete, func, select

from authapp.core.clock import utcnow
from authapp.core.extensions import db
from authapp.db.models import (
    AuthEvent,
    LinkToken,
    MfaChallenge,
    OutboxMessage,
    PasskeyChallenge,
    RevokedToken,
    Session,
)

PRUNE_BATCH_SIZE = 5_000
SENT_MAIL_KEPT = timedelta(days=30)  # delivered rows (bodies already dropped) for `mail outbox`

tokens_cli = AppGroup("tokens", help="Maintain the token and session tables.")

@tokens_cli.command("prune")
@click.option("--batch-size", type=click.IntRange(min=1), default=PRUNE_BATCH_SIZE,
              show_default=True, help="Rows deleted per statement (and per transaction).")
def prune(batch_size: int) -> None:
    """Delete revoked-token rows and sessions whose expiry has passed, and old audit events.

    Rows go in batches by primary key, each batch its own short transaction, so a
    large table is never locked for long and progress survives an interruption.
    """
    now = utcnow()
    tokens = _delete_in_batches(RevokedToken, RevokedToken.jti, RevokedToken.expires_at <= now,
                                batch_size, "Pruning expired revoked tokens")
    expired = _delete_in_batches(Session, Session.id, Session.expires_at <= now,
                                 batch_size, "Pruning expired sessions")
    retention = timedelta(seconds=current_app.config["AUDIT_EVENT_RETENTION"])
    events = _delete_in_batches(AuthEvent, AuthEvent.id, AuthEvent.created_at <= now - retention,
                                batch_size, "Pruning old audit events")
    short_lived = sum(
        _delete_in_batches(model, model.id, model.expires_at <= now, batch_size,
                           f"Pruning expired {model.__tablename__}")
        for model in (LinkToken, MfaChallenge, PasskeyChallenge))
    mail = _delete_in_batches(OutboxMessage, OutboxMessage.id,
                              (OutboxMessage.status == "sent")
                              & (OutboxMessage.sent_at <= now - SENT_MAIL_KEPT),
                              batch_size, "Pruning delivered mail")
    click.echo(f"Removed {events} audit events older than {retention.days} days.")
    click.echo(f"Removed {tokens} expired revoked-token rows "
               f"and {expired} expired sessions.")
    click.echo(f"Removed {short_lived} expired links and sign-in challenges "
               f"and {mail} delivered mails older than {SENT_MAIL_KEPT.days} days.")


def _delete_in_batches(model: type[db.Model], key: Any, condition: ColumnElement[bool],
                       batch_size: int, label: str) -> int:
    """Delete the rows matching ``condition``, ``batch_size`` at a time; returns how many."""
    total = db.session.scalar(select(func.count()).select_from(model).where(condition)) or 0
    removed = 0
    # Progress goes to stderr so the summary on stdout stays easy to parse.
    with click.progressbar(length=total, label=label, file=sys.stderr,
                           show_pos=True) as bar:
        while True:
            batch = select(key).where(condition).limit(batch_size)
            result = db.session.execute(delete(model).where(key.in_(batch))
                                        .execution_options(synchronize_session=False))
            db.session.commit()
            removed += result.rowcount
            bar.update(result.rowcount)
            if result.rowcount < batch_size:
                return removed
