"""The ZTP card in a real browser against the fake SRAPS: a Super-Admin enters the API key
made in the vendor's portal, onboards Snom and sees Configured with the company identifier
and the key's ID, then disables it after the inline confirmation; a key the vendor refuses
or the fake down shows its error inline. While a request is in flight the card's buttons
are disabled. The page fits a phone's and a laptop's width without overflowing."""

import re

import pytest
from playwright.sync_api import Page, expect

from phones.services.auto import auto_provisioning_enable
from phones.services.categories import customer_phone_defaults_create
from ztp.fake_sraps import FakeSraps
from ztp.models import Status, ZtpAccount, ZtpPhone
from ztp.services.card import ztp_onboard

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
            "snom": {"url": fake.api_url},
            "gigaset": {"url": "http://127.0.0.1:9/api/v1"},
            "yealink": {"url": "http://127.0.0.1:9"},
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


def onboarded(customer, sraps, live_server) -> None:
    """Snom onboarded with the fake's key, its phone file URL on the live server."""
    ztp_onboard(
        customer=customer,
        vendor="snom",
        user=None,
        base_url=live_server.url,
        key_id=sraps.key_id,
        secret=sraps.secret,
    )


def vendor_row(page: Page, vendor: str = "snom"):
    return page.locator(f'.ztp-vendor[data-vendor="{vendor}"]')


def enter_key(row, key_id: str, secret: str, button: str = "Onboard") -> None:
    row.get_by_label("API key ID").fill(key_id)
    row.get_by_label("Secret").fill(secret)
    row.get_by_role("button", name=button, exact=True).click()


def test_super_admin_onboards_snom_with_its_key_then_disables_it(
    page: Page, login, super_admin, ready, sraps
):
    login(page, super_admin)
    open_card(page)
    row = vendor_row(page)
    expect(row.locator("[data-field=status]")).to_have_text("Not configured")
    expect(row.get_by_role("button", name="Check now")).to_have_count(0)

    sraps.delay = 0.5  # slow enough to see the card busy
    enter_key(row, sraps.key_id, sraps.secret)
    # No confirmation step: the key was entered on purpose. In flight every button of the
    # card is disabled, so a second click sends nothing.
    expect(page.locator("[data-ztp-card] button").first).to_be_disabled()
    expect(row.get_by_role("status")).to_have_text("Onboard: working…")

    row = vendor_row(page)
    expect(row.locator("[data-field=status]")).to_have_text("Configured")
    expect(row.locator("[data-field=company]")).to_have_text(sraps.company)
    expect(row.locator("[data-field=key]")).to_have_text(sraps.key_id)
    expect(page.locator("[data-field=notice]")).to_have_text(
        f"Snom (SRAPS): Onboarded (company {sraps.company})."
    )
    expect(row.get_by_role("button", name="Rotate")).to_be_enabled()
    # Change API key is folded: its fields show once it is opened.
    expect(row.get_by_label("Secret")).to_be_hidden()
    row.locator("summary", has_text="Change API key").click()
    expect(row.get_by_label("Secret")).to_be_visible()
    expect(row.get_by_role("button", name="Change API key")).to_be_enabled()
    expect(row.get_by_role("button", name="Check now")).to_be_enabled()
    assert sraps.secret not in page.content()
    account = ZtpAccount.objects.get(vendor="snom")
    assert (account.company_id, account.key_id) == (sraps.company, sraps.key_id)

    sraps.delay = 0
    row.get_by_role("button", name="Disable").click()
    dialog = row.get_by_role("alertdialog", name="Confirm Disable")
    expect(dialog).to_contain_text("Disable Snom (SRAPS) for Acme Logistics?")
    assert ZtpAccount.objects.get(vendor="snom").is_configured  # nothing sent yet
    dialog.get_by_role("button", name="Confirm disable").click()

    row = vendor_row(page)
    expect(row.locator("[data-field=status]")).to_have_text("Not configured")
    expect(page.locator("[data-field=notice]")).to_contain_text(
        f"Snom (SRAPS): Disabled; the API key is forgotten. Delete the key ({sraps.key_id})"
    )
    expect(row.get_by_role("button", name="Onboard")).to_be_enabled()
    assert ZtpAccount.objects.get(vendor="snom").status == Status.NOT_CONFIGURED


def test_empty_fields_send_nothing(page: Page, login, super_admin, ready, sraps):
    login(page, super_admin)
    open_card(page)
    row = vendor_row(page)

    row.get_by_label("API key ID").fill(sraps.key_id)
    row.get_by_role("button", name="Onboard").click()  # the secret is required

    expect(row.get_by_label("Secret")).to_be_focused()
    expect(row.locator("[data-field=status]")).to_have_text("Not configured")
    assert sraps.calls == []
    assert not ZtpAccount.objects.exists()


def test_a_key_the_vendor_refuses_shows_inline(page: Page, login, super_admin, ready, sraps):
    login(page, super_admin)
    open_card(page)

    enter_key(vendor_row(page), sraps.key_id, "not-the-secret")

    row = vendor_row(page)
    expect(row.locator("[data-field=status]")).to_have_text("Error")
    expect(row.locator("[data-field=error]")).to_contain_text(
        "does not accept this API key: check its ID and secret"
    )
    # The form is back, empty, for the right key.
    expect(row.get_by_label("Secret")).to_have_value("")
    enter_key(row, sraps.key_id, sraps.secret)
    expect(vendor_row(page).locator("[data-field=status]")).to_have_text("Configured")
    expect(vendor_row(page).locator("[data-field=error]")).to_have_count(0)


def test_the_error_shows_inline_when_the_fake_is_down(page: Page, login, super_admin, ready, sraps):
    sraps.down = True
    login(page, super_admin)
    open_card(page)

    enter_key(vendor_row(page), sraps.key_id, sraps.secret)

    row = vendor_row(page)
    expect(row.locator("[data-field=status]")).to_have_text("Error")
    error = row.locator("[data-field=error]")
    expect(error).to_contain_text("Onboard failed:")
    expect(error).to_contain_text("Snom SRAPS answered 503")
    expect(error).to_contain_text("Try again later.")
    expect(row.get_by_role("button", name="Onboard")).to_be_enabled()

    # Back up: the next attempt goes through and clears the error.
    sraps.down = False
    enter_key(row, sraps.key_id, sraps.secret)
    expect(vendor_row(page).locator("[data-field=status]")).to_have_text("Configured")
    expect(vendor_row(page).locator("[data-field=error]")).to_have_count(0)


def test_cancel_sends_nothing(page: Page, login, super_admin, ready, sraps):
    ztp_onboard(
        customer=ready,
        vendor="snom",
        user=None,
        base_url="http://testserver",
        key_id=sraps.key_id,
        secret=sraps.secret,
    )
    calls = len(sraps.calls)
    login(page, super_admin)
    open_card(page)
    row = vendor_row(page)

    row.get_by_role("button", name="Rotate").click()
    expect(row.get_by_role("alertdialog", name="Confirm Rotate")).to_contain_text(
        "Give Acme Logistics a new phone file URL and register it at Snom (SRAPS)?"
    )
    row.get_by_role("button", name="Cancel").click()

    expect(row.get_by_role("alertdialog")).to_have_count(0)
    expect(row.get_by_role("button", name="Rotate")).to_be_visible()
    assert len(sraps.calls) == calls


@pytest.mark.parametrize("width", [390, 1366])
def test_the_customer_page_fits_the_window(page: Page, login, super_admin, ready, sraps, width):
    page.set_viewport_size({"width": width, "height": 900})
    login(page, super_admin)
    page.goto("/admin/system/customer/")  # on a phone the menu is folded away
    page.wait_for_load_state("load")
    enter_key(vendor_row(page), sraps.key_id, sraps.secret)
    expect(vendor_row(page).locator("[data-field=status]")).to_have_text("Configured")
    enter_key(vendor_row(page, "yealink"), "ymcs-client", "ymcs-secret")  # nothing answers
    expect(vendor_row(page, "yealink").locator("[data-field=error]")).to_be_visible()

    found = page.evaluate(OVERFLOW)

    assert found["scroll"] <= found["width"], found
    assert not found["wide"], found


def test_rotate_brings_the_whole_page_back_with_the_new_url(
    page: Page, login, super_admin, ready, sraps, live_server
):
    onboarded(ready, sraps, live_server)
    login(page, super_admin)
    open_card(page)
    before = page.locator("#device-url").inner_text()
    row = vendor_row(page)

    row.get_by_role("button", name="Rotate").click()
    row.get_by_role("alertdialog", name="Confirm Rotate").get_by_role(
        "button", name="Confirm rotate"
    ).click()

    # Not the card alone: the device URL above it is the new one too.
    expect(page.locator("#device-url")).not_to_have_text(before)
    expect(page.get_by_text("a new phone file URL is registered")).to_be_visible()
    expect(vendor_row(page).locator("[data-field=status]")).to_have_text("Configured")


@pytest.mark.parametrize("width", [390, 1366])
def test_several_phones_are_pasted_then_removed_after_the_question(
    page: Page, login, super_admin, ready, sraps, live_server, width
):
    onboarded(ready, sraps, live_server)
    page.set_viewport_size({"width": width, "height": 900})
    login(page, super_admin)
    page.goto("/admin/system/customer/ztp/phones/?vendor=snom")
    form = page.locator("form.ztp-bulk")

    form.get_by_label("MAC addresses").fill("000413000001\n00:04:13:00:00:02\nnot-a-mac\n")
    form.get_by_role("button", name="Register all").click()

    results = page.locator("table.ztp-results tbody tr")
    expect(page.get_by_text("Snom (SRAPS): 2 phone(s) registered, 1 failed.")).to_be_visible()
    expect(results).to_have_count(3)
    expect(results.nth(2)).to_contain_text("'not-a-mac' is not a MAC address")
    found = page.evaluate(OVERFLOW)
    assert found["scroll"] <= found["width"] and not found["wide"], found
    assert {"000413000001", "000413000002"} <= set(sraps.endpoints)

    page.get_by_role("link", name="Back to the phone list").click()
    page.locator("form.ztp-bulk").get_by_label("MAC addresses").fill("000413000001\n000413000002")
    page.get_by_role("button", name="Remove all…").click()
    expect(page.get_by_text("Remove these 2 phones at Snom (SRAPS)?")).to_be_visible()
    assert {"000413000001", "000413000002"} <= set(sraps.endpoints)  # only asked so far
    found = page.evaluate(OVERFLOW)
    assert found["scroll"] <= found["width"] and not found["wide"], found

    page.get_by_role("button", name="Remove 2 phones").click()

    expect(page.get_by_text("Snom (SRAPS): 2 phone(s) removed.")).to_be_visible()
    assert not {"000413000001", "000413000002"} & set(sraps.endpoints)
    assert not ZtpPhone.objects.exists()
