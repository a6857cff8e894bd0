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

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.browser_watch import BrowserWatch
from support.live_server import live_server as run_live_server
from support.services import require_service

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SHORT_ACCESS_LIFETIME = 2  # seconds, for the expiry tests
DEFAULT_TIMEOUT_MS = 10_000
EXPECT_TIMEOUT_MS = 5_000


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
