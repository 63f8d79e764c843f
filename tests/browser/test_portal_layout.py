"""The portal's layout driven by keyboard and mouse: the skip link, the menu drawer on a
phone, the `/` shortcut, a form's error summary taking the focus, and list filters that
the menu brings back within the tab's session."""

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_the_first_tab_stop_is_the_skip_link_then_the_menu_button(page: Page, login, admin):
    login(page, admin)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Menu")).to_be_focused()


def test_on_a_phone_the_menu_is_a_drawer_the_button_opens(page: Page, login, admin):
    page.set_viewport_size(PHONE)
    login(page, admin)
    button = page.get_by_role("button", name="Menu")
    menu = page.get_by_role("navigation", name="Navigation menu")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_hidden()
    # The page is as wide as the phone, menu or not.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("link", name="Dashboard")).to_be_focused()

    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_be_focused()

    button.click()
    menu.locator("summary", has_text="System").click()
    menu.get_by_role("link", name="Devices").click()
    expect(page.locator("h1.current-page")).to_have_text("Devices")
    expect(menu).to_be_hidden()


def test_on_a_desktop_the_button_hides_and_shows_the_sidebar(page: Page, login, admin):
    login(page, admin)
    button = page.get_by_role("button", name="Menu")
    menu = page.get_by_role("navigation", name="Navigation menu")
    expect(button).to_have_attribute("aria-expanded", "true")
    button.click()
    expect(menu).to_be_hidden()
    expect(button).to_have_attribute("aria-expanded", "false")
    # Kept while moving through the portal.
    page.goto("/admin/tokens/")
    expect(menu).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(menu).to_be_visible()


def test_slash_focuses_the_search_box(page: Page, login, admin):
    login(page, admin)
    page.goto("/admin/tokens/")
    page.keyboard.press("/")
    expect(page.get_by_role("searchbox")).to_be_focused()


def test_the_error_summary_takes_the_focus_and_links_to_the_field(page: Page, login, super_admin):
    login(page, super_admin)
    page.goto("/admin/system/users/add")
    page.get_by_role("button", name="Add").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    summary.get_by_role("link", name=re.compile("^Login name:")).click()
    login_name = page.get_by_label("Login name")
    expect(login_name).to_be_focused()
    expect(login_name).to_have_attribute("aria-invalid", "true")


def test_the_menu_brings_back_a_lists_filters(page: Page, login, admin):
    login(page, admin)
    page.goto("/admin/tokens/?q=north&ordering=-token&page=1")
    page.goto("/admin/")
    link = page.get_by_role("navigation", name="Navigation menu").get_by_role(
        "link", name="Tokens", exact=True, include_hidden=True
    )
    expect(link).to_have_attribute("href", "/admin/tokens/?q=north&ordering=-token")

    # Clearing the search clears what is kept.
    page.goto("/admin/tokens/")
    page.goto("/admin/")
    expect(link).to_have_attribute("href", "/admin/tokens/")
