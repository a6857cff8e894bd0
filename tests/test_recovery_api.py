"""Verified addresses, password reset and address change through the API (SPEC §8, §9)."""

import logging
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from support.api import PASSWORD, AuthActions, bearer, login, me, register
from support.apps import delete_all_rows, make_config
from support.problems import assert_problem
from support.smtp import SMTPServer, link_token

from authapp import create_app
from authapp.core.clock import utcnow
from authapp.core.extensions import db
from authapp.db.models import OutboxMessage
from authapp.mail.delivery import deliver_due

NEW_PASSWORD = "purple monkey dishwasher 1987"


@pytest.fixture
def mail_app(database_url: str, smtp: SMTPServer) -> Iterator[Flask]:
    app = create_app(make_config(database_url, **smtp.settings))
    yield app
    delete_all_rows(app)


@pytest.fixture
def api(mail_app: Flask) -> FlaskClient:
    return mail_app.test_client()


class Mailbox:
    """Delivers the outbox and reads what arrived."""

    def __init__(self, app: Flask, smtp: SMTPServer) -> None:
        self.app, self.smtp = app, smtp

    def deliver(self) -> None:
        with self.app.app_context():
            deliver_due()

    def to(self, address: str, subject: str | None = None):
        self.deliver()
        return [m for m in self.smtp.inbox.to(address)
                if subject is None or m["Subject"] == subject]

    def token(self, address: str, subject: str, path: str) -> str:
        return link_token(self.to(address, subject)[-1], path)


@pytest.fixture
def mailbox(mail_app: Flask, smtp: SMTPServer) -> Mailbox:
    return Mailbox(mail_app, smtp)


VERIFY = "Confirm your email address"
RESET = "Reset your password"


def verified_account(api: FlaskClient, mailbox: Mailbox, name: str = "alice",
                     address: str = "alice@example.com") -> None:
    assert register(api, name, email=address).status_code == 201
    token = mailbox.token(address, VERIFY, "verify-email")
    assert api.post("/api/auth/email/verify", json={"token": token}).status_code == 200


def forgot(api: FlaskClient, address: str):
    return api.post("/api/auth/password/forgot", json={"email": address})


def reset(api: FlaskClient, token: str, password: str = NEW_PASSWORD):
    return api.post("/api/auth/password/reset", json={"token": token, "new_password": password})


# --- addresses and verification ---------------------------------------------------------------


def test_registering_with_an_address_mails_a_link_that_verifies_it(api, mailbox):
    answer = register(api, "alice", email="Alice@Example.COM")
    assert answer.status_code == 201
    assert answer.json["user"]["email"] == "Alice@example.com"
    assert answer.json["user"]["email_verified"] is False
    token = mailbox.token("Alice@example.com", VERIFY, "verify-email")
    verified = api.post("/api/auth/email/verify", json={"token": token})
    assert verified.status_code == 200 and verified.json["user"]["email_verified"] is True
    assert_problem(api.post("/api/auth/email/verify", json={"token": token}), 400,
                   "link_invalid")


def test_sign_in_accepts_a_verified_address_but_not_an_unverified_one(api, mailbox):
    assert register(api, "bob", email="bob@example.com").status_code == 201
    assert_problem(login(api, "bob@example.com"), 401, "invalid_credentials")
    token = mailbox.token("bob@example.com", VERIFY, "verify-email")
    api.post("/api/auth/email/verify", json={"token": token})
    assert login(api, "BOB@example.com").status_code == 200
    assert login(api, "bob").status_code == 200


def test_an_address_verified_by_another_account_warns_its_owner(api, mailbox):
    verified_account(api, mailbox)
    answer = register(api, "mallory", email="alice@example.com")
    assert answer.status_code == 201  # the same answer as for a free address
    [warning] = mailbox.to("alice@example.com", "Someone tried to sign up with your address")
    assert "/verify-email/" not in warning.get_body(("plain",)).get_content()
    assert len(mailbox.to("alice@example.com", VERIFY)) == 1  # only alice's own, earlier


def test_of_two_accounts_with_one_unverified_address_the_first_to_verify_keeps_it(api, mailbox):
    assert register(api, "alice", email="shared@example.com").status_code == 201
    assert register(api, "bob", email="shared@example.com").status_code == 201
    first, second = (link_token(m, "verify-email") for m in mailbox.to("shared@example.com"))
    assert api.post("/api/auth/email/verify", json={"token": second}).status_code == 200
    assert_problem(api.post("/api/auth/email/verify", json={"token": first}), 400,
                   "link_invalid")


@pytest.mark.parametrize("address", ["not an address", "a@b", "@example.com",
                                     "x" * 250 + "@example.com"])
def test_an_invalid_address_is_422(api, address):
    answer = register(api, "alice", email=address)
    assert_problem(answer, 422, "validation_error")
    assert "email" in answer.json["errors"]


def test_an_address_is_required_when_configured(database_url):
    app = create_app(make_config(database_url, EMAIL_REQUIRED=True))
    try:
        answer = register(app.test_client(), "alice")
        assert_problem(answer, 422, "validation_error")
        assert answer.json["errors"]["email"] == ["An email address is required."]
    finally:
        delete_all_rows(app)


def test_resending_the_verification_link_is_limited_to_one_mail_a_minute(api, mailbox):
    register(api, "alice", email="alice@example.com")
    signed_in = AuthActions(api).login("alice")
    start = utcnow()
    with time_machine.travel(start + timedelta(seconds=10), tick=False):
        for _ in range(2):
            answer = api.post("/api/account/email/verification", headers=signed_in.headers)
            assert answer.status_code == 202
    assert len(mailbox.to("alice@example.com", VERIFY)) == 1
    with time_machine.travel(start + timedelta(seconds=70), tick=False):
        api.post("/api/account/email/verification", headers=signed_in.headers)
        mailbox.deliver()  # queued "at" this moment: due now, not before
    assert len(mailbox.to("alice@example.com", VERIFY)) == 2


# --- forgot and reset -------------------------------------------------------------------------


def test_forgot_answers_the_same_for_verified_unverified_and_unknown_addresses(api, mailbox):
    verified_account(api, mailbox)
    register(api, "bob", email="bob@example.com")
    answers = [forgot(api, address) for address in
               ("alice@example.com", "bob@example.com", "nobody@example.com")]
    assert {a.status_code for a in answers} == {202}
    assert len({a.get_data() for a in answers}) == 1
    for name in ("Content-Type", "Cache-Control", "Set-Cookie", "WWW-Authenticate",
                 "Content-Length"):
        assert len({a.headers.get(name) for a in answers}) == 1, name
    with api.application.app_context():  # the same work for each: one queued job
        jobs = db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.kind == "password_forgot"))
    assert jobs == 3
    assert len(mailbox.to("alice@example.com", RESET)) == 1
    assert len(mailbox.to("bob@example.com", VERIFY)) == 2  # a verification link instead
    assert mailbox.to("nobody@example.com") == []


def test_a_reset_sets_the_password_and_signs_out_every_session(api, mailbox):
    verified_account(api, mailbox)
    sessions = [AuthActions(api).login("alice") for _ in range(2)]
    forgot(api, "alice@example.com")
    token = mailbox.token("alice@example.com", RESET, "reset-password")
    answer = reset(api, token)
    assert answer.status_code == 204 and not answer.headers.getlist("Set-Cookie")
    for signed_in in sessions:
        assert_problem(me(api, signed_in.access_token), 401, "token_revoked")
    assert_problem(login(api, "alice"), 401, "invalid_credentials")
    assert login(api, "alice", NEW_PASSWORD).status_code == 200
    assert len(mailbox.to("alice@example.com", "Your password was changed")) == 1


def test_a_used_superseded_expired_or_tampered_reset_link_is_invalid(api, mailbox):
    verified_account(api, mailbox)
    forgot(api, "alice@example.com")
    first = mailbox.token("alice@example.com", RESET, "reset-password")
    forgot(api, "alice@example.com")
    second = mailbox.token("alice@example.com", RESET, "reset-password")
    assert_problem(reset(api, first), 400, "link_invalid")  # superseded by the newer link
    assert_problem(reset(api, second[:-1] + ("A" if second[-1] != "A" else "B")), 400,
                   "link_invalid")
    with time_machine.travel(utcnow() + timedelta(seconds=3601)):
        assert_problem(reset(api, second), 400, "link_invalid")
    assert reset(api, second).status_code == 204
    assert_problem(reset(api, second, "yet another horse battery"), 400, "link_invalid")


def test_a_weak_new_password_keeps_the_link_usable(api, mailbox):
    verified_account(api, mailbox)
    forgot(api, "alice@example.com")
    token = mailbox.token("alice@example.com", RESET, "reset-password")
    weak = reset(api, token, "password")
    assert_problem(weak, 422, "validation_error")
    assert "new_password" in weak.json["errors"]
    assert reset(api, token).status_code == 204


def test_changing_the_password_kills_outstanding_reset_links(api, mailbox):
    verified_account(api, mailbox)
    forgot(api, "alice@example.com")
    token = mailbox.token("alice@example.com", RESET, "reset-password")
    signed_in = AuthActions(api).login("alice")
    changed = api.post("/api/auth/password", headers=signed_in.headers,
                       json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 204
    assert_problem(reset(api, token, "yet another horse battery"), 400, "link_invalid")
    assert len(mailbox.to("alice@example.com", "Your password was changed")) == 1


def test_two_concurrent_uses_of_one_reset_link_let_exactly_one_through(mail_app, api, mailbox):
    verified_account(api, mailbox)
    forgot(api, "alice@example.com")
    token = mailbox.token("alice@example.com", RESET, "reset-password")
    start, statuses = threading.Barrier(4), []

    def use(password: str) -> None:
        client = mail_app.test_client()
        start.wait()
        statuses.append(reset(client, token, password).status_code)

    threads = [threading.Thread(target=use, args=(f"{NEW_PASSWORD} {i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [204, 400, 400, 400]


def test_no_log_line_holds_a_link_token(api, mailbox, caplog):
    with caplog.at_level(logging.DEBUG):
        verified_account(api, mailbox)
        forgot(api, "alice@example.com")
        token = mailbox.token("alice@example.com", RESET, "reset-password")
        reset(api, token)
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]
    assert ours  # (mail.log is the test's own SMTP server, which prints what it receives)
    assert not [line for line in ours if token in line]


# --- address change -----------------------------------------------------------------------


def test_changing_the_address_needs_recent_authentication(api, mailbox):
    verified_account(api, mailbox)
    with time_machine.travel(utcnow() - timedelta(minutes=10)):
        stale = AuthActions(api).login("alice")
    refused = api.post("/api/account/email", headers=stale.headers,
                       json={"email": "new@example.com"})
    assert_problem(refused, 401, "reauthentication_required")
    assert refused.json["methods"] == ["password"]
    assert mailbox.to("new@example.com") == []


def test_an_address_change_happens_when_the_new_address_confirms_it(api, mailbox):
    verified_account(api, mailbox)
    signed_in = AuthActions(api).login("alice")
    asked = api.post("/api/account/email", headers=signed_in.headers,
                     json={"email": "new@example.com"})
    assert asked.status_code == 202
    assert me(api, signed_in.access_token).json["email"] == "alice@example.com"
    token = mailbox.token("new@example.com", "Confirm your new email address", "confirm-email")
    confirmed = api.post("/api/auth/email/confirm", json={"token": token})
    assert confirmed.status_code == 200
    assert confirmed.json["user"]["email"] == "new@example.com"
    assert confirmed.json["user"]["email_verified"] is True
    [notice] = mailbox.to("alice@example.com", "Your email address was changed")
    assert "new@example.com" in notice.get_body(("plain",)).get_content()
    assert login(api, "new@example.com").status_code == 200
    assert_problem(login(api, "alice@example.com"), 401, "invalid_credentials")


def test_an_address_taken_meanwhile_cannot_be_confirmed(api, mailbox):
    verified_account(api, mailbox)
    signed_in = AuthActions(api).login("alice")
    api.post("/api/account/email", headers=signed_in.headers, json={"email": "bob@example.com"})
    token = mailbox.token("bob@example.com", "Confirm your new email address", "confirm-email")
    verified_account(api, mailbox, "bob", "bob@example.com")
    assert_problem(api.post("/api/auth/email/confirm", json={"token": token}), 400,
                   "link_invalid")
    assert me(api, signed_in.access_token).json["email"] == "alice@example.com"


def test_link_tokens_are_stored_only_as_hashes(api, mailbox):
    verified_account(api, mailbox)
    forgot(api, "alice@example.com")
    token = mailbox.token("alice@example.com", RESET, "reset-password")
    with api.application.app_context():
        connection = db.session.connection()
        for table in ("link_tokens", "mail_outbox", "auth_events"):
            dump = " ".join(str(row) for row in connection.exec_driver_sql(
                f"SELECT * FROM {table}"))  # noqa: S608  (fixed table names)
            assert token not in dump, table  # the outbox drops a body once it is sent


def test_every_new_endpoint_rejects_bearer_tokens_of_the_wrong_type(api, auth):
    signed_in = AuthActions(api).signed_in("alice")
    for path in ("/api/account/email/verification", "/api/account/email"):
        assert_problem(api.post(path, headers=bearer(signed_in.refresh_token),
                                json={"email": "x@example.com"}), 401, "token_invalid")
