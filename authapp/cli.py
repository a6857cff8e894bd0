"""Command-line maintenance, run through ``flask``."""

import click
from sqlalchemy import delete

from .clock import utcnow
from .extensions import db
from .models import RevokedToken, Session

tokens_cli = click.Group("tokens", help="Maintain the token and session tables.")


@tokens_cli.command("prune")
def prune() -> None:
    """Delete revoked-token rows and sessions whose expiry has passed."""
    now = utcnow()
    tokens = db.session.execute(delete(RevokedToken).where(RevokedToken.expires_at <= now))
    expired = db.session.execute(delete(Session).where(Session.expires_at <= now))
    db.session.commit()
    click.echo(f"Removed {tokens.rowcount} expired revoked-token rows "
               f"and {expired.rowcount} expired sessions.")
