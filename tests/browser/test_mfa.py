"""Two-factor sign-in in a real browser (SPEC §10): set up on /account/security with the key
shown on the page (no scanning: the test computes codes from it), sign in through
/login/verify with a code and with a recovery code, without JavaScript too, and in /app.

The live server's clock is real, so codes come from the step after the last one used
(the ±1 window accepts it) instead of from waiting.
"""

import time

import pytest
from playwright.sync_api import expect
from support.api import PASSWORD, bearer
from support.browser import screenshot, sign_in, submit_and_wait
from support.live_server import login, register, request
from support.mfa import code_at

pytestmark = [pytest.mark.live,
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def next_code(secret: str) -> str:
    """A code one step ahead: never one used already, and inside the ±1 window."""
    return code_at(secret, time.time(), steps=1)


def set_up_on_the_page(page) -> tuple[str, list[str]]:
    """Turn TOTP on through /account/security; returns the key shown and the codes."""
    page.goto("/account")
    page.get_by_role("link", name="Security settings").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    submit_and_wait(page, page.get_by_role("button", name="Set up an authenticator app"))
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().strip()
    page.get_by_label("Code from your authenticator app").fill(code_at(secret, time.time()))
    submit_and_wait(page, page.get_by_role("button", name="Turn on two-factor sign-in"))
    expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    codes = [code.strip() for code in page.locator("#recovery-codes code").all_inner_texts()]
    return secret, codes


def sign_out(page) -> None:
    submit_and_wait(page, page.locator(".site-header").get_by_role("button", name="Sign out"))


def test_a_person_sets_it_up_and_signs_in_with_a_code_and_a_recovery_code(server,
                                                                          new_context):
    register(server, "alice")
    page = new_context(server).new_page()
    sign_in(page, "alice")
    secret, codes = set_up_on_the_page(page)
    assert len(codes) == 10
    expect(page.get_by_role("button", name="Copy")).to_be_visible()  # static/security.js
    expect(page.get_by_role("link", name="Download")).to_have_attribute(
        "download", "authapp-recovery-codes.txt")
    screenshot(page, "mfa-recovery-codes")
    page.get_by_role("link", name="I have saved them").click()
    expect(page.locator("#recovery-codes-remaining")).to_have_text("10 of 10")

    sign_out(page)
    sign_in(page, "alice")
    expect(page).to_have_url(f"{server}/login/verify")
    assert not [c for c in page.context.cookies() if c["name"].endswith("token_cookie")]
    screenshot(page, "mfa-login-verify")
    page.get_by_label("Code from your authenticator app").fill(next_code(secret))
    submit_and_wait(page, page.get_by_role("button", name="Verify and sign in"))
    expect(page).to_have_url(f"{server}/account")
    expect(page.locator(".flash-success")).to_contain_text("Signed in as alice")

    sign_out(page)
    sign_in(page, "alice")
    page.get_by_role("link", name="Use a recovery code").click()
    page.get_by_label("Recovery code").fill(codes[0].lower())
    submit_and_wait(page, page.get_by_role("button", name="Verify and sign in"))
    expect(page).to_have_url(f"{server}/account")
    page.goto("/account/security")
    expect(page.locator("#recovery-codes-remaining")).to_have_text("9 of 10")


def test_signing_in_with_a_code_works_without_javascript(server, new_context, watch):
    watch.expect_failed_request(422, "/login/verify")  # the wrong code, answered as a form
    register(server, "bob")
    page = new_context(server).new_page()
    sign_in(page, "bob")
    secret, _ = set_up_on_the_page(page)
    sign_out(page)
    plain = new_context(server, java_script_enabled=False).new_page()
    sign_in(plain, "bob")
    expect(plain).to_have_url(f"{server}/login/verify")
    plain.get_by_label("Code from your authenticator app").fill("000000")
    submit_and_wait(plain, plain.get_by_role("button", name="Verify and sign in"))
    expect(plain.locator("#code-error")).to_contain_text("not correct")
    plain.get_by_label("Code from your authenticator app").fill(next_code(secret))
    submit_and_wait(plain, plain.get_by_role("button", name="Verify and sign in"))
    expect(plain).to_have_url(f"{server}/account")


def enrol_through_the_api(server: str, username: str) -> str:
    register(server, username)
    token = login(server, username).json["access_token"]
    secret = request(server, "POST", "/api/account/mfa/totp", headers=bearer(token)).json[
        "secret"]
    confirmed = request(server, "POST", "/api/account/mfa/totp/confirm", headers=bearer(token),
                        json_body={"code": code_at(secret, time.time())})
    assert confirmed.status == 200
    return secret


def test_the_javascript_client_asks_for_the_code_then_continues(server, new_context, watch):
    watch.expect_failed_request(401, "/api/auth/login")  # mfa_required
    watch.expect_failed_request(401, "/api/auth/mfa")  # the wrong code
    secret = enrol_through_the_api(server, "carol")
    page = new_context(server).new_page()
    page.goto("/app")
    page.locator("#js-username").fill("carol")
    page.locator("#js-password").fill(PASSWORD)
    page.locator("#js-login").get_by_role("button", name="Sign in").click()
    code_field = page.get_by_label("Code from your authenticator app")
    expect(code_field).to_be_focused()
    assert not [c for c in page.context.cookies() if c["name"].endswith("token_cookie")]
    code_field.fill("000000")
    page.locator("#js-mfa").get_by_role("button", name="Verify and sign in").click()
    expect(page.locator("#js-mfa-error")).to_contain_text("not correct")
    code_field.fill(next_code(secret))
    with page.expect_response(lambda r: r.url.endswith("/api/auth/mfa")) as answer:
        page.locator("#js-mfa").get_by_role("button", name="Verify and sign in").click()
    assert answer.value.status == 200
    expect(page.locator("#js-username-display")).to_have_text("carol")
    page.locator("#js-me").click()
    expect(page.locator("#js-log")).to_contain_text("/api/me → carol")
    screenshot(page, "mfa-app-signed-in")
