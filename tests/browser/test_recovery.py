"""Account recovery in Chromium: forgot → mail → reset → sign in, the mail read from a real SMTP
server that gunicorn's own mail worker delivers to; then the address change. Every new page
state is screenshotted at 1280x800 and 390x844 and checked by axe-core."""

import json
import re
import time
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from playwright.sync_api import expect
from support.browser import fill_login_form, screenshot, submit_and_wait
from support.live_server import free_port, live_server, request
from support.smtp import SMTPServer, text_part

from browser.test_newcomer import VIEWPORTS, axe_violations

pytestmark = [pytest.mark.live,
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

NEW_PASSWORD = "violet tractor under moonlight"
MAIL_TIMEOUT = 15.0  # the worker polls every MAIL_POLL_SECONDS (2 s)


@pytest.fixture(scope="module")
def smtp() -> Iterator[SMTPServer]:
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def _mail_server(database_url: str, smtp: SMTPServer) -> Iterator[str]:
    """gunicorn whose mail worker delivers to ``smtp``, its links naming its own address."""
    port = free_port()
    env = {"AUTHAPP_MAIL_BACKEND": "smtp", "AUTHAPP_MAIL_SERVER": "127.0.0.1",
           "AUTHAPP_MAIL_PORT": str(smtp.port), "AUTHAPP_MAIL_WORKER_ENABLED": "true",
           "AUTHAPP_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    with live_server(database_url, env=env, port=port) as base_url:
        yield base_url


@pytest.fixture
def server(app, _mail_server: str) -> str:
    """The live server's base URL; ``app`` deletes every row once the test is done."""
    return _mail_server


def wait_for_mail(smtp: SMTPServer, address: str, subject: str) -> EmailMessage:
    """The first mail to ``address`` with ``subject``, waiting for the worker to send it."""
    deadline = time.monotonic() + MAIL_TIMEOUT
    while time.monotonic() < deadline:
        if found := [m for m in smtp.inbox.to(address) if m["Subject"] == subject]:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no {subject!r} mail to {address} within {MAIL_TIMEOUT} s")


def mailed_link(message: EmailMessage, server: str, path: str) -> str:
    found = re.search(rf"{re.escape(server)}/{path}/[A-Za-z0-9_-]+", text_part(message))
    assert found, text_part(message)
    return found.group(0)


def _journey(page, server: str, smtp: SMTPServer, watch, name: str):
    """Yield each new page state in the order a person meets them."""
    address = f"{name}@example.com"
    answer = request(server, "POST", "/api/auth/register", json_body={
        "username": name, "password": "an old forgotten password", "email": address})
    assert answer.status == 201, answer.body

    page.goto(mailed_link(wait_for_mail(smtp, address, "Confirm your email address"),
                          server, "verify-email"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your email address")
    yield "verify-email"
    submit_and_wait(page, page.get_by_role("button", name="Confirm my address"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Address confirmed")
    yield "address-confirmed"

    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page).to_have_url(f"{server}/forgot-password")
    yield "forgot-password"
    watch.expect_failed_request(422, "/forgot-password")
    submit_and_wait(page, page.get_by_role("button", name="Send me a link"))
    expect(page.locator("#email-error")).to_be_visible()
    expect(page.locator("#email")).to_be_focused()
    yield "forgot-password-errors"
    page.get_by_label("Email address").fill(address)
    submit_and_wait(page, page.get_by_role("button", name="Send me a link"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    yield "check-inbox-reset"

    link = mailed_link(wait_for_mail(smtp, address, "Reset your password"), server,
                       "reset-password")
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    yield "reset-password"
    watch.expect_failed_request(422, link.removeprefix(server))
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("Repeat new password").fill("short")
    submit_and_wait(page, page.get_by_role("button", name="Set new password"))
    expect(page.locator("#new_password-error")).to_be_visible()
    yield "reset-password-errors"
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat new password").fill(NEW_PASSWORD)
    submit_and_wait(page, page.get_by_role("button", name="Set new password"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your password has been changed")
    yield "password-reset-done"
    wait_for_mail(smtp, address, "Your password was changed")

    watch.expect_failed_request(400, link.removeprefix(server))
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("This link no longer works")
    yield "link-invalid"

    page.get_by_role("link", name="Send me a new link").click()
    page.goto("/login")
    fill_login_form(page, address, NEW_PASSWORD)  # a verified address signs in too
    expect(page).to_have_url(f"{server}/account")
    expect(page.locator(".address-state")).to_contain_text("Verified")
    yield "account-email"

    page.get_by_role("link", name="Change address").click()
    yield "email-change"
    new_address = f"{name}.new@example.com"
    page.get_by_label("New email address").fill(new_address)
    submit_and_wait(page, page.get_by_role("button", name="Send the link"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    yield "check-inbox-change"
    page.goto(mailed_link(wait_for_mail(smtp, new_address, "Confirm your new email address"),
                          server, "confirm-email"))
    yield "confirm-email"
    submit_and_wait(page, page.get_by_role("button", name="Use this address"))
    expect(page.get_by_text(f"Your address {new_address} is now your account")).to_be_visible()
    wait_for_mail(smtp, address, "Your email address was changed")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_forgot_mail_reset_sign_in_and_change_the_address(server, smtp, new_context, watch,
                                                          viewport):
    page = new_context(server, viewport=VIEWPORTS[viewport]).new_page()

    found = {}
    for state in _journey(page, server, smtp, watch, f"recovery-{viewport}"):
        screenshot(page, f"recovery-{state}-{viewport}")
        if violations := axe_violations(page):
            found[state] = violations

    assert not found, json.dumps(found, indent=2)


def test_a_reset_page_sends_no_referrer_onward(server, smtp, new_context):
    """The page behind a mailed link names no Referer, so its token never leaves it."""
    address = "referrer@example.com"
    request(server, "POST", "/api/auth/register", json_body={
        "username": "referrer", "password": NEW_PASSWORD, "email": address})
    page = new_context(server).new_page()
    page.goto(mailed_link(wait_for_mail(smtp, address, "Confirm your email address"), server,
                          "verify-email"))
    submit_and_wait(page, page.get_by_role("button", name="Confirm my address"))
    request(server, "POST", "/api/auth/password/forgot", json_body={"email": address})
    link = mailed_link(wait_for_mail(smtp, address, "Reset your password"), server,
                       "reset-password")

    response = page.goto(link)

    assert response.headers["referrer-policy"] == "no-referrer"
    with page.expect_request(f"{server}/login") as onward:
        page.locator("header").get_by_role("link", name="Sign in").click()
    assert "referer" not in onward.value.headers
    assert page.evaluate("() => document.referrer") == ""
