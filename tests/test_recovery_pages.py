"""Account recovery pages (SPEC §8): forgot, reset, verify, change, and the account's address.

Mail is delivered with ``deliver_due()`` into a per-test directory of ``.eml`` files and read
back with the standard library's email package, as a person's mail client would.
"""

import email
import email.policy
import re
import secrets
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support.api import PASSWORD, bearer_refresh, login, register
from support.apps import delete_all_rows, make_config
from support.clock import later
from support.pages import csrf_token, page_login
from werkzeug.test import TestResponse

from authapp import create_app
from authapp.core.extensions import db
from authapp.db.models import User
from authapp.mail.delivery import deliver_due
from authapp.web.views import EVENT_LABELS

ADDRESS = "alice@example.com"
NEW_PASSWORD = "violet tractor under moonlight"
LINK = re.compile(r"/(reset-password|verify-email|confirm-email)/([A-Za-z0-9_-]+)")


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    return tmp_path / "mail"


@pytest.fixture
def app(database_url: str, mail_dir: Path) -> Iterator[Flask]:
    """The usual test app, its file mail kept in this test's own directory."""
    app = create_app(make_config(database_url, MAIL_FILE_DIRECTORY=str(mail_dir)))
    yield app
    delete_all_rows(app)


def inbox(app: Flask, mail_dir: Path, address: str) -> list[EmailMessage]:
    """Deliver what is due, then every mail ``address`` has received, oldest first."""
    with app.app_context():
        deliver_due()
    messages = [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                for path in sorted(mail_dir.glob("*.eml"))]
    return [m for m in messages if m["To"] == address]  # type: ignore[misc]


def newest_link(app: Flask, mail_dir: Path, address: str, kind: str) -> str:
    """The path ``/<kind>/<token>`` in the newest mail to ``address`` that has one."""
    for message in reversed(inbox(app, mail_dir, address)):
        text = message.get_body(preferencelist=("plain",)).get_content()
        for found in LINK.finditer(text):
            if found.group(1) == kind:
                return found.group(0)
    raise AssertionError(f"no /{kind}/ link mailed to {address}")


def post_form(client: FlaskClient, path: str, **fields: str) -> TestResponse:
    """Submit the form on ``path`` with its CSRF token, as a browser would."""
    return client.post(path, data={"csrf_token": csrf_token(client, path), **fields})


def is_verified(app: Flask, username: str = "alice") -> bool:
    with app.app_context():
        return db.session.query(User).filter_by(username=username).one().email_verified_at \
            is not None


@pytest.fixture
def verified_alice(app: Flask, client: FlaskClient, mail_dir: Path) -> None:
    """alice, whose address ADDRESS is verified through the API."""
    assert register(client, "alice", email=ADDRESS).status_code == 201
    token = newest_link(app, mail_dir, ADDRESS, "verify-email").rsplit("/", 1)[1]
    assert client.post("/api/auth/email/verify", json={"token": token}).status_code == 200


@pytest.fixture
def reset_link(app: Flask, client: FlaskClient, mail_dir: Path, verified_alice: None) -> str:
    """A fresh reset link for alice, asked for through the page."""
    assert post_form(client, "/forgot-password", email=ADDRESS).status_code == 200
    return newest_link(app, mail_dir, ADDRESS, "reset-password")


def assert_link_page_headers(response: TestResponse) -> None:
    assert response.headers.getlist("Referrer-Policy") == ["no-referrer"]
    assert response.headers.getlist("Cache-Control") == ["no-store"]


def assert_friendly_invalid_page(response: TestResponse, again: str) -> None:
    assert response.status_code == 400
    assert b"This link no longer works" in response.data
    assert f'href="{again}"'.encode() in response.data
    assert_link_page_headers(response)


# -- forgot ----------------------------------------------------------------------------------


def test_the_login_page_offers_forgot_your_password(client):
    assert b'<a href="/forgot-password">Forgot your password?</a>' in client.get("/login").data


def test_forgot_password_shows_an_address_field(client):
    response = client.get("/forgot-password")
    assert response.status_code == 200
    assert re.search(rb'<input[^>]*autocomplete="email"[^>]*name="email"[^>]*type="email"',
                     response.data)


def test_forgot_password_answers_the_same_page_for_any_address(client, verified_alice):
    pages = []
    for address in (ADDRESS, "nobody@example.com"):
        response = post_form(client, "/forgot-password", email=address)
        assert response.status_code == 200
        pages.append(response.data.replace(address.encode(), b"ADDRESS"))
    assert pages[0] == pages[1]
    assert b"Check your inbox" in pages[0]


def test_forgot_password_mails_a_reset_link_to_a_verified_address(app, reset_link, mail_dir):
    [*_, mail] = inbox(app, mail_dir, ADDRESS)
    assert mail["Subject"] == "Reset your password"
    assert reset_link.startswith("/reset-password/")


def test_forgot_password_with_a_malformed_address_says_so_beside_the_field(client):
    response = post_form(client, "/forgot-password", email="not an address")
    assert response.status_code == 422
    assert b'id="email-error"' in response.data
    assert b'aria-describedby="email-hint email-error"' in response.data


def test_forgot_password_page_and_api_share_the_per_address_budget(make_app):
    app = make_app(RATELIMIT_FORGOT_PER_EMAIL="2/hour")
    client = app.test_client()
    body = {"email": ADDRESS}
    assert client.post("/api/auth/password/forgot", json=body).status_code == 202
    assert post_form(client, "/forgot-password", **body).status_code == 200
    assert post_form(client, "/forgot-password", **body).status_code == 429
    assert client.post("/api/auth/password/forgot", json=body).status_code == 429


# -- reset -----------------------------------------------------------------------------------


def test_reset_link_shows_the_new_password_form_without_a_referrer(client, reset_link):
    response = client.get(reset_link)
    assert response.status_code == 200
    assert_link_page_headers(response)
    assert b'value="alice" autocomplete="username" readonly hidden' in response.data
    assert len(re.findall(rb'autocomplete="new-password"', response.data)) == 2


def test_opening_a_reset_link_does_not_use_it_up(client, reset_link):
    for _ in range(3):
        assert client.get(reset_link).status_code == 200
    response = post_form(client, reset_link, new_password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert response.status_code == 200


def test_reset_signs_out_every_session_and_signs_no_one_in(client, reset_link):
    refresh_token = login(client, "alice", refresh_in_body=True).json["refresh_token"]
    page_login(client)

    response = post_form(client, reset_link, new_password=NEW_PASSWORD, confirm=NEW_PASSWORD)

    assert response.status_code == 200
    assert b"Every device that was signed in to your account has been signed out" in response.data
    assert b'href="/login"' in response.data
    assert_link_page_headers(response)
    assert not [c for c in response.headers.getlist("Set-Cookie") if "token_cookie=ey" in c]
    assert client.get("/account").status_code == 302
    assert bearer_refresh(client, refresh_token).status_code == 401
    assert login(client, "alice", NEW_PASSWORD).status_code == 200
    assert login(client, "alice", PASSWORD).status_code == 401


def test_a_weak_password_shows_the_form_again_and_keeps_the_link(client, reset_link):
    response = post_form(client, reset_link, new_password="short", confirm="short")

    assert response.status_code == 422
    assert b'id="new_password-error"' in response.data
    assert_link_page_headers(response)
    assert post_form(client, reset_link, new_password=NEW_PASSWORD,
                     confirm=NEW_PASSWORD).status_code == 200


def test_a_used_reset_link_gets_the_friendly_page(client, reset_link):
    form = {"csrf_token": csrf_token(client), "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD}
    assert client.post(reset_link, data=form).status_code == 200
    assert_friendly_invalid_page(client.get(reset_link), "/forgot-password")
    assert_friendly_invalid_page(client.post(reset_link, data=form), "/forgot-password")


def test_an_expired_reset_link_gets_the_friendly_page(client, reset_link):
    with later(minutes=61):
        assert_friendly_invalid_page(client.get(reset_link), "/forgot-password")


def test_a_superseded_reset_link_gets_the_friendly_page(app, client, mail_dir, reset_link):
    post_form(client, "/forgot-password", email=ADDRESS)
    assert newest_link(app, mail_dir, ADDRESS, "reset-password") != reset_link
    assert_friendly_invalid_page(client.get(reset_link), "/forgot-password")


@pytest.mark.parametrize("tamper", [
    lambda link: link[:-1] + ("A" if link[-1] != "A" else "B"),
    lambda link: link + "x",
    lambda link: "/reset-password/" + secrets.token_urlsafe(32),
    lambda link: "/reset-password/" + "x" * 500,
])
def test_a_tampered_reset_link_gets_the_friendly_page(client, reset_link, tamper):
    assert_friendly_invalid_page(client.get(tamper(reset_link)), "/forgot-password")
    assert client.get(reset_link).status_code == 200  # the real one still works


# -- verify ------------------------------------------------------------------------------------


def test_register_page_takes_an_optional_address_and_mails_a_link(app, client, mail_dir):
    page = client.get("/register").data
    assert b"Email address (optional)" in page
    response = post_form(client, "/register", username="alice", email=ADDRESS,
                         password=PASSWORD, confirm=PASSWORD)
    assert response.status_code == 302
    assert newest_link(app, mail_dir, ADDRESS, "verify-email")
    account = client.get("/account").data
    assert ADDRESS.encode() in account and b"Not verified" in account
    assert b"Resend verification link" in account


def test_register_page_shows_a_malformed_address_beside_its_field(client):
    response = post_form(client, "/register", username="alice", email="alice@",
                         password=PASSWORD, confirm=PASSWORD)
    assert response.status_code == 422
    assert b'id="email-error"' in response.data


def test_register_page_requires_an_address_when_configured(database_url):
    app = create_app(make_config(database_url, EMAIL_REQUIRED=True))
    client = app.test_client()
    assert b"Email address (optional)" not in client.get("/register").data
    response = post_form(client, "/register", username="alice", password=PASSWORD,
                         confirm=PASSWORD)
    assert response.status_code == 422
    assert b"An email address is required." in response.data


def test_a_verification_link_asks_before_it_verifies(app, client, mail_dir):
    register(client, "alice", email=ADDRESS)
    link = newest_link(app, mail_dir, ADDRESS, "verify-email")

    page = client.get(link)
    assert page.status_code == 200
    assert_link_page_headers(page)
    assert b"Confirm my address" in page.data and ADDRESS.encode() in page.data
    assert not is_verified(app)  # a mail scanner's GET verifies nothing

    done = post_form(client, link)
    assert done.status_code == 200
    assert_link_page_headers(done)
    assert b"is verified" in done.data
    assert is_verified(app)
    assert_friendly_invalid_page(client.post(link, data={"csrf_token": csrf_token(client)}),
                                 "/account")


def test_a_verification_post_without_its_csrf_token_changes_nothing(app, client, mail_dir):
    register(client, "alice", email=ADDRESS)
    link = newest_link(app, mail_dir, ADDRESS, "verify-email")
    assert client.post(link).status_code == 403
    assert not is_verified(app)
    assert post_form(client, link).status_code == 200


def test_a_link_page_accepts_its_own_form_posted_under_no_referrer(app, client, mail_dir):
    """Under no-referrer a browser sends Origin: null; Sec-Fetch-Site says it is our page."""
    register(client, "alice", email=ADDRESS)
    link = newest_link(app, mail_dir, ADDRESS, "verify-email")
    form = {"csrf_token": csrf_token(client, link)}
    assert client.post(link, data=form, headers={"Origin": "null"}).status_code == 403
    assert client.post(link, data=form, headers={"Origin": "null", "Sec-Fetch-Site": "cross-site"}
                       ).status_code == 403
    assert client.post(link, data=form, headers={"Origin": "null",
                                                 "Sec-Fetch-Site": "same-origin"}
                       ).status_code == 200
    assert is_verified(app)


def test_a_tampered_verification_link_gets_the_friendly_page(client):
    assert_friendly_invalid_page(client.get("/verify-email/nonsense"), "/account")


# -- the account page and the address change ---------------------------------------------------


def test_the_account_page_shows_a_verified_address(client, verified_alice):
    page_login(client)
    page = client.get("/account").data
    assert ADDRESS.encode() in page and b"Verified" in page
    assert b"Resend verification link" not in page
    assert b"Change address" in page
    assert EVENT_LABELS["email_verified"].encode() in page


def test_the_account_page_offers_to_add_an_address(client, auth):
    auth.register()
    page_login(client)
    page = client.get("/account").data
    assert b"No address yet" in page and b"Add an address" in page


def test_resend_mails_a_new_link_once_a_minute_has_passed(app, client, mail_dir):
    register(client, "alice", email=ADDRESS)
    page_login(client)
    first = newest_link(app, mail_dir, ADDRESS, "verify-email")
    form = {"csrf_token": csrf_token(client, "/account")}
    with later(seconds=61):
        response = client.post("/account/email/verification", data=form)
        assert response.status_code == 302 and response.headers["Location"] == "/account"
        assert b"A new verification link is on its way" in client.get("/account").data
        assert newest_link(app, mail_dir, ADDRESS, "verify-email") != first


def test_changing_the_address_mails_the_new_one_and_tells_the_old(app, client, mail_dir,
                                                                  verified_alice):
    page_login(client)
    assert client.get("/account/email").status_code == 200
    response = post_form(client, "/account/email", email="alice@new.example")
    assert response.status_code == 200 and b"Check your inbox" in response.data
    link = newest_link(app, mail_dir, "alice@new.example", "confirm-email")

    page = client.get(link)
    assert_link_page_headers(page)
    assert b"alice@new.example" in page.data and b"Use this address" in page.data
    assert ADDRESS.encode() in client.get("/account").data  # nothing changed yet

    done = post_form(client, link)
    assert done.status_code == 200 and b"is now your account" in done.data
    assert_link_page_headers(done)
    account = client.get("/account").data
    assert b"alice@new.example" in account and b"Verified" in account
    [*_, notice] = inbox(app, mail_dir, ADDRESS)
    assert notice["Subject"] == "Your email address was changed"


def test_the_address_change_shows_a_malformed_address_beside_its_field(client, verified_alice):
    page_login(client)
    response = post_form(client, "/account/email", email="nope")
    assert response.status_code == 422
    assert b'id="email-error"' in response.data


def test_a_stale_session_confirms_it_is_you_before_changing_the_address(client, verified_alice):
    page_login(client)
    form = {"csrf_token": csrf_token(client, "/account"), "email": "alice@new.example"}
    with later(seconds=301):
        for response in (client.get("/account/email"), client.post("/account/email", data=form)):
            assert response.status_code == 302
            assert response.headers["Location"] == "/account/confirm?next=/account/email"


def test_the_address_change_needs_a_signed_in_user(client):
    response = client.get("/account/email")
    assert response.headers["Location"] == "/login?next=/account/email"


def test_every_recovery_event_has_an_activity_label():
    assert {"email_verification_sent", "email_verified", "signup_address_in_use",
            "password_reset_requested", "password_reset", "email_change_requested",
            "email_changed", "reauthenticated", "reauthentication_failed"} <= set(EVENT_LABELS)
