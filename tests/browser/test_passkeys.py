"""Passkeys in a real Chromium with the DevTools virtual authenticator (SPEC §11): add one on
/account/security, sign out, sign in with it from /login with no username, and use it as the
second factor on /login/verify.

The live server's PUBLIC_URL is http://localhost:<port>: an IP address is not a valid RP ID.
"""

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from support.api import bearer
from support.browser import sign_in, submit_and_wait
from support.live_server import free_port, login, register, request
from support.live_server import live_server as run_live_server
from support.mfa import code_at

pytestmark = [pytest.mark.live,
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


@pytest.fixture(scope="module")
def _passkey_server(database_url: str) -> Iterator[str]:
    port = free_port()
    env = {"AUTHAPP_PUBLIC_URL": f'"http://localhost:{port}"'}
    with run_live_server(database_url, env=env, port=port):
        yield f"http://localhost:{port}"


@pytest.fixture
def server(app, _passkey_server: str) -> str:
    return _passkey_server


def with_authenticator(page) -> None:
    """A platform authenticator with resident keys whose user is always verified."""
    session = page.context.new_cdp_session(page)
    session.send("WebAuthn.enable")
    session.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True}})


def add_passkey_on_the_page(page, name: str) -> None:
    page.goto("/account/security")
    page.get_by_label("Name for a new passkey").fill(name)
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator("#passkey-list input")).to_have_value(name)
    expect(page.locator("#passkeys-count")).to_have_text("You have 1 passkey.")


def sign_out(page) -> None:
    submit_and_wait(page, page.locator(".site-header").get_by_role("button", name="Sign out"))


def test_add_a_passkey_then_sign_in_with_it_and_no_username(server, new_context):
    register(server, "alice")
    page = new_context(server).new_page()
    with_authenticator(page)
    sign_in(page, "alice")
    add_passkey_on_the_page(page, "Test <laptop>")
    sign_out(page)
    page.goto("/login")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page).to_have_url(f"{server}/account")
    expect(page.get_by_text("alice").first).to_be_visible()


def test_the_button_is_absent_without_webauthn(server, new_context):
    page = new_context(server, java_script_enabled=False).new_page()
    page.goto("/login")
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_hidden()
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()


def turn_on_totp(server: str, username: str) -> None:
    token = login(server, username).json["access_token"]
    started = request(server, "POST", "/api/account/mfa/totp", headers=bearer(token))
    confirmed = request(server, "POST", "/api/account/mfa/totp/confirm", headers=bearer(token),
                        json_body={"code": code_at(started.json["secret"], time.time())})
    assert confirmed.status == 200, confirmed.body


def test_a_passkey_as_the_second_factor(server, new_context):
    register(server, "alice")
    page = new_context(server).new_page()
    with_authenticator(page)
    sign_in(page, "alice")
    add_passkey_on_the_page(page, "Phone")
    turn_on_totp(server, "alice")
    page.context.clear_cookies()
    sign_in(page, "alice")
    expect(page).to_have_url(f"{server}/login/verify")
    with page.expect_navigation(url=f"{server}/account"):
        page.get_by_role("button", name="Use a passkey instead").click()
    expect(page.get_by_text("Signed in as alice.")).to_be_visible()


def test_the_app_client_signs_in_with_a_passkey(server, new_context):
    register(server, "alice")
    page = new_context(server).new_page()
    with_authenticator(page)
    sign_in(page, "alice")
    add_passkey_on_the_page(page, "Laptop")
    page.context.clear_cookies()
    page.goto("/app")
    expect(page.locator("#js-login")).to_be_visible()
    with page.expect_response(lambda r: r.url.endswith("/api/auth/passkey")
                              and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Sign in with a passkey").click()
    assert answer.value.status == 200
    assert "refresh_token" not in answer.value.json()
    expect(page.locator("[data-view=signed-in]")).to_be_visible()
    expect(page.locator("#js-username-display")).to_have_text("alice")
    expect(page.locator("[data-header-username]")).to_have_text("alice")
    page.locator("#js-me").click()
    expect(page.locator("#js-log")).to_contain_text("/api/me → alice")
    page.reload()
    expect(page.locator("#js-username-display")).to_have_text("alice")
