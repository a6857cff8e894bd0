"""The server-rendered pages in a real browser (SPEC §5): forms, redirects, sessions, headers."""

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import expect
from support.api import PASSWORD
from support.browser import (
    ACCESS_COOKIE,
    REFRESH_COOKIE,
    cookie_value,
    fill_login_form,
    screenshot,
    sign_in,
    submit_and_wait,
    wait_until_expired,
)
from support.live_server import register

pytestmark = [pytest.mark.live,
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

NEW_PASSWORD = "violet tractor under moonlight"
GENERIC_LOGIN_ERROR = "The username or password is not correct."
OFFSITE_TARGETS = ["//evil.example", "https://evil.example", "/\\evil.example",
                   "/%2F%2Fevil.example"]


def url(base_url: str, path: str) -> str:
    return base_url + path


def header_sign_out(page) -> None:
    """The "Sign out" button in the site header."""
    submit_and_wait(page, page.locator("header").get_by_role("button", name="Sign out"))


def this_device_session_id(page) -> str:
    """The data-session-id of the row on /account that carries the "This device" badge."""
    page.goto("/account")
    row = page.locator("li.session[data-session-id]").filter(
        has=page.locator(".badge", has_text="This device"))
    expect(row).to_have_count(1)
    return row.get_attribute("data-session-id")


def block_offsite(context) -> None:
    """Answer any request that leaves 127.0.0.1 with a marker page instead of the network."""
    context.route(re.compile(r"^(?!http://127\.0\.0\.1[:/])"),
                  lambda route: route.fulfill(status=200, content_type="text/html",
                                              body="<h1>off-site</h1>"))


# -- home, register ----------------------------------------------------------------------------


def test_home_page_offers_create_account_and_sign_in(server, new_context):
    page = new_context(server).new_page()
    response = page.goto("/")
    assert response.status == 200
    main = page.locator("main")
    expect(main.get_by_role("link", name="Create an account")).to_have_attribute(
        "href", "/register")
    expect(main.get_by_role("link", name="Sign in")).to_have_attribute("href", "/login")
    screenshot(page, "home")


def test_register_through_the_form_lands_on_account_with_this_device(server, new_context):
    page = new_context(server).new_page()
    page.goto("/register")
    form = page.locator("main form")
    form.get_by_label("Username").fill("alice")
    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_label("Repeat password").fill(PASSWORD)
    submit_and_wait(page, form.get_by_role("button", name="Create account"))

    expect(page).to_have_url(url(server, "/account"))
    expect(page.get_by_role("heading", level=1)).to_have_text("alice")
    expect(page.locator("li.session .badge")).to_have_text("This device")
    expect(page.locator(".flashes")).to_contain_text("Welcome, alice!")
    screenshot(page, "account")


@pytest.mark.parametrize(("username", "password", "invalid_field", "message"), [
    ("ab", PASSWORD, "username", r"3\D+32"),
    ("bob_builder", "short", "password", r"at least 8 characters"),
], ids=["short-username", "weak-password"])
def test_register_errors_are_tied_to_their_inputs_and_keep_the_username(
        server, new_context, watch, username, password, invalid_field, message):
    watch.expect_failed_request(422, "/register")  # the form comes back with its errors
    page = new_context(server).new_page()
    page.goto("/register")
    form = page.locator("main form")
    form.get_by_label("Username").fill(username)
    form.get_by_label("Password", exact=True).fill(password)
    form.get_by_label("Repeat password").fill(password)
    submit_and_wait(page, form.get_by_role("button", name="Create account"))

    expect(page).to_have_url(url(server, "/register"))
    field = page.locator(f"#{invalid_field}")
    expect(field).to_have_attribute("aria-invalid", "true")
    described_by = (field.get_attribute("aria-describedby") or "").split()
    error_id = f"{invalid_field}-error"
    assert error_id in described_by, described_by
    error = page.locator(f"#{error_id}")
    expect(error).to_be_visible()
    expect(error).to_contain_text(re.compile(message))
    expect(field).to_have_accessible_description(re.compile(message))
    expect(page.get_by_label("Username")).to_have_value(username)
    expect(page.get_by_label("Password", exact=True)).to_have_value("")  # never echoed back
    expect(page.locator("[aria-invalid=true]")).to_have_count(1)
    if invalid_field == "password":
        screenshot(page, "register-errors")


# -- sign in / out -----------------------------------------------------------------------------


def test_header_sign_out_then_account_redirects_to_login_with_next(server, new_context):
    register(server, "alice")
    page = new_context(server).new_page()
    sign_in(page, "alice")
    expect(page).to_have_url(url(server, "/account"))

    header_sign_out(page)
    expect(page).to_have_url(url(server, "/"))
    expect(page.locator(".flashes")).to_contain_text("You have been signed out.")
    page.goto("/account")
    expect(page).to_have_url(url(server, "/login?next=/account"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


def test_login_returns_to_the_page_that_asked_for_it(server, new_context):
    register(server, "alice")
    page = new_context(server).new_page()
    page.goto("/account/password")
    expect(page).to_have_url(url(server, "/login?next=/account/password"))
    screenshot(page, "login")

    fill_login_form(page, "alice")
    expect(page).to_have_url(url(server, "/account/password"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Change password")
    screenshot(page, "password")


@pytest.mark.parametrize("target", OFFSITE_TARGETS)
def test_login_with_offsite_next_lands_on_account(server, new_context, target):
    register(server, "alice")
    context = new_context(server)
    block_offsite(context)
    page = context.new_page()
    page.goto("/login?next=" + quote(target, safe=""))
    fill_login_form(page, "alice")
    expect(page).to_have_url(url(server, "/account"))

    # Signed in, the login page redirects straight away: to the same safe default.
    page.goto("/login?next=" + quote(target, safe=""))
    expect(page).to_have_url(url(server, "/account"))


@pytest.mark.parametrize("target", OFFSITE_TARGETS)
def test_login_form_with_a_tampered_next_field_lands_on_account(server, new_context, target):
    register(server, "alice")
    context = new_context(server)
    block_offsite(context)
    page = context.new_page()
    page.goto("/login")
    page.locator("input[name=next]").evaluate("(input, value) => { input.value = value; }",
                                              target)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        fill_login_form(page, "alice")
    assert posted.value.headers["location"] == "/account"
    expect(page).to_have_url(url(server, "/account"))


@pytest.mark.parametrize("username", ["alice", "nobody"], ids=["wrong-password", "unknown-user"])
def test_wrong_credentials_show_one_generic_error(server, new_context, watch, username):
    watch.expect_failed_request(422, "/login")
    register(server, "alice")
    page = new_context(server).new_page()
    page.goto("/login")
    fill_login_form(page, username, "not the right password")

    expect(page).to_have_url(url(server, "/login"))
    expect(page.get_by_role("alert")).to_have_count(1)
    expect(page.get_by_role("alert")).to_have_text(GENERIC_LOGIN_ERROR)
    expect(page.locator(".field-errors")).to_have_count(0)
    expect(page.locator("[aria-invalid=true]")).to_have_count(0)
    text = page.locator("main").inner_text().lower()
    for hint in ("not exist", "no such", "unknown", "not found", "wrong password",
                 "incorrect password"):
        assert hint not in text
    expect(page.get_by_label("Password")).to_have_value("")


# -- renewal, revocation, password change -----------------------------------------------------


def test_expired_access_cookie_is_renewed_transparently(short_server, new_context):
    register(short_server, "alice")
    context = new_context(short_server)
    page = context.new_page()
    sign_in(page, "alice")
    expect(page).to_have_url(url(short_server, "/account"))
    old_access = cookie_value(context, ACCESS_COOKIE)
    old_refresh = cookie_value(context, REFRESH_COOKIE)
    assert old_access and old_refresh

    wait_until_expired(old_access)
    response = page.goto("/account")
    assert response.status == 200
    assert response.request.redirected_from is None
    expect(page).to_have_url(url(short_server, "/account"))
    expect(page.get_by_role("heading", level=1)).to_have_text("alice")
    new_access = cookie_value(context, ACCESS_COOKIE)
    assert new_access and new_access != old_access
    assert cookie_value(context, REFRESH_COOKIE) not in (None, old_refresh)


def test_revoking_another_session_signs_that_browser_out(server, new_context):
    register(server, "alice")
    page_a = new_context(server).new_page()
    page_b = new_context(server).new_page()
    sign_in(page_a, "alice")
    sign_in(page_b, "alice")
    session_b = this_device_session_id(page_b)
    session_a = this_device_session_id(page_a)
    assert session_a != session_b

    row_b = page_a.locator(f'li.session[data-session-id="{session_b}"]')
    expect(row_b.locator(".badge")).to_have_count(0)
    expect(page_a.locator(f'li.session[data-session-id="{session_a}"] button')).to_have_text(
        "Sign out")
    revoke = row_b.locator("button", has_text="Revoke")
    expect(revoke).to_have_accessible_name(re.compile(r"^Sign out \S"))  # names the device
    submit_and_wait(page_a, revoke)
    expect(page_a).to_have_url(url(server, "/account"))
    expect(page_a.locator(".flashes")).to_contain_text("That device has been signed out.")
    expect(page_a.locator(f'li.session[data-session-id="{session_b}"]')).to_have_count(0)

    page_b.goto("/account")
    expect(page_b).to_have_url(url(server, "/login?next=/account"))
    page_a.goto("/account")
    expect(page_a).to_have_url(url(server, "/account"))


def test_password_change_signs_out_other_browsers_and_keeps_this_one(server, new_context):
    register(server, "alice")
    page_a = new_context(server).new_page()
    page_b = new_context(server).new_page()
    sign_in(page_a, "alice")
    sign_in(page_b, "alice")

    page_a.goto("/account/password")
    form = page_a.locator("main form")
    form.get_by_label("Current password").fill(PASSWORD)
    form.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    form.get_by_label("Repeat new password").fill(NEW_PASSWORD)
    submit_and_wait(page_a, form.get_by_role("button", name="Change password"))
    expect(page_a).to_have_url(url(server, "/account"))
    expect(page_a.locator(".flashes")).to_contain_text("Your password has been changed.")

    page_b.goto("/account")
    expect(page_b).to_have_url(url(server, "/login?next=/account"))
    page_a.reload()
    expect(page_a).to_have_url(url(server, "/account"))
    expect(page_a.get_by_role("heading", level=1)).to_have_text("alice")

    fresh = new_context(server).new_page()
    sign_in(fresh, "alice", NEW_PASSWORD)
    expect(fresh).to_have_url(url(server, "/account"))


def test_cookies_replayed_after_logout_get_no_new_tokens(server, new_context):
    register(server, "alice")
    context = new_context(server)
    page = context.new_page()
    sign_in(page, "alice")
    captured = context.cookies()
    assert {c["name"] for c in captured} >= {ACCESS_COOKIE, REFRESH_COOKIE}
    header_sign_out(page)

    replay = new_context(server)
    replay.add_cookies(captured)
    set_cookies: list[str] = []
    replay.on("response", lambda response: set_cookies.extend(
        h["value"] for h in response.headers_array() if h["name"].lower() == "set-cookie"))
    page = replay.new_page()
    page.goto("/account")
    expect(page).to_have_url(url(server, "/login?next=/account"))

    assert set_cookies, "Set-Cookie headers are visible (the login form's session at least)"
    issued = [header for header in set_cookies
              if "token" in header.split("=", 1)[0] and header.split("=", 1)[1].split(";")[0]]
    assert issued == []
    assert not cookie_value(replay, ACCESS_COOKIE)
    assert not cookie_value(replay, REFRESH_COOKIE)


# -- headers, keyboard, errors, titles ---------------------------------------------------------


def test_page_responses_carry_the_security_headers(server, new_context):
    page = new_context(server).new_page()
    headers = page.goto("/login").headers
    policy = headers["content-security-policy"]
    directives = {d.strip().split()[0]: d.strip() for d in policy.split(";") if d.strip()}
    assert "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy
    assert directives["frame-ancestors"] == "frame-ancestors 'none'"
    assert "script-src" in directives or "default-src" in directives
    assert headers["x-content-type-options"] == "nosniff"
    assert headers.get("referrer-policy")


def test_login_form_is_reachable_in_order_with_the_tab_key(server, new_context):
    page = new_context(server).new_page()
    page.goto("/login")
    describe = ("() => { const e = document.activeElement; "
                "return {id: e.id, tag: e.tagName, type: e.type || '', text: e.textContent}; }")
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate(describe)["id"] == "username":
            break
    else:
        pytest.fail("Tab never reached the username input")
    page.keyboard.press("Tab")
    assert page.evaluate(describe)["id"] == "password"
    page.keyboard.press("Tab")
    assert page.evaluate(describe)["text"].strip() == "Show password"  # static/forms.js
    page.keyboard.press("Tab")
    focused = page.evaluate(describe)
    assert (focused["tag"], focused["type"]) == ("BUTTON", "submit")
    assert focused["text"].strip() == "Sign in"


def test_unknown_page_shows_a_friendly_404(server, new_context, watch):
    watch.expect_failed_request(404, "/no-such-page")
    page = new_context(server).new_page()
    response = page.goto("/no-such-page")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.get_by_role("link", name="Back to the start page")).to_be_visible()
    screenshot(page, "error-404")


def test_every_page_has_a_plain_title(server, new_context, watch):
    watch.expect_failed_request(404, "/no-such-page")
    register(server, "alice")
    page = new_context(server).new_page()
    titles = {}
    for path in ("/", "/register", "/login", "/app", "/no-such-page"):
        page.goto(path)
        titles[path] = page.title()
    sign_in(page, "alice")
    for path in ("/account", "/account/password"):
        page.goto(path)
        titles[path] = page.title()
    assert titles == {
        "/": "Welcome · authapp",
        "/register": "Create account · authapp",
        "/login": "Sign in · authapp",
        "/app": "JavaScript client · authapp",
        "/no-such-page": "Page not found · authapp",
        "/account": "Your account · authapp",
        "/account/password": "Change password · authapp",
    }


def test_the_watch_sees_csp_violations_and_console_errors(server, new_context, watch):
    """The "no CSP violation, no console error" checks of every other test are not vacuous."""
    page = new_context(server).new_page()
    page.goto("/login")
    page.evaluate("""() => {
        const script = document.createElement("script");
        script.textContent = "window.__inlineRan = true;";
        document.body.append(script);
        console.error("deliberate");
    }""")
    page.wait_for_function("window.__cspViolations.length > 0")
    for _ in range(40):  # console events and the CSP binding arrive asynchronously
        if watch.console_errors and watch.csp_violations:
            break
        page.wait_for_timeout(50)
    assert page.evaluate("window.__inlineRan") is None  # the CSP blocked the inline script
    assert any(v.get("directive", "").startswith("script-src") for v in watch.csp_violations)
    assert any("deliberate" in text for text in watch.console_errors)
    watch.console_errors.clear()
    watch.csp_violations.clear()
    page.goto("about:blank")
