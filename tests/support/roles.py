"""Giving test accounts roles the way an operator does, and signing in as an admin."""

from flask import Flask

from authapp.accounts import roles, users
from authapp.http.client import SYSTEM
from support.api import AuthActions, SignedIn


def grant(app: Flask, username: str, role: str = roles.ADMIN) -> None:
    with app.app_context():
        roles.grant_role(users.find_by_username(username).id, role, SYSTEM)


def revoke(app: Flask, username: str, role: str = roles.ADMIN) -> None:
    with app.app_context():
        roles.revoke_role(users.find_by_username(username).id, role, SYSTEM)


def signed_in_admin(app: Flask, auth: AuthActions, username: str = "root") -> SignedIn:
    """A freshly signed-in account holding ``admin`` (so recently authenticated, too)."""
    auth.register(username)
    grant(app, username)
    return auth.login(username)
