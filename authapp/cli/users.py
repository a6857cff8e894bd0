"""``flask users ...``: create, list, disable, enable and sign out accounts; grant roles.

Commands call the same services as the pages and the API, acting as the
``SYSTEM`` client so the audit trail shows the change came from the command line.
"""

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from authapp.accounts import roles, sessions, users
from authapp.core.clock import utcnow
from authapp.core.errors import UsernameTaken, ValidationFailed
from authapp.core.extensions import db
from authapp.db.models import Role, Session, User, UserRole
from authapp.http.client import SYSTEM

users_cli = AppGroup("users", help="Create, list, disable and sign out user accounts; "
                                    "grant and revoke roles.")


@users_cli.command("create")
@click.argument("username")
def create_user(username: str) -> None:
    """Create an account; the password is asked for twice, never taken as an argument."""
    password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = users.register(username, password, SYSTEM)
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
@click.option("--role", help="Only accounts holding this role.")
def list_users(disabled_only: bool, role: str | None) -> None:
    """Show every account with its live (unrevoked, unexpired) session count."""
    live = (select(Session.user_id, func.count().label("live"))
            .where(Session.revoked_at.is_(None), Session.expires_at > utcnow())
            .group_by(Session.user_id).subquery())
    query = (select(User, func.coalesce(live.c.live, 0))
             .outerjoin(live, live.c.user_id == User.id).order_by(User.id))
    if disabled_only:
        query = query.where(User.disabled_at.is_not(None))
    if role is not None:
        query = query.where(User.id.in_(select(UserRole.user_id).join(Role)
                                        .where(Role.name == role)))
    rows = [(str(user.id), user.username, user.created_at.isoformat(timespec="seconds"),
             "yes" if user.disabled_at else "no", str(count))
            for user, count in db.session.execute(query)]
    if not rows:
        wanted = " ".join(filter(None, ["disabled" if disabled_only else "",
                                        f"{role!r}" if role else ""]))
        click.echo(f"No {wanted} users." if wanted else "No users.")
        return
    _echo_table(("ID", "USERNAME", "CREATED", "DISABLED", "SESSIONS"), rows)


@users_cli.command("disable")
@click.argument("username")
def disable_user(username: str) -> None:
    """Block sign-in and revoke every session (their tokens stop working at once)."""
    user = _user_or_fail(username)
    revoked = users.set_disabled(user, True, SYSTEM)
    click.echo(f"Disabled {user.username}; revoked {_sessions(revoked)}.")


@users_cli.command("enable")
@click.argument("username")
def enable_user(username: str) -> None:
    """Allow a disabled account to sign in again."""
    user = _user_or_fail(username)
    if user.disabled_at is None:
        click.echo(f"{user.username} is not disabled; nothing to do.")
        return
    users.set_disabled(user, False, SYSTEM)
    click.echo(f"Enabled {user.username}.")


@users_cli.command("revoke-sessions")
@click.argument("username")
def revoke_sessions(username: str) -> None:
    """Sign a user out everywhere; their access and refresh tokens stop working at once."""
    user = _user_or_fail(username)
    revoked = sessions.revoke_all_by_operator(user.id, SYSTEM)
    click.echo(f"Revoked {_sessions(revoked)} of {user.username}.")


@users_cli.command("grant")
@click.argument("username")
@click.argument("role")
def grant_role(username: str, role: str) -> None:
    """Give an account a role (created if new); it counts from the account's next request."""
    user = _user_or_fail(username)
    if problems := roles.name_problems(role):
        raise click.ClickException(problems[0])
    if roles.grant_role(user.id, role, SYSTEM):
        click.echo(f"Granted {role} to {user.username}.")
    else:
        click.echo(f"{user.username} already has the role {role}; nothing to do.")


@users_cli.command("revoke-role")
@click.argument("username")
@click.argument("role")
def revoke_role(username: str, role: str) -> None:
    """Take a role from an account; its very next request no longer has it."""
    user = _user_or_fail(username)
    if roles.revoke_role(user.id, role, SYSTEM):
        click.echo(f"Revoked {role} from {user.username}.")
    else:
        click.echo(f"{user.username} does not have the role {role}; nothing to do.")


def _user_or_fail(username: str) -> User:
    user = users.find_by_username(username)
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
