"""The portal's menu, driven in a real browser: every entry opens its page, the menu
marks where the user is, and roles only see what they may open."""

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

# Menu group -> (entry label, heading of the page it opens), as a Super-Admin sees them.
# A group of one entry (Dashboard) is a plain link rather than a <details>.
SUPER_ADMIN_MENU = [
    ("Dashboard", [("Dashboard", "Dashboard")]),
    ("Tokens", [("Tokens", "Tokens"), ("Bootstraps", "Bootstraps")]),
    ("Reports", [("History", "History"), ("Events", "Events")]),
    ("Licenses", [("Summary", "Licenses: Summary"), ("Assigned", "Licenses: Assigned")]),
    (
        "System",
        [("Sites", "Sites"), ("Devices", "Devices"), ("Portal Users", "Portal Users")],
    ),
]


def _menu(page: Page):
    return page.get_by_role("navigation", name="Navigation menu")


def _open_group(page: Page, title: str):
    """The group's <details>, opened the way a user would (clicking its summary)."""
    group = (
        _menu(page)
        .locator("details")
        .filter(has=page.locator("summary", has_text=re.compile(rf"^{re.escape(title)}$")))
    )
    expect(group).to_have_count(1)
    # Clicking the summary of an open group would close it again.
    if group.get_attribute("open") is None:
        group.locator("summary").click()
    expect(group).to_have_attribute("open", "")
    return group


def _assert_current(page: Page, label: str, heading: str) -> None:
    expect(page.locator("h1.current-page")).to_have_text(heading)
    current = _menu(page).locator('[aria-current="page"]')
    expect(current).to_have_count(1)
    expect(current).to_have_text(label)


def test_super_admin_visits_every_menu_entry_then_logs_out(page: Page, login, super_admin):
    login(page, super_admin)
    _assert_current(page, "Dashboard", "Dashboard")

    for title, entries in SUPER_ADMIN_MENU:
        for label, heading in entries:
            scope = _menu(page) if len(entries) == 1 else _open_group(page, title)
            scope.get_by_role("link", name=label, exact=True).click()
            _assert_current(page, label, heading)

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/admin/login$"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()

    # The session is gone: the portal sends the browser back to the login form.
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login\?next=/admin/$"))
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


def test_admin_menu_hides_licenses_and_portal_users(page: Page, login, admin):
    login(page, admin)
    menu = _menu(page)

    # Links in a closed group are hidden from the accessibility tree, so look at the
    # markup: a forbidden entry must not be rendered at all, not merely collapsed.
    def entry(label: str):
        return menu.get_by_role("link", name=label, exact=True, include_hidden=True)

    # The Admin's own areas are there, so an empty menu cannot pass this test.
    expect(entry("Sites")).to_have_count(1)
    expect(menu.locator("summary", has_text="System")).to_be_visible()
    for label in ("Summary", "Assigned", "Portal Users"):
        expect(entry(label)).to_have_count(0)
    expect(menu.locator("summary", has_text="Licenses")).to_have_count(0)
