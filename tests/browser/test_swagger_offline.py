"""Swagger UI works on a machine without internet: every asset comes from this server
(drf-spectacular-sidecar), and its Authorize dialog logs in with the OAuth2 password
flow against the API's login endpoint."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Request, expect

from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# Inline resources that never touch the network.
INLINE_SCHEMES = {"data", "blob"}
# The status of the answer to "Execute".
LIVE_STATUS = ".live-responses-table tbody .response-col_status"


def _remote(urls: list[str]) -> list[str]:
    """The URLs that would leave this machine."""
    return [
        url
        for url in urls
        if urlsplit(url).scheme not in INLINE_SCHEMES and urlsplit(url).hostname not in LOCAL_HOSTS
    ]


def test_swagger_ui_is_served_offline_and_authorizes(page: Page, super_admin):
    requests: list[str] = []

    def record(request: Request) -> None:
        requests.append(request.url)

    page.on("request", record)
    page.goto("/admin/api/docs/")

    # The operations are rendered only once the UI's scripts and the schema loaded.
    expect(page.get_by_text("auth-controller", exact=True)).to_be_visible()
    expect(page.locator(".opblock").first).to_be_visible()

    assert requests, "the page made no requests at all"
    assert _remote(requests) == [], f"Swagger UI fetched from outside: {_remote(requests)}"

    authorize = page.locator(".auth-wrapper").get_by_role("button", name="Authorize")
    expect(authorize).to_be_visible()
    authorize.click()

    dialog = page.locator(".dialog-ux .modal-ux")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_text("Flow:")).to_contain_text("password")
    expect(dialog.get_by_text("Token URL:")).to_contain_text("/admin/api/v1/auth/admin")

    # Swagger UI posts form data and reads `access_token`: this proves the login
    # endpoint answers the OAuth2 spelling, not only `accessToken`.
    dialog.locator("#oauth_username").fill(super_admin.username)
    dialog.locator("#oauth_password").fill(PASSWORD)
    # The button's accessible name is its aria-label; its visible text is "Authorize".
    # (The dialog also lists the portal's session, which needs no button.)
    dialog.get_by_role("button", name="Apply given OAuth2 credentials").click()
    expect(dialog.get_by_role("heading", name="Authorized")).to_be_visible()
    expect(dialog.locator("button", has_text="Logout")).to_be_visible()
    assert _remote(requests) == [], f"Swagger UI called outside: {_remote(requests)}"


def test_swagger_ui_tries_requests_with_the_portal_sign_in(page: Page, login, super_admin):
    """Signed in to the portal, "Try it out" works without Authorize: a read, and a
    write that needs the CSRF token (the page sends it)."""
    login(page, super_admin)
    page.goto("/admin/api/docs/")

    me = page.locator("#operations-auth-controller-me_retrieve")
    me.locator(".opblock-summary").click()
    me.get_by_role("button", name="Try it out").click()
    me.get_by_role("button", name="Execute").click()
    expect(me.locator(LIVE_STATUS).first).to_have_text("200")
    expect(me.locator(".live-responses-table .microlight").first).to_contain_text(
        super_admin.username
    )

    create = page.locator("#operations-users-users_create")
    create.locator(".opblock-summary").click()
    create.get_by_role("button", name="Try it out").click()
    create.locator("textarea.body-param__text").fill(
        '{"username": "tried-it", "email": "tried@x.io", "role": "user",'
        ' "password": "Str0ng-enough-pass"}'
    )
    create.get_by_role("button", name="Execute").click()
    expect(create.locator(LIVE_STATUS).first).to_have_text("201")
    assert super_admin.customer.users.filter(username="tried-it").exists()
