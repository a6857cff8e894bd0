"""``flask keys ...``: list, generate, rotate and revoke the token-signing keys (SPEC §12).

Changes go through the flows of tokens/signing_keys.py; this instance drops its
cached key set at once, every other instance within ``KEY_SET_TTL`` seconds.
"""

import re
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from authapp.core.clock import iso, utcnow
from authapp.core.extensions import db
from authapp.tokens import signing_keys
from authapp.tokens.key_material import ASYMMETRIC_ALGORITHMS
from authapp.tokens.keys import HMAC_ALGORITHM, forget_key_set, hmac_kid, key_set

keys_cli = AppGroup("keys", help="List, generate, rotate and revoke token-signing keys.")
DURATION = re.compile(r"(?P<amount>\d+)(?P<unit>[smhdw])")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(value: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w`` or ``45s`` as a timedelta."""
    match = DURATION.fullmatch(value.strip())
    if not match:
        raise click.BadParameter(f"{value!r} is not a duration like 30d, 12h or 2w.")
    return timedelta(**{UNITS[match["unit"]]: int(match["amount"])})


def _asymmetric_algorithm() -> str:
    algorithm = current_app.config["JWT_ALGORITHM"]
    if algorithm == HMAC_ALGORITHM:
        raise click.ClickException(
            "JWT_ALGORITHM is HS256: rotate the secret by moving JWT_SECRET_KEY into "
            "JWT_PREVIOUS_SECRET_KEYS and setting a new one (README, Signing keys).")
    return algorithm


@keys_cli.command("list")
def list_keys() -> None:
    """Show every key: id, algorithm, state, dates, and whether the JWKS publishes it."""
    keys = key_set()  # makes the first keys of an asymmetric algorithm if there are none
    published = {jwk["kid"] for jwk in keys.published}
    click.echo(f"JWT_ALGORITHM={current_app.config['JWT_ALGORITHM']}; "
               f"signing with {keys.signing.kid}")
    click.echo(f"{'KID':<44} {'ALG':<6} {'STATE':<8} {'CREATED':<26} {'ACTIVATED':<26} "
               f"{'RETIRED/REVOKED':<26} JWKS")
    with db.engine.connect() as connection:
        rows = signing_keys.load_rows(connection)
    for row in rows:
        ended = row.revoked_at or row.retired_at
        click.echo(f"{row.kid:<44} {row.algorithm:<6} {row.state:<8} {iso(row.created_at):<26} "
                   f"{iso(row.activated_at) or '-':<26} {iso(ended) or '-':<26} "
                   f"{'yes' if row.kid in published else 'no'}")
    config = current_app.config
    secrets = [config["JWT_SECRET_KEY"], *(config.get("JWT_PREVIOUS_SECRET_KEYS") or ())]
    for index, secret in enumerate(secrets):
        role = "secret" if index == 0 else "previous"
        click.echo(f"{hmac_kid(secret):<44} {HMAC_ALGORITHM:<6} {role:<8} (configuration; "
                   "never published)")


@keys_cli.command("generate")
@click.option("--alg", "algorithm", type=click.Choice(ASYMMETRIC_ALGORITHMS),
              help="The key's algorithm; JWT_ALGORITHM by default.")
def generate(algorithm: str | None) -> None:
    """Make a standby key: published in the JWKS now, signing after `flask keys rotate`."""
    algorithm = algorithm or _asymmetric_algorithm()
    try:
        kid = signing_keys.generate_standby(algorithm)
    except signing_keys.KeyChangeRefused as exc:
        raise click.ClickException(str(exc)) from exc
    forget_key_set()
    wait = timedelta(seconds=2 * current_app.config["JWKS_MAX_AGE"])
    click.echo(f"Made the standby {algorithm} key {kid}; `flask keys rotate` may activate it "
               f"after {iso(utcnow() + wait)}.")


@keys_cli.command("rotate")
@click.option("--force", is_flag=True,
              help="Rotate even if verifiers may not have fetched the standby key yet.")
@click.option("--if-older-than", "if_older_than", metavar="DURATION",
              help="Only rotate if the active key is older than this (e.g. 30d): for cron.")
def rotate(force: bool, if_older_than: str | None) -> None:
    """The standby key signs from now on; the active one retires (its tokens keep working)."""
    algorithm = _asymmetric_algorithm()
    if if_older_than:
        threshold = parse_duration(if_older_than)
        activated = key_set().signing  # the active key (made now if there was none)
        with db.engine.connect() as connection:
            row = next(row for row in signing_keys.load_rows(connection)
                       if row.kid == activated.kid)
        if (row.activated_at or row.created_at) + threshold > utcnow():
            click.echo(f"The active key {row.kid} is younger than {if_older_than}; "
                       "nothing to do.")
            return
    min_published = timedelta(seconds=2 * current_app.config["JWKS_MAX_AGE"])
    try:
        done = signing_keys.rotate(algorithm, min_published=min_published, force=force)
    except signing_keys.KeyChangeRefused as exc:
        raise click.ClickException(str(exc)) from exc
    forget_key_set()
    click.echo(f"Signing with {done.activated}; retired {', '.join(done.retired) or 'none'}; "
               f"new standby {done.standby}.")
    if done.deleted:
        click.echo(f"Deleted keys no token can still need: {', '.join(done.deleted)}.")


# A base64url kid may begin with "-": take it as the argument, not as an unknown option.
@keys_cli.command("revoke", context_settings={"ignore_unknown_options": True})
@click.argument("kid")
def revoke(kid: str) -> None:
    """Emergency: refuse every token the key signed, on every instance within a minute."""
    if kid in {hmac_kid(secret) for secret in (current_app.config["JWT_SECRET_KEY"],
                                               *current_app.config["JWT_PREVIOUS_SECRET_KEYS"])}:
        raise click.ClickException("that is an HS256 secret from the configuration: remove "
                                   "it there (and set a new JWT_SECRET_KEY) to revoke it.")
    try:
        row = signing_keys.revoke(kid)
    except signing_keys.KeyChangeRefused as exc:
        raise click.ClickException(str(exc)) from exc
    forget_key_set()
    click.echo(f"Revoked the {row.algorithm} key {kid} (was {row.state}); every token it "
               "signed is refused within a minute on every instance.")
    if row.state == signing_keys.ACTIVE:
        click.echo(f"Now signing with {key_set().signing.kid}.")
