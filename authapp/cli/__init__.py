"""Command-line administration run through ``flask``: one group per module."""

from flask import Flask

from authapp.cli.auth import auth_cli
from authapp.cli.keys import keys_cli
from authapp.cli.mail import mail_cli
from authapp.cli.tokens import tokens_cli
from authapp.cli.users import users_cli


def register_commands(app: Flask) -> None:
    """``flask users ...``, ``flask tokens ...``, ``flask keys ...``, ``flask auth ...``,
    ``flask mail ...``."""
    for group in (users_cli, tokens_cli, keys_cli, auth_cli, mail_cli):
        app.cli.add_command(group)
