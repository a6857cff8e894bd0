"""Command-line administration, run through ``flask``: users, tokens, configuration.

Commands call the same services as the pages and the API (``accounts``,
``sessions``), acting as the ``SYSTEM`` client so the audit trail shows the
change came from the command line.
"""

import sys
from datetime import timedelta
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import ColumnElement, delete, func, select

from . import accounts, audit, sessions
from .client_info import SYSTEM
from .clock import utcnow
from .doctor import ERROR, diagnose
from .errors import UsernameTaken, ValidationFailed
from .extensions import db
from .models import AuthEvent, RevokedToken, Session, User

PRUNE_BATCH_SIZE = 5_000

users_cli = AppGroup("users", help="Create, list, disable and sign out user accounts.")
tokens_cli = AppGroup("tokens", help="Maintain the token and session tables.")
auth_cli = AppGroup("auth", help="Check the authentication setup.")


# -- users ----------------------------------------------------------------------------------


@users_cli.command("create")
@click.argument("username")
def create_user(username: str) -> None:
    """Create an account; the password is asked for twice, never taken as an argument."""
    password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.register(username, password, SYSTEM)
    except ValidationFailed as exc:
        lines = [f"  {field}: {message}" for field, messages in (exc.errors or {}).items()
                 for message in messages]
        raise click.ClickException("\n".join(["the account was not created:", *lines])) from exc
    except UsernameTaken as exc:
        raise click.ClickException(f"username taken: {username!r} (or a name differing only "
                                   "in case or Unicode form) already exists.") from exc
    click.echo(f"Created user {user.username} (id {user.id}).")


@users_cli.command("list")
@click.option("--disabled", "disabled_only", is_flag=True, help="Only disabled accounts.")
def list_users(disabled_only: bool) -> None:
    """Show every account with its live (unrevoked, unexpired) session count."""
    live = (select(Session.user_id, func.count().label("live"))
            .where(Session.revoked_at.is_(None), Session.expires_at > utcnow())
            .group_by(Session.user_id).subquery())
    query = (select(User, func.coalesce(live.c.live, 0))
             .outerjoin(live, live.c.user_id == User.id).order_by(User.id))
    if disabled_only:
        query = query.where(User.disabled_at.is_not(None))
    rows = [(str(user.id), user.username, user.created_at.isoformat(timespec="seconds"),
             "yes" if user.disabled_at else "no", str(count))
            for user, count in db.session.execute(query)]
    if not rows:
        click.echo("No disabled users." if disabled_only else "No users.")
        return
    _echo_table(("ID", "USERNAME", "CREATED", "DISABLED", "SESSIONS"), rows)


@users_cli.command("disable")
@click.argument("username")
def disable_user(username: str) -> None:
    """Block sign-in and revoke every session (their tokens stop working at once)."""
    user = _user_or_fail(username)
    revoked = accounts.set_disabled(user, True, SYSTEM)
    click.echo(f"Disabled {user.username}; revoked {_sessions(revoked)}.")


@users_cli.command("enable")
@click.argument("username")
def enable_user(username: str) -> None:
    """Allow a disabled account to sign in again."""
    user = _user_or_fail(username)
    if user.disabled_at is None:
        click.echo(f"{user.username} is not disabled; nothing to do.")
        return
    accounts.set_disabled(user, False, SYSTEM)
    click.echo(f"Enabled {user.username}.")


@users_cli.command("revoke-sessions")
@click.argument("username")
def revoke_sessions(username: str) -> None:
    """Sign a user out everywhere; their access and refresh tokens stop working at once."""
    user = _user_or_fail(username)
    revoked = sessions.revoke_user_sessions(user.id, "admin_revoked")
    audit.record("session_revoked", client=SYSTEM, user_id=user.id, reason="admin_revoked",
                 sessions_revoked=revoked)
    db.session.commit()
    click.echo(f"Revoked {_sessions(revoked)} of {user.username}.")


def _user_or_fail(username: str) -> User:
    user = accounts.find_by_username(username)
    if user is None:
        raise click.ClickException(f"no user named {username!r}.")
    return user


def _sessions(count: int) -> str:
    return f"{count} session" + ("" if count == 1 else "s")


def _echo_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Left-aligned columns two spaces apart, for reading rather than parsing."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        click.echo("  ".join(cells).rstrip())


# -- tokens ---------------------------------------------------------------------------------


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
    click.echo(f"Removed {events} audit events older than {retention.days} days.")
    click.echo(f"Removed {tokens} expired revoked-token rows "
               f"and {expired} expired sessions.")


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


# -- auth -----------------------------------------------------------------------------------


@auth_cli.command("doctor")
@click.option("--strict", is_flag=True, help="Fail on warnings too, not only on errors.")
def doctor(strict: bool) -> None:
    """Check the loaded configuration for production safety; exit 1 on any problem."""
    findings = diagnose(current_app.config)
    for finding in findings:
        click.echo(f"{finding.severity.upper():<8} {finding.setting}: {finding.message}")
    errors = sum(finding.severity == ERROR for finding in findings)
    warnings = len(findings) - errors
    failed = errors or (strict and warnings)
    if not findings:
        click.echo("OK: the configuration passes every production check.")
    else:
        verdict = "not safe for production" if failed else "acceptable, with warnings"
        click.echo(f"{errors} error(s), {warnings} warning(s): {verdict}.")
    if failed:
        raise click.exceptions.Exit(1)
