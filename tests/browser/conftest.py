"""Headless Chromium driving the real portal on pytest-django's live server.

Fixtures: `browser` (one Chromium per session), `page` (a fresh context per test, its
base URL the live server, so `page.goto("/admin/login")` works) and `login` (signs a
user in through the real login form). The system Chromium is used (`CHROMIUM_PATH`,
default /usr/bin/chromium); Playwright's own browser download is never needed.
"""

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from accounts.models import User
from tests.factories import PASSWORD

# Playwright's sync API keeps an event loop running in this thread, so Django would
# refuse the ORM calls of fixtures and teardown as "called from an async context".
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

# A failing wait should fail the test quickly instead of hanging CI for 30 s each.
TIMEOUT_MS = 10_000

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not Path(executable).is_file():
        pytest.fail(
            f"Chromium not found at {executable}: run `apt-get install chromium` "
            "(`make` installs it) or set CHROMIUM_PATH.",
            pytrace=False,
        )
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def login() -> Callable[[Page, User], None]:
    """`login(page, user)`: sign in through the login form and wait for the portal."""

    def sign_in(page: Page, user: User) -> None:
        page.goto("/admin/login")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        # The portal's script must have run before a test clicks what it wires up (the
        # menu button, live tables): on a loaded machine the page shows before it does.
        page.wait_for_load_state("load")

    return sign_in
