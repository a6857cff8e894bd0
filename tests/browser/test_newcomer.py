"""A newcomer's journey in Chromium: the header's truth, focus, the confirm step, and axe-core
on every page state at 1280x800 and 390x844 (screenshots in test-results/screenshots/)."""

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect
from support.api import PASSWORD
from support.browser import screenshot, sign_in, submit_and_wait
from support.live_server import register

pytestmark = [pytest.mark.live,
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

AXE = (Path(__file__).parent / "assets" / "axe.min.js").read_text()
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def header(page):
    return page.locator("header")


def expect_header_signed_in(page, username: str) -> None:
    expect(header(page).get_by_role("link", name=username)).to_be_visible()
    expect(header(page).get_by_role("button", name="Sign out")).to_be_visible()
    expect(header(page).get_by_role("link", name="Sign in")).to_have_count(0)


def expect_header_signed_out(page) -> None:
    expect(header(page).get_by_role("link", name="Sign in")).to_be_visible()
    expect(header(page).get_by_role("link", name="Create account")).to_be_visible()
    expect(header(page).get_by_role("button", name="Sign out")).to_have_count(0)


def axe_violations(page) -> list[str]:
    """axe-core's violations on the current page (evaluated over DevTools, not a <script>)."""
    page.evaluate(AXE)
    result = page.evaluate("() => axe.run(document)")
    assert result["passes"], "axe-core checked nothing"
    return [f"{v['id']}: {v['help']} ({[n['target'] for n in v['nodes']]})"
            for v in result["violations"]]


def focused_id(page) -> str:
    return page.evaluate("() => document.activeElement && document.activeElement.id")


# -- the header tells the truth ----------------------------------------------------------------


def test_the_404_page_header_shows_the_signed_in_user(server, new_context, watch):
    register(server, "bob")
    page = new_context(server).new_page()
    sign_in(page, "bob")
    watch.expect_failed_request(404, "/no-such-page")

    response = page.goto("/no-such-page")

    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.get_by_text("There is nothing at this address")).to_be_visible()
    expect_header_signed_in(page, "bob")


def test_signing_out_in_the_app_card_updates_the_header(server, new_context):
    register(server, "bob")
    page = new_context(server).new_page()
    sign_in(page, "bob")
    page.goto("/app")
    expect(page.locator("[data-view=signed-in]")).to_be_visible()
    expect_header_signed_in(page, "bob")

    page.locator("#js-logout").click()

    expect(page.locator("#js-login")).to_be_visible()
    expect_header_signed_out(page)
    page.goto("/account")
    expect(page).to_have_url(f"{server}/login?next=/account")  # the header was right


def test_signing_in_in_the_app_card_updates_the_header(server, new_context):
    register(server, "carol")
    page = new_context(server, viewport=VIEWPORTS["desktop"]).new_page()
    page.goto("/app")
    expect(page.locator("#js-login")).to_be_visible()
    expect_header_signed_out(page)

    page.locator("#js-username").fill("carol")
    page.locator("#js-password").fill(PASSWORD)
    page.locator("#js-login").get_by_role("button", name="Sign in").click()

    expect(page.locator("[data-view=signed-in]")).to_be_visible()
    expect_header_signed_in(page, "carol")
    tops = page.locator("[data-view=signed-in] .actions button").evaluate_all(
        "buttons => buttons.map(b => b.getBoundingClientRect().top)")
    assert len(tops) == 4 and len(set(tops)) == 1, tops  # one row at 1280 px
    page.locator("#js-renew").click()
    expect(page.locator("#js-log")).to_contain_text("Access token renewed")


# -- forms -----------------------------------------------------------------------------------


def test_focus_starts_on_the_first_field_and_follows_the_first_error(server, new_context, watch):
    page = new_context(server).new_page()
    page.goto("/register")
    assert focused_id(page) == "username"

    form = page.locator("main form")
    form.get_by_label("Username").fill("dave")
    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_label("Repeat password").fill("something else entirely")
    watch.expect_failed_request(422, "/register")
    submit_and_wait(page, form.get_by_role("button", name="Create account"))

    expect(page.locator("#confirm")).to_be_focused()


def test_a_failed_sign_in_puts_the_focus_on_the_password(server, new_context, watch):
    register(server, "erin")
    page = new_context(server).new_page()
    page.goto("/login")
    expect(page.locator("#username")).to_be_focused()
    watch.expect_failed_request(422, "/login")

    form = page.locator("main form")
    form.get_by_label("Username").fill("erin")
    form.get_by_label("Password", exact=True).fill("not the password at all")
    submit_and_wait(page, form.get_by_role("button", name="Sign in"))

    expect(page.locator("#password")).to_be_focused()


def test_the_show_password_button_reveals_and_hides_the_password(server, new_context):
    page = new_context(server).new_page()
    page.goto("/login")
    password = page.locator("#password")
    toggle = page.get_by_role("button", name="Show password")

    toggle.click()
    expect(password).to_have_attribute("type", "text")
    page.get_by_role("button", name="Hide password").click()
    expect(password).to_have_attribute("type", "password")


def test_sign_out_everywhere_asks_first(server, new_context):
    register(server, "frank")
    page = new_context(server).new_page()
    sign_in(page, "frank")

    page.get_by_role("link", name="Sign out everywhere").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign out everywhere?")
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(f"{server}/account")

    page.get_by_role("link", name="Sign out everywhere").click()
    submit_and_wait(page, page.get_by_role("button", name="Yes, sign out everywhere"))
    expect(page.get_by_text("You have been signed out on every device.")).to_be_visible()
    expect_header_signed_out(page)


# -- axe-core on every page state, both widths -------------------------------------------------


def _visit_every_state(page, server: str, watch, name: str):
    """Yield (state, page) for each page state a newcomer meets, in journey order."""
    page.goto("/")
    yield "home"
    page.goto("/register")
    yield "register"
    watch.expect_failed_request(422, "/register")
    form = page.locator("main form")
    form.get_by_label("Username").fill("x")
    form.get_by_label("Password", exact=True).fill("short")
    form.get_by_label("Repeat password").fill("short")
    submit_and_wait(page, form.get_by_role("button", name="Create account"))
    yield "register-errors"
    page.goto("/login")
    yield "login"
    watch.expect_failed_request(422, "/login")
    form = page.locator("main form")
    form.get_by_label("Username").fill(name)
    form.get_by_label("Password", exact=True).fill("wrong password here")
    submit_and_wait(page, form.get_by_role("button", name="Sign in"))
    yield "login-error"
    watch.expect_failed_request(404, "/no-such-page")
    page.goto("/no-such-page")
    yield "404-signed-out"
    page.goto("/app")
    expect(page.locator("#js-login")).to_be_visible()
    yield "app-signed-out"
    sign_in(page, name)
    yield "account"
    page.goto("/account/activity?page=2")
    yield "activity"
    page.goto("/account/sign-out-everywhere")
    yield "confirm-sign-out"
    page.goto("/account/password")
    yield "password"
    watch.expect_failed_request(422, "/account/password")
    form = page.locator("main form")
    form.get_by_label("Current password").fill("wrong password here")
    form.get_by_label("New password", exact=True).fill("violet tractor under moonlight")
    form.get_by_label("Repeat new password").fill("violet tractor under moonlight")
    submit_and_wait(page, form.get_by_role("button", name="Change password"))
    yield "password-errors"
    page.goto("/no-such-page")
    yield "404-signed-in"
    page.goto("/app")
    expect(page.locator("[data-view=signed-in]")).to_be_visible()
    page.locator("#js-sessions").click()
    expect(page.locator("#js-session-list li")).to_have_count(1)
    yield "app-signed-in"


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_axe_finds_no_violations_on_any_page_state(server, new_context, watch, viewport):
    name = f"axe-{viewport}"
    register(server, name)
    page = new_context(server, viewport=VIEWPORTS[viewport]).new_page()

    found = {}
    for state in _visit_every_state(page, server, watch, name):
        screenshot(page, f"newcomer-{state}-{viewport}")
        if violations := axe_violations(page):
            found[state] = violations

    assert not found, json.dumps(found, indent=2)
