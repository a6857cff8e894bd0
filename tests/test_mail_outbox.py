"""The mail outbox (SPEC §8 "Delivery loses nothing"): a real SMTP server, outages, races."""

import email
import email.policy
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select
from support.api import PASSWORD, register
from support.apps import delete_all_rows, make_config
from support.live_server import live_server, request
from support.smtp import SMTPServer, html_part, link_token, text_part

from authapp import create_app
from authapp.core.clock import utcnow
from authapp.core.extensions import db
from authapp.core.gunicorn_logging import RedactingLogger
from authapp.db.models import OutboxMessage
from authapp.db.transaction import flow
from authapp.mail.delivery import deliver_due
from authapp.mail.outbox import queue_mail


@pytest.fixture
def mail_app(database_url: str, smtp: SMTPServer) -> Iterator[Flask]:
    app = create_app(make_config(database_url, **smtp.settings))
    yield app
    delete_all_rows(app)


@flow
def queue_test_mails(count: int) -> None:
    for index in range(count):
        queue_mail(f"person{index}@example.com", "password_changed", username=f"person{index}",
                   reset_link="http://localhost/forgot-password")


def statuses(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)))


def test_a_queued_mail_is_delivered_once_with_text_and_html_parts(mail_app, smtp):
    with mail_app.app_context():
        queue_test_mails(1)
        assert deliver_due() == 1
        assert deliver_due() == 0
    [message] = smtp.inbox.messages
    assert message["To"] == "person0@example.com"
    assert message["Subject"] == "Your password was changed"
    assert "If it was not you" in text_part(message)
    assert "<a href=\"http://localhost/forgot-password\">" in html_part(message)
    assert statuses(mail_app) == ["sent"]


def test_mail_queued_in_a_rolled_back_transaction_is_never_sent(mail_app, smtp):
    @flow
    def change_that_fails() -> None:
        queue_test_mails(1)
        raise RuntimeError("the change itself failed")

    with mail_app.app_context():
        with pytest.raises(RuntimeError):
            change_that_fails()
        assert deliver_due() == 0
    assert smtp.inbox.messages == [] and statuses(mail_app) == []


def test_an_outage_is_retried_with_back_off_and_delivered_once(mail_app, smtp, caplog):
    smtp.stop()
    with mail_app.app_context():
        queue_test_mails(1)
        with caplog.at_level(logging.WARNING):
            assert deliver_due() == 1  # attempted, refused
        assert statuses(mail_app) == ["pending"]
        assert deliver_due() == 0  # backing off: not due yet
        smtp.start()
        with time_machine.travel(utcnow() + timedelta(seconds=6), tick=False):
            assert deliver_due() == 1
        with time_machine.travel(utcnow() + timedelta(hours=2), tick=False):
            assert deliver_due() == 0
    assert len(smtp.inbox.messages) == 1 and statuses(mail_app) == ["sent"]
    assert "not delivered" in caplog.text


def test_a_mail_that_keeps_failing_ends_as_failed_and_is_listed(database_url):
    app = create_app(make_config(database_url, MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1",
                                 MAIL_PORT=1, MAIL_MAX_ATTEMPTS=2))
    try:
        with app.app_context():
            queue_test_mails(1)
            deliver_due()
            with time_machine.travel(utcnow() + timedelta(minutes=5), tick=False):
                deliver_due()
        assert statuses(app) == ["failed"]
        listing = app.test_cli_runner().invoke(args=["mail", "outbox"])
        assert "failed" in listing.output and "person0@example.com" in listing.output
        assert "forgot-password" not in listing.output  # never a body: bodies hold links
    finally:
        delete_all_rows(app)


def test_concurrent_workers_never_send_one_message_twice(database_url, smtp):
    apps = [create_app(make_config(database_url, **smtp.settings)) for _ in range(3)]
    try:
        with apps[0].app_context():
            queue_test_mails(30)
        start = threading.Barrier(len(apps))

        def work(app: Flask) -> None:
            with app.app_context():
                start.wait()
                deliver_due()

        threads = [threading.Thread(target=work, args=(app,)) for app in apps]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        recipients = [message["To"] for message in smtp.inbox.messages]
        assert sorted(recipients) == sorted(f"person{i}@example.com" for i in range(30))
        assert statuses(apps[0]) == ["sent"] * 30
    finally:
        delete_all_rows(apps[0])


@pytest.mark.live
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_gunicorn_workers_deliver_within_ten_seconds_and_only_once(database_url, smtp):
    """Only ``gunicorn wsgi:app`` runs: its workers' own threads deliver the outbox."""
    settings = {"AUTHAPP_MAIL_WORKER_ENABLED": "true", "AUTHAPP_MAIL_BACKEND": "smtp",
                "AUTHAPP_MAIL_SERVER": "127.0.0.1", "AUTHAPP_MAIL_PORT": str(smtp.port),
                "AUTHAPP_PUBLIC_URL": "http://127.0.0.1"}
    with live_server(database_url, settings, workers=2, threads=2) as base_url:
        for index in range(6):
            answer = request(base_url, "POST", "/api/auth/register", json_body={
                "username": f"mailer{index}", "password": PASSWORD,
                "email": f"mailer{index}@example.com"})
            assert answer.status == 201, answer.body
        deadline = threading.Event()
        for _ in range(100):  # up to 10 s
            if len(smtp.inbox.messages) >= 6:
                break
            deadline.wait(0.1)
        deadline.wait(1.0)  # a second worker would have sent a duplicate by now
    recipients = sorted(message["To"] for message in smtp.inbox.messages)
    assert recipients == [f"mailer{i}@example.com" for i in range(6)]
    for message in smtp.inbox.messages:
        assert link_token(message, "verify-email")


def test_the_access_log_never_records_a_link_token():
    from gunicorn.config import Config

    logger = RedactingLogger(Config())
    token = "Q" * 43

    class Request:
        method, path, query, uri, version = "GET", f"/reset-password/{token}", "", "", (1, 1)
        headers: list = []

    class Response:
        status, sent, headers = "200 OK", 10, []

    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"/reset-password/{token}",
               "PATH_INFO": f"/reset-password/{token}", "QUERY_STRING": "",
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
               "HTTP_REFERER": f"http://localhost/verify-email/{token}"}
    atoms = logger.atoms(Response(), Request(), environ, timedelta(seconds=0.01))
    assert token not in " ".join(str(value) for value in atoms.values())
    assert atoms["U"] == "/reset-password/[redacted]"


def test_registering_with_an_address_queues_a_verification_link(mail_app, smtp, client=None):
    client = mail_app.test_client()
    assert register(client, "alice", email="alice@example.com").status_code == 201
    with mail_app.app_context():
        deliver_due()
    [message] = smtp.inbox.to("alice@example.com")
    assert message["Subject"] == "Confirm your email address"
    assert "http://localhost/verify-email/" in text_part(message)
    assert "expires in 24 hours" in text_part(message)


def test_a_development_mail_file_shows_its_link_on_one_line(database_url, tmp_path):
    """``make run`` writes mail to instance/mail/: the link must work when read as text."""
    app = create_app(make_config(database_url, MAIL_BACKEND="file",  # links past 76 characters
                                 MAIL_FILE_DIRECTORY=str(tmp_path),
                                 PUBLIC_URL="https://accounts.example.com"))
    try:
        client = app.test_client()
        assert register(client, "alice", email="alice@example.com").status_code == 201
        with app.app_context():
            deliver_due()
        [mail] = tmp_path.glob("*.eml")
        raw = mail.read_text()
        token = link_token(email.message_from_string(raw, policy=email.policy.default),
                           "verify-email")
        link = f"https://accounts.example.com/verify-email/{token}"
        assert len(link) > 76 and f"{link}\n" in raw.replace("\r\n", "\n")
    finally:
        delete_all_rows(app)
