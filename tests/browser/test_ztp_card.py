"""The ZTP card in a real browser against the fake SRAPS: a Super-Admin onboards Snom and
sees Configured with the company identifier; with the fake down, the error shows inline.
While a request is in flight the card's buttons are disabled. The page fits a phone's and
a laptop's width without overflowing."""

import re

import pytest
from playwright.sync_api import Page, expect

from phones.services.auto import auto_provisioning_enable
from phones.services.categories import customer_phone_defaults_create
from ztp.fake_sraps import FakeSraps
from ztp.models import ZtpAccount

pytestmark = pytest.mark.browser

OVERFLOW = """
() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    const seen = box.width && box.height;
    if (seen && box.right > width + 1) wide.push(el.tagName + '.' + el.className);
  }
  return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 10)};
}
"""


@pytest.fixture
def sraps(settings, monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    with FakeSraps() as fake:
        settings.ZTP_VENDORS = {
            "snom": {
                "url": fake.api_url,
                "key_id": fake.reseller_key_id,
                "secret": fake.reseller_secret,
            },
            "yealink": {"url": "http://127.0.0.1:9", "key_id": "", "secret": ""},
        }
        settings.ZTP_TIMEOUT = 2
        yield fake


@pytest.fixture
def ready(customer):
    customer_phone_defaults_create(customer=customer)
    auto_provisioning_enable(customer=customer, user=None)
    return customer


def open_card(page: Page):
    menu = page.get_by_role("navigation", name="Navigation menu")
    menu.locator("summary", has_text=re.compile(r"^System$")).click()
    menu.get_by_role("link", name="Customer", exact=True).click()
    expect(page.locator("h1.current-page")).to_have_text("Customer")
    # The card's script is deferred; a click before it runs takes the no-script path
    # (the server asks for confirmation on a page of its own).
    page.wait_for_load_state("load")
    return page.locator("[data-ztp-card]")


def snom_row(page: Page):
    return page.locator('.ztp-vendor[data-vendor="snom"]')


def test_super_admin_onboards_snom_and_sees_it_configured(
    page: Page, login, super_admin, ready, sraps
):
    login(page, super_admin)
    open_card(page)
    row = snom_row(page)
    expect(row.locator("[data-field=status]")).to_have_text("Not configured")

    row.get_by_role("button", name="Onboard").click()
    dialog = row.get_by_role("alertdialog", name="Confirm Onboard")
    expect(dialog).to_contain_text("Onboard Snom (SRAPS) for Acme Logistics?")
    sraps.delay = 0.5  # slow enough to see the card busy
    dialog.get_by_role("button", name="Confirm onboard").click()
    # In flight: every button of the card is disabled, so a second click sends nothing.
    expect(page.locator("[data-ztp-card] button").first).to_be_disabled()
    expect(row.get_by_role("status")).to_have_text("Onboard: working…")

    row = snom_row(page)
    expect(row.locator("[data-field=status]")).to_have_text("Configured")
    company = ZtpAccount.objects.get(vendor="snom").company_id
    expect(row.locator("[data-field=company]")).to_have_text(company)
    expect(page.locator("[data-field=notice]")).to_have_text(
        f"Snom (SRAPS): Onboarded (company {company})."
    )
    expect(row.get_by_role("button", name="Rotate")).to_be_enabled()
    assert len(sraps.companies) == 1
    assert [r for r in sraps.requests if r[0] == "POST" and r[1] == "/api/v1/companies/"] == [
        ("POST", "/api/v1/companies/")
    ]


def test_the_error_shows_inline_when_the_fake_is_down(page: Page, login, super_admin, ready, sraps):
    sraps.down = True
    login(page, super_admin)
    open_card(page)
    row = snom_row(page)

    row.get_by_role("button", name="Onboard").click()
    row.get_by_role("button", name="Confirm onboard").click()

    row = snom_row(page)
    expect(row.locator("[data-field=status]")).to_have_text("Error")
    error = row.locator("[data-field=error]")
    expect(error).to_contain_text("Onboard failed:")
    expect(error).to_contain_text("Snom SRAPS answered 503")
    expect(error).to_contain_text("Try again later.")
    expect(row.get_by_role("button", name="Onboard")).to_be_enabled()

    # Back up: the next attempt goes through and clears the error.
    sraps.down = False
    row.get_by_role("button", name="Onboard").click()
    row.get_by_role("button", name="Confirm onboard").click()
    expect(snom_row(page).locator("[data-field=status]")).to_have_text("Configured")
    expect(snom_row(page).locator("[data-field=error]")).to_have_count(0)


def test_cancel_sends_nothing(page: Page, login, super_admin, ready, sraps):
    login(page, super_admin)
    open_card(page)
    row = snom_row(page)

    row.get_by_role("button", name="Onboard").click()
    row.get_by_role("button", name="Cancel").click()

    expect(row.get_by_role("alertdialog")).to_have_count(0)
    expect(row.get_by_role("button", name="Onboard")).to_be_visible()
    assert sraps.requests == []


@pytest.mark.parametrize("width", [390, 1366])
def test_the_customer_page_fits_the_window(page: Page, login, super_admin, ready, sraps, width):
    page.set_viewport_size({"width": width, "height": 900})
    login(page, super_admin)
    page.goto("/admin/system/customer/")  # on a phone the menu is folded away
    row = snom_row(page)
    row.get_by_role("button", name="Onboard").click()
    row.get_by_role("button", name="Confirm onboard").click()
    expect(snom_row(page).locator("[data-field=status]")).to_have_text("Configured")
    sraps.down = True
    yealink = page.locator('.ztp-vendor[data-vendor="yealink"]')
    yealink.get_by_role("button", name="Onboard").click()
    yealink.get_by_role("button", name="Confirm onboard").click()
    expect(page.locator('.ztp-vendor[data-vendor="yealink"] [data-field=error]')).to_be_visible()

    found = page.evaluate(OVERFLOW)

    assert found["scroll"] <= found["width"], found
    assert not found["wide"], found
