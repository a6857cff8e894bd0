"""The /app JavaScript client in a real browser (SPEC §5): in-memory access token, HttpOnly
refresh cookie, silent renewal on 401, restore on reload, and two tabs renewing at once."""

import pytest
from playwright.sync_api import expect
from support.api import PASSWORD
from support.browser import REFRESH_COOKIE, cookie_value, screenshot, wait_until_expired
from support.live_server import register

pytestmark = [pytest.mark.live,
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

ENDED = ("session has ended", "could not be renewed", "→ 401")
STORAGE = ("() => ({cookie: document.cookie, local: localStorage.length, "
           "session: sessionStorage.length})")


def is_login(response) -> bool:
    return response.url.endswith("/api/auth/login") and response.request.method == "POST"


def is_refresh(response) -> bool:
    return response.url.endswith("/api/auth/refresh") and response.request.method == "POST"


def open_app(context):
    page = context.new_page()
    page.goto("/app")
    expect(page.locator("#js-login")).to_be_visible()
    return page


def js_sign_in(page, username: str, password: str = PASSWORD) -> str:
    """Sign in through the /app form; returns the access token the API answered with."""
    page.locator("#js-username").fill(username)
    page.locator("#js-password").fill(password)
    with page.expect_response(is_login) as answer:
        page.locator("#js-login").get_by_role("button", name="Sign in").click()
    assert answer.value.status == 200
    expect(page.locator("[data-view=signed-in]")).to_be_visible()
    return answer.value.json()["access_token"]


def call_me(page) -> None:
    page.locator("#js-me").click()


def log(page):
    return page.locator("#js-log")


def assert_tokens_hidden_from_scripts(page, *access_tokens: str) -> None:
    seen = page.evaluate(STORAGE)
    assert REFRESH_COOKIE not in seen["cookie"]
    assert "access_token_cookie" not in seen["cookie"]
    for token in access_tokens:
        assert token not in seen["cookie"]
    assert (seen["local"], seen["session"]) == (0, 0)


def test_js_sign_in_shows_the_signed_in_user(server, new_context):
    register(server, "alice")
    page = open_app(new_context(server))
    screenshot(page, "app-signed-out")
    js_sign_in(page, "alice")
    expect(page.locator("[data-view=signed-in]")).to_contain_text("Signed in as alice.")
    expect(page.locator("#js-login")).to_be_hidden()
    screenshot(page, "app-signed-in")


def test_js_sign_in_with_a_wrong_password_shows_the_error(server, new_context, watch):
    watch.expect_failed_request(401, "/api/auth/login")
    register(server, "alice")
    page = open_app(new_context(server))
    page.locator("#js-username").fill("alice")
    page.locator("#js-password").fill("not the right password")
    page.locator("#js-login").get_by_role("button", name="Sign in").click()
    expect(page.locator("#js-login-error")).to_be_visible()
    expect(page.locator("#js-login-error")).to_have_text("The username or password is not correct.")
    expect(page.locator("[data-view=signed-in]")).to_be_hidden()


def test_js_client_keeps_tokens_away_from_scripts_and_storage(server, new_context):
    register(server, "alice")
    context = new_context(server)
    page = open_app(context)
    token = js_sign_in(page, "alice")
    assert_tokens_hidden_from_scripts(page, token)
    refresh = next(c for c in context.cookies() if c["name"] == REFRESH_COOKIE)
    assert refresh["httpOnly"] is True

    with page.expect_response(is_refresh) as renewed:
        page.reload()
    expect(page.locator("[data-view=signed-in]")).to_be_visible()
    assert_tokens_hidden_from_scripts(page, token, renewed.value.json()["access_token"])


def test_call_api_me_logs_the_username(server, new_context):
    register(server, "alice")
    page = open_app(new_context(server))
    js_sign_in(page, "alice")
    call_me(page)
    expect(log(page)).to_contain_text("/api/me → alice")


def test_expired_access_token_is_renewed_on_the_next_call(short_server, new_context, watch):
    watch.expect_failed_request(401, "/api/me")  # the expired token's answer, before renewal
    register(short_server, "alice")
    page = open_app(new_context(short_server))
    token = js_sign_in(page, "alice")
    renewals = log(page).locator("li", has_text="Access token renewed")
    expect(renewals).to_have_count(0)

    wait_until_expired(token)
    with page.expect_response(is_refresh) as renewed:
        call_me(page)
    assert renewed.value.status == 200
    expect(renewals).to_have_count(1)
    expect(log(page).locator("li", has_text="/api/me → alice")).to_have_count(1)
    for text in ENDED:
        expect(log(page)).not_to_contain_text(text)
    expect(page.locator("[data-view=signed-in]")).to_be_visible()


def test_reload_restores_the_session_from_the_refresh_cookie(server, new_context):
    register(server, "alice")
    page = open_app(new_context(server))
    js_sign_in(page, "alice")
    page.reload()
    expect(page.locator("[data-view=signed-in]")).to_contain_text("Signed in as alice.")
    expect(page.locator("#js-login")).to_be_hidden()
    expect(log(page)).to_contain_text("Session restored from the refresh cookie.")


def test_sign_out_returns_to_the_form(server, new_context):
    register(server, "alice")
    context = new_context(server)
    page = open_app(context)
    js_sign_in(page, "alice")
    page.locator("#js-logout").click()
    expect(page.locator("#js-login")).to_be_visible()
    expect(page.locator("[data-view=signed-in]")).to_be_hidden()
    expect(log(page)).to_contain_text("Signed out.")
    assert not cookie_value(context, REFRESH_COOKIE)

    page.reload()  # nothing left to restore from
    expect(page.locator("#js-login")).to_be_visible()


def test_two_tabs_renewing_at_once_keep_the_session(short_server, new_context, watch):
    watch.expect_failed_request(401, "/api/me")  # each tab's expired token, before renewal
    register(short_server, "alice")
    context = new_context(short_server)
    first, second = open_app(context), open_app(context)
    first_token = js_sign_in(first, "alice")
    with second.expect_response(is_refresh) as restored:
        second.reload()
    expect(second.locator("[data-view=signed-in]")).to_contain_text("Signed in as alice.")
    wait_until_expired(first_token, restored.value.json()["access_token"])

    for page in (first, second):  # both clicks are dispatched before either answer arrives
        page.evaluate("document.getElementById('js-me').click()")
    for page, renewals in ((first, 1), (second, 2)):  # the second tab also renewed to restore
        expect(log(page).locator("li", has_text="/api/me → alice")).to_have_count(1)
        expect(log(page).locator("li", has_text="Access token renewed")).to_have_count(renewals)
        for text in ENDED:
            expect(log(page)).not_to_contain_text(text)
        expect(page.locator("[data-view=signed-in]")).to_be_visible()

    response = first.goto("/account")
    assert response.status == 200
    expect(first).to_have_url(short_server + "/account")
    expect(first.get_by_role("heading", level=1)).to_have_text("alice")
