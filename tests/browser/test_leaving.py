"""Leaving in a real browser (SPEC §13): download my data, delete my account."""

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect
from support.api import PASSWORD
from support.browser import sign_in, submit_and_wait
from support.live_server import register, request

pytestmark = [pytest.mark.live,
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def sign_in_status(server: str, username: str) -> int:
    return request(server, "POST", "/api/auth/login",
                   json_body={"username": username, "password": PASSWORD}).status


def test_a_person_downloads_their_data_and_deletes_their_account(server, new_context, watch):
    register(server, "alice")
    context = new_context(server, accept_downloads=True)
    page = context.new_page()
    sign_in(page, "alice")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data").click()
    export = json.loads(Path(download.value.path()).read_text())
    assert export["profile"]["username"] == "alice"

    submit_and_wait(page, page.get_by_role("link", name="Delete my account…"))
    watch.expect_failed_request(422, "/account/delete")
    page.get_by_label("Type your username to confirm").fill("alic")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    submit_and_wait(page, page.get_by_role("button", name="Delete my account"))
    expect(page.locator(".field-errors")).to_contain_text("Type alice exactly to confirm.")

    page.get_by_label("Type your username to confirm").fill("alice")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    submit_and_wait(page, page.get_by_role("button", name="Delete my account"))

    expect(page.locator(".flashes")).to_contain_text("Your account has been deleted.")
    expect(page.locator("header").get_by_role("link", name="Sign in")).to_be_visible()
    assert sign_in_status(server, "alice") == 401
    register(server, "alice")  # the name is free again
