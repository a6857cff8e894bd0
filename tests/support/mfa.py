"""Two-factor sign-in through the API: set TOTP up, compute codes, finish a sign-in."""

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pyotp
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from support.api import PASSWORD, bearer, login


def code_at(secret: str, moment: datetime | float, steps: int = 0) -> str:
    """The TOTP code of ``secret`` at ``moment`` (plus ``steps`` steps of 30 s)."""
    at = moment.timestamp() if isinstance(moment, datetime) else moment
    return pyotp.TOTP(secret).at(at + 30 * steps)


def secret_of(otpauth_uri: str) -> str:
    return parse_qs(urlsplit(otpauth_uri).query)["secret"][0]


@dataclass
class Enrolled:
    """An account with TOTP on: its secret, recovery codes and the session that set it up."""

    secret: str
    recovery_codes: list[str]
    access_token: str


def enrol(client: FlaskClient, access_token: str, now: float) -> Enrolled:
    """Turn TOTP on for the account of ``access_token`` with the code of ``now``."""
    started = client.post("/api/account/mfa/totp", headers=bearer(access_token))
    assert started.status_code == 200, started.json
    secret = started.json["secret"]
    confirmed = client.post("/api/account/mfa/totp/confirm", headers=bearer(access_token),
                            json={"code": code_at(secret, now)})
    assert confirmed.status_code == 200, confirmed.json
    return Enrolled(secret, confirmed.json["recovery_codes"], access_token)


def password_step(client: FlaskClient, username: str = "alice", password: str = PASSWORD,
                  **fields) -> str:
    """The ``mfa_token`` of a right password for a 2FA account."""
    response = login(client, username, password, **fields)
    assert response.status_code == 401 and response.json["code"] == "mfa_required", response.json
    return response.json["mfa_token"]


def second_step(client: FlaskClient, mfa_token: str, **factor) -> TestResponse:
    return client.post("/api/auth/mfa", json={"mfa_token": mfa_token, **factor})
