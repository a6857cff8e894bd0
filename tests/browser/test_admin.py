"""The admin journey in a real browser (SPEC §13): find a user, see their sessions and
events, disable them and sign them out, after confirming it's you."""

import pytest
from playwright.sync_api import expect
from support.api import PASSWORD
from support.browser import screenshot, sign_in, submit_and_wait
from support.live_server import login, register, request
from support.roles import grant

pytestmark = [pytest.mark.live,
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def sign_in_status(server: str, username: str) -> int:
    return request(server, "POST", "/api/auth/login",
                   json_body={"username": username, "password": PASSWORD}).status


def test_an_admin_finds_disables_and_signs_out_a_user(app, server, new_context):
    register(server, "root")
    register(server, "bob")
    assert login(server, "bob").status == 200
    grant(app, "root")
    page = new_context(server).new_page()
    sign_in(page, "root")

    submit_and_wait(page, page.locator("header").get_by_role("link", name="Admin"))
    page.get_by_label("Find by part of a username or address").fill("bo")
    submit_and_wait(page, page.get_by_role("button", name="Search"))
    row = page.locator("tr[data-user-id]")
    expect(row).to_have_count(1)
    submit_and_wait(page, row.get_by_role("link", name="bob"))

    expect(page.get_by_role("heading", name="Live sessions (1)")).to_be_visible()
    expect(page.locator(".events")).to_contain_text("Signed in")
    screenshot(page, "admin-user")

    submit_and_wait(page, page.get_by_role("link", name="Disable…"))
    expect(page.get_by_role("heading", name="Disable bob?")).to_be_visible()
    submit_and_wait(page, page.get_by_role("button", name="Yes, disable the account"))
    expect(page.locator(".flashes")).to_contain_text("bob is disabled; 1 session(s) ended.")
    expect(page.get_by_role("heading", name="Live sessions (0)")).to_be_visible()
    expect(page.get_by_role("button", name="Enable the account")).to_be_visible()
    assert sign_in_status(server, "bob") == 401

    submit_and_wait(page, page.get_by_role("link", name="Sign out everywhere…"))
    submit_and_wait(page, page.get_by_role("button", name="Yes, sign them out"))
    expect(page.locator(".flashes")).to_contain_text("bob is signed out everywhere")


def test_the_console_asks_to_confirm_it_is_you_then_continues(app, server, new_context,
                                                               watch):
    register(server, "root")
    grant(app, "root")
    context = new_context(server)
    page = context.new_page()
    sign_in(page, "root")

    # The live server keeps real time, so the step is opened as a stale session is sent to it
    # (tests/test_admin_pages.py moves the clock to check that redirect).
    page.goto("/account/confirm?next=/admin%3Fq%3Droot")
    watch.expect_failed_request(422, "/account/confirm")
    page.get_by_label("Password").fill("not the password")
    submit_and_wait(page, page.get_by_role("button", name="Confirm and continue"))
    expect(page.locator(".field-errors")).to_contain_text("The password is not correct.")
    page.get_by_label("Password").fill(PASSWORD)
    submit_and_wait(page, page.get_by_role("button", name="Confirm and continue"))

    assert page.url.endswith("/admin?q=root")
    expect(page.locator("tr[data-user-id]")).to_have_count(1)


def test_a_non_admin_sees_a_friendly_403_page(server, new_context, watch):
    register(server, "carol")
    page = new_context(server).new_page()
    sign_in(page, "carol")

    watch.expect_failed_request(403, "/admin")
    response = page.goto("/admin")

    assert response.status == 403
    expect(page.get_by_role("heading", name="Forbidden")).to_be_visible()
    expect(page.locator("header")).not_to_contain_text("Admin")
