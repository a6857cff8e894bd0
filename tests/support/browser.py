"""Driving the pages in a real browser (Playwright): forms, cookies, screenshots, expiry."""

import time
from pathlib import Path
from typing import Any

from support.api import PASSWORD
from support.apps import REPO_ROOT
from support.tokens import claims

SCREENSHOTS = REPO_ROOT / "test-results" / "screenshots"
ACCESS_COOKIE = "access_token_cookie"
REFRESH_COOKIE = "refresh_token_cookie"


def screenshot(page: Any, name: str) -> Path:
    """A full-page screenshot at test-results/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def submit_and_wait(page: Any, button: Any) -> None:
    """Click a submit button and wait until the resulting document has loaded."""
    with page.expect_event("load"):
        button.click()


def fill_login_form(page: Any, username: str, password: str = PASSWORD) -> None:
    """Fill the /login form on the current page and submit it."""
    form = page.locator("main form")
    form.get_by_label("Username").fill(username)
    form.get_by_label("Password").fill(password)
    submit_and_wait(page, form.get_by_role("button", name="Sign in"))


def sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    """Sign in through the /login page form (lands on /account by default)."""
    page.goto("/login")
    fill_login_form(page, username, password)


def cookie_value(context: Any, name: str) -> str | None:
    return next((c["value"] for c in context.cookies() if c["name"] == name), None)


def wait_until_expired(*tokens: str, margin: float = 0.25) -> None:
    """Sleep just past the latest ``exp`` of ``tokens`` (the server checks with no leeway).

    The browser tests talk to a separate gunicorn process, whose clock time_machine cannot move.
    """
    deadline = max(claims(token)["exp"] for token in tokens) + margin
    time.sleep(max(0.0, deadline - time.time()))
