"""The JSON API through Flask's test client: register, sign in, call with a token."""

from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

PASSWORD = "correct horse battery staple"


def bearer(token: str) -> dict[str, str]:
    """The Authorization header that presents ``token``."""
    return {"Authorization": f"Bearer {token}"}


def register(client: FlaskClient, username: str = "alice", password: str = PASSWORD, *,
             headers: dict[str, str] | None = None, environ_base: dict[str, str] | None = None,
             **fields: Any) -> TestResponse:
    """POST /api/auth/register with ``fields`` added to the body; the answer, unchecked."""
    return client.post("/api/auth/register", headers=headers, environ_base=environ_base or {},
                       json={"username": username, "password": password, **fields})


def login(client: FlaskClient, username: str = "alice", password: str = PASSWORD, *,
          headers: dict[str, str] | None = None, environ_base: dict[str, str] | None = None,
          **fields: Any) -> TestResponse:
    """POST /api/auth/login with ``fields`` added to the body; the answer, unchecked."""
    return client.post("/api/auth/login", headers=headers, environ_base=environ_base or {},
                       json={"username": username, "password": password, **fields})


def me(client: FlaskClient, access_token: str) -> TestResponse:
    return client.get("/api/me", headers=bearer(access_token))


def bearer_refresh(client: FlaskClient, refresh_token: str) -> TestResponse:
    """A bearer-mode refresh: the refresh token in the Authorization header."""
    return client.post("/api/auth/refresh", headers=bearer(refresh_token))


@dataclass
class SignedIn:
    """A login's outcome: the access token and (bearer mode) the refresh token."""

    access_token: str
    refresh_token: str | None
    user: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access_token)

    @property
    def refresh_headers(self) -> dict[str, str]:
        return bearer(self.refresh_token)


class AuthActions:
    """Register and sign in through the real API, asserting that it worked."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def register(self, username: str = "alice", password: str = PASSWORD) -> TestResponse:
        response = register(self.client, username, password)
        assert response.status_code == 201, response.json
        return response

    def login(self, username: str = "alice", password: str = PASSWORD, *,
              bearer: bool = True, client: FlaskClient | None = None) -> SignedIn:
        response = login(client or self.client, username, password, refresh_in_body=bearer)
        assert response.status_code == 200, response.json
        body = response.json
        return SignedIn(body["access_token"], body.get("refresh_token"), body["user"])

    def signed_in(self, username: str = "alice", **kwargs: Any) -> SignedIn:
        self.register(username)
        return self.login(username, **kwargs)

    def csrf_refresh(self, client: FlaskClient | None = None) -> TestResponse:
        """A cookie-mode refresh with the double-submit header, as a browser sends it."""
        client = client or self.client
        cookie = client.get_cookie("csrf_refresh_token")
        return client.post("/api/auth/refresh",
                           headers={"X-CSRF-TOKEN": cookie.value if cookie else ""})
