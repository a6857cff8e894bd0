"""Real-browser fixtures: Debian's Chromium driven by Playwright against a live gunicorn.

* Browser tests run on SQLite only (``pytestmark`` in each module picks the ``sqlite``
  ``database_url``); the ``server`` fixtures depend on ``app`` so rows are deleted after
  every test.
* One gunicorn per module and configuration: ``_server`` (default lifetimes) and
  ``_short_server`` (2-second access tokens, for expiry tests).
* Every browser context gets a watch: console errors, uncaught page errors and CSP
  violations (a ``securitypolicyviolation`` listener installed before any page script)
  fail the test that caused them, unless the test declared the failed request it expects.
"""

import base64
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from live_server import REPO_ROOT, request
from live_server import live_server as run_live_server
from support.api import PASSWORD
from support.services import require_service

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SCREENSHOTS = REPO_ROOT / "test-results" / "screenshots"
SHORT_ACCESS_LIFETIME = 2  # seconds, for the expiry tests
DEFAULT_TIMEOUT_MS = 10_000
EXPECT_TIMEOUT_MS = 5_000
ACCESS_COOKIE = "access_token_cookie"
REFRESH_COOKIE = "refresh_token_cookie"

# Installed before any page script runs (init scripts are not subject to the page's CSP).
CSP_LISTENER = """
(() => {
  window.__cspViolations = [];
  document.addEventListener("securitypolicyviolation", (event) => {
    const record = {
      directive: event.effectiveDirective, blocked: event.blockedURI,
      source: event.sourceFile, line: event.lineNumber, page: document.URL,
    };
    window.__cspViolations.push(record);
    if (typeof window.__authappReportCsp === "function") window.__authappReportCsp(record);
  }, true);
})();
"""
FAILED_RESOURCE = re.compile(r"Failed to load resource: the server responded with a status of "
                             r"(\d{3})")


# -- browser ---------------------------------------------------------------------------------


def chromium_executable() -> str | None:
    """Debian's Chromium; Playwright's own downloads are never used."""
    if os.path.exists("/usr/bin/chromium"):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium_executable()
    if executable is None:
        require_service("Chromium is not installed (/usr/bin/chromium; apt-get install chromium)")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError as exc:
        require_service(f"Playwright for Python is not installed: {exc}")
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# -- servers ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def _server(database_url: str) -> Iterator[str]:
    """gunicorn with the default token lifetimes, one per module."""
    with run_live_server(database_url) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def _short_server(database_url: str) -> Iterator[str]:
    """gunicorn whose access tokens live two seconds, one per module."""
    env = {"AUTHAPP_JWT_ACCESS_TOKEN_EXPIRES": str(SHORT_ACCESS_LIFETIME)}
    with run_live_server(database_url, env=env) as base_url:
        yield base_url


@pytest.fixture
def server(app, _server: str) -> str:
    """The live server's base URL; ``app`` deletes every row once the test is done."""
    return _server


@pytest.fixture
def short_server(app, _short_server: str) -> str:
    """The 2-second-access-token server's base URL; rows are deleted after the test."""
    return _short_server


# -- watching pages --------------------------------------------------------------------------


@dataclass
class BrowserWatch:
    """What went wrong in the browser during a test: console errors, page errors, CSP."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[dict[str, Any]] = field(default_factory=list)
    expected_failures: list[tuple[int, str]] = field(default_factory=list)
    contexts: list[Any] = field(default_factory=list)

    def expect_failed_request(self, status: int, path: str) -> None:
        """Allow Chromium's "Failed to load resource" error for ``status`` on ``path``."""
        self.expected_failures.append((status, path))

    def attach(self, context: Any) -> None:
        self.contexts.append(context)
        context.on("console", self._on_console)
        context.on("weberror", lambda error: self.page_errors.append(str(error.error)))
        context.expose_function("__authappReportCsp", self._on_csp)
        context.add_init_script(CSP_LISTENER)

    def _on_console(self, message: Any) -> None:
        text = message.text
        if "Content Security Policy" in text:
            self.csp_violations.append({"console": text})
            return
        if message.type != "error":
            return
        failed = FAILED_RESOURCE.search(text)
        url = (message.location or {}).get("url", "")
        if failed and any(int(failed.group(1)) == status and url.split("?")[0].endswith(path)
                          for status, path in self.expected_failures):
            return
        self.console_errors.append(f"{text} ({url})")

    def _on_csp(self, record: dict[str, Any]) -> None:
        self.csp_violations.append(record)

    def collect_csp_from_open_pages(self) -> None:
        """Violations the binding may not have delivered yet, from every open page."""
        for context in self.contexts:
            for page in context.pages:
                try:
                    found = page.evaluate("window.__cspViolations || []")
                except Exception:  # noqa: BLE001,S112  (page closed or navigating)
                    continue
                for record in found:
                    if record not in self.csp_violations:
                        self.csp_violations.append(record)

    def problems(self) -> list[str]:
        self.collect_csp_from_open_pages()
        return ([f"console error: {text}" for text in self.console_errors]
                + [f"uncaught page error: {text}" for text in self.page_errors]
                + [f"CSP violation: {json.dumps(v)}" for v in self.csp_violations])


@pytest.fixture
def watch() -> BrowserWatch:
    return BrowserWatch()


@pytest.fixture
def new_context(browser: Any, watch: BrowserWatch) -> Iterator[Callable[..., Any]]:
    """Make a fresh, watched browser context for ``base_url``; all are closed afterwards."""
    made: list[Any] = []

    def make(base_url: str, **options: Any) -> Any:
        context = browser.new_context(base_url=base_url, **options)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        watch.attach(context)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After a passing test body, fail it if the browser saw any error or CSP violation."""
    result = yield
    watch = getattr(item, "funcargs", {}).get("watch")
    if watch is not None:
        problems = watch.problems()
        assert not problems, "the browser reported problems:\n" + "\n".join(problems)
    return result


# -- helpers shared by the browser tests ------------------------------------------------------


def screenshot(page: Any, name: str) -> Path:
    """A full-page screenshot at test-results/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def api_register(base_url: str, username: str, password: str = PASSWORD) -> None:
    """Create an account through the JSON API (faster than the form when it is not the point)."""
    answer = request(base_url, "POST", "/api/auth/register",
                     json_body={"username": username, "password": password})
    assert answer.status == 201, answer.body


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


def jwt_expiry(token: str) -> float:
    """A token's ``exp`` claim (read without verification, only to wait for it)."""
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return float(json.loads(base64.urlsafe_b64decode(payload))["exp"])


def wait_until_expired(*tokens: str, margin: float = 0.25) -> None:
    """Sleep just past the latest ``exp`` of ``tokens`` (the server checks with no leeway)."""
    deadline = max(jwt_expiry(token) for token in tokens) + margin
    time.sleep(max(0.0, deadline - time.time()))
