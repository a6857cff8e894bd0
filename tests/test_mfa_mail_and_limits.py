"""Two-factor sign-in: the mails it sends, a password reset that does not bypass it, and
the rate limits of its second step (SPEC §10, §8)."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from flask import Flask
from support.api import PASSWORD, AuthActions, bearer, login, register
from support.apps import delete_all_rows, make_config
from support.mfa import code_at, enrol, password_step, second_step
from support.problems import assert_problem
from support.smtp import SMTPServer, link_token, text_part

from authapp import create_app
from authapp.mail.delivery import deliver_due

START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC).timestamp()
NEW_PASSWORD = "purple monkey dishwasher 1987"
ADDRESS = "alice@example.com"


def at(seconds: float) -> time_machine.travel:
    return time_machine.travel(START + seconds, tick=False)


@pytest.fixture
def mail_app(database_url: str, smtp: SMTPServer) -> Iterator[Flask]:
    app = create_app(make_config(database_url, **smtp.settings))
    yield app
    delete_all_rows(app)


def inbox(app: Flask, smtp: SMTPServer, subject: str):
    with app.app_context():
        deliver_due()
    return [m for m in smtp.inbox.to(ADDRESS) if m["Subject"] == subject]


@pytest.fixture
def verified_alice(mail_app: Flask, smtp: SMTPServer):
    client = mail_app.test_client()
    with at(0):
        assert register(client, "alice", email=ADDRESS).status_code == 201
        token = link_token(inbox(mail_app, smtp, "Confirm your email address")[-1],
                           "verify-email")
        assert client.post("/api/auth/email/verify", json={"token": token}).status_code == 200
        signed_in = AuthActions(client).login("alice")
        return client, enrol(client, signed_in.access_token, START)


def test_turning_it_on_and_off_mails_the_account(mail_app, smtp, verified_alice):
    client, enrolled = verified_alice
    [on] = inbox(mail_app, smtp, "Two-factor sign-in is on")
    assert "/forgot-password" in text_part(on)
    with at(40):
        assert client.delete("/api/account/mfa/totp", headers=bearer(enrolled.access_token),
                             json={"code": code_at(enrolled.secret, START + 40)}
                             ).status_code == 204
    [off] = inbox(mail_app, smtp, "Two-factor sign-in was turned off")
    assert "turned off" in text_part(off) and "/forgot-password" in text_part(off)


def test_using_a_recovery_code_mails_the_account_with_the_count_left(mail_app, smtp,
                                                                      verified_alice):
    client, enrolled = verified_alice
    with at(40):
        done = second_step(client, password_step(client),
                           recovery_code=enrolled.recovery_codes[3])
    assert done.status_code == 200
    [used] = inbox(mail_app, smtp, "A recovery code was used to sign in")
    assert "9 of your recovery codes remain" in text_part(used)
    assert enrolled.recovery_codes[3] not in text_part(used)


def test_a_password_reset_does_not_bypass_the_second_factor(mail_app, smtp, verified_alice):
    client, enrolled = verified_alice
    with at(40):
        client.post("/api/auth/password/forgot", json={"email": ADDRESS})
        token = link_token(inbox(mail_app, smtp, "Reset your password")[-1], "reset-password")
        reset = client.post("/api/auth/password/reset",
                            json={"token": token, "new_password": NEW_PASSWORD})
        assert reset.status_code == 204
        assert reset.headers.getlist("Set-Cookie") == []
        after = login(client, "alice", NEW_PASSWORD)
    body = assert_problem(after, 401, "mfa_required")
    with at(41):
        assert second_step(client, body["mfa_token"], code=code_at(enrolled.secret, START + 41)
                           ).status_code == 200


def test_wrong_codes_are_limited_per_account(make_app, stopped_clock):
    app = make_app(RATELIMIT_MFA_PER_ACCOUNT="3/minute",
                   RATELIMIT_LOGIN_PER_USERNAME="100/minute")
    client = app.test_client()
    signed_in = AuthActions(client).signed_in("alice")
    enrol(client, signed_in.access_token, time.time())
    answers = []
    for _ in range(2):
        token = password_step(client)
        answers += [second_step(client, token, code="000000").status_code for _ in range(2)]
    assert answers == [401, 401, 401, 429]


def test_second_steps_are_limited_per_ip(make_app, stopped_clock):
    app = make_app(RATELIMIT_MFA_PER_IP="2/minute")
    client = app.test_client()
    answers = [second_step(client, "not-a-token", code="000000").status_code
               for _ in range(3)]
    assert answers == [401, 401, 429]


def test_an_account_without_2fa_still_signs_in_in_one_step(client):
    AuthActions(client).register("bob")
    answer = login(client, "bob", PASSWORD)
    assert answer.status_code == 200 and "mfa_token" not in answer.json
