"""``flask mail ...``: what the outbox holds, and delivering it by hand."""

import click
from flask.cli import AppGroup
from sqlalchemy import select

from authapp.core.clock import iso
from authapp.core.extensions import db
from authapp.db.models import OutboxMessage
from authapp.mail.delivery import deliver_due

mail_cli = AppGroup("mail", help="Inspect and deliver the mail outbox.")


@mail_cli.command("outbox")
@click.option("--all", "show_all", is_flag=True, help="Sent messages too.")
def outbox(show_all: bool) -> None:
    """List pending and failed messages (never their bodies: they hold links)."""
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if not show_all:
        query = query.where(OutboxMessage.status != "sent")
    rows = db.session.scalars(query).all()
    if not rows:
        click.echo("The outbox is empty." if show_all else "Nothing pending or failed.")
        return
    for row in rows:
        error = f"  last error: {row.last_error}" if row.last_error else ""
        click.echo(f"#{row.id} {row.status:<8} {row.kind:<15} to {row.recipient}  "
                   f"queued {iso(row.created_at)}  attempts {row.attempts}  "
                   f"next {iso(row.next_attempt_at)}{error}")


@mail_cli.command("deliver")
def deliver() -> None:
    """Deliver what is due now (the app's own workers do this every few seconds)."""
    click.echo(f"Handled {deliver_due()} message(s).")
