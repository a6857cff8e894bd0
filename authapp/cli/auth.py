"""``flask auth doctor``: is the loaded configuration safe for production?"""

from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from authapp.core.clock import utcnow
from authapp.core.doctor import ERROR, diagnose, signing_summary
from authapp.core.extensions import db
from authapp.core.serving import connection_budget
from authapp.tokens.signing_keys import load_rows

auth_cli = AppGroup("auth", help="Check the authentication setup.")


@auth_cli.command("doctor")
@click.option("--strict", is_flag=True, help="Fail on warnings too, not only on errors.")
def doctor(strict: bool) -> None:
    """Check the loaded configuration for production safety; exit 1 on any problem."""
    budget = connection_budget(current_app.config)
    max_connections = _server_max_connections()
    keys = _stored_signing_keys()
    findings = diagnose(current_app.config, budget=budget, max_connections=max_connections,
                        signing_keys=keys, now=utcnow())
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
    if summary := signing_summary(current_app.config, keys or [], utcnow()):
        click.echo(summary)
    if db.engine.dialect.name == "postgresql":
        click.echo(f"Connections: {budget.workers} workers x {budget.per_worker} "
                   f"({budget.threads} threads, pooled + direct) = up to {budget.total}"
                   + (f" of the server's {max_connections}." if max_connections else "."))
    if failed:
        raise click.exceptions.Exit(1)


def _stored_signing_keys() -> list[Any] | None:
    """The signing_keys rows, or None when the database cannot be read."""
    try:
        with db.engine.connect() as connection:
            return load_rows(connection)
    except SQLAlchemyError:
        return None


def _server_max_connections() -> int | None:
    """PostgreSQL's max_connections, when the database is PostgreSQL and reachable."""
    if db.engine.dialect.name != "postgresql":
        return None
    try:
        with db.engine.connect() as connection:
            return int(connection.execute(text("SHOW max_connections")).scalar_one())
    except SQLAlchemyError:
        return None
