"""``flask auth doctor``: is the loaded configuration safe for production?"""

import click
from flask import current_app
from flask.cli import AppGroup

from authapp.core.doctor import ERROR, diagnose

auth_cli = AppGroup("auth", help="Check the authentication setup.")

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
