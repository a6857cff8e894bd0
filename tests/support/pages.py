"""The server-rendered forms through Flask's test client, CSRF field included."""

import re

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from support.api import PASSWORD

CSRF_FIELD = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF field of the form on ``path``."""
    match = CSRF_FIELD.search(client.get(path).data)
    assert match, "page has no CSRF field"
    return match.group(1).decode()


def page_register(client: FlaskClient, username: str = "alice",
                  password: str = PASSWORD) -> TestResponse:
    return client.post("/register", data={
        "csrf_token": csrf_token(client, "/register"), "username": username,
        "password": password, "confirm": password})


def page_login(client: FlaskClient, username: str = "alice", password: str = PASSWORD,
               next_: str = "") -> TestResponse:
    return client.post("/login", data={
        "csrf_token": csrf_token(client), "username": username, "password": password,
        "next": next_})
