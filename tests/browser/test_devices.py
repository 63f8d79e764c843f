"""A Super-Admin opens System > Devices in a real browser, sorts, filters, opens a device
and marks it obsolete, as the reference guide's "Devices" section describes."""

import pytest
from playwright.sync_api import Page, expect

from devices.models import DeviceState, SiteStatus
from tests.devices.factories import DeviceFactory, SiteFactory

pytestmark = pytest.mark.browser


def test_super_admin_sorts_devices_and_obsoletes_one(page: Page, login, super_admin, customer):
    north = SiteFactory(customer=customer, name="North")
    DeviceFactory(customer=customer, device_id="TC21_201335230D5089", model="TC21", on_site=north)
    DeviceFactory(customer=customer, device_id="TC72_181175225E0136", model="TC72")
    DeviceFactory(
        customer=customer,
        device_id="MC33_100",
        model="MC33",
        site=north,
        site_status=SiteStatus.CONFLICT,
        site_error="PTT Pro: entered by hand in South",
    )
    login(page, super_admin)

    page.get_by_role("navigation", name="Navigation menu").get_by_text("System").click()
    page.get_by_role("link", name="Devices", exact=True).click()
    expect(page.locator("h1.current-page")).to_have_text("Devices")
    expect(page.get_by_text("3 record(s) found")).to_be_visible()
    # A conflict shows its reason in the row.
    expect(page.locator("td.site").filter(has_text="Conflict")).to_contain_text(
        "entered by hand in South"
    )

    page.get_by_role("link", name="Device ID", exact=True).click()
    expect(page.locator("td.device-id")).to_have_text(
        ["MC33_100", "TC21_201335230D5089", "TC72_181175225E0136"]
    )
    page.get_by_role("link", name="Device ID ▲").click()
    expect(page.locator("td.device-id").first).to_have_text("TC72_181175225E0136")

    page.get_by_label("Site", exact=True).select_option("North")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("2 record(s) found")).to_be_visible()

    page.get_by_role("link", name="TC21_201335230D5089").click()
    expect(page.locator("h1.current-page")).to_have_text("Device TC21_201335230D5089")
    expect(page.get_by_text("This device holds no licenses yet.")).to_be_visible()
    page.get_by_role("link", name="Mark obsolete").click()
    page.get_by_role("button", name="Mark obsolete").click()
    expect(
        page.get_by_role("status").filter(has_text="Device TC21_201335230D5089 marked obsolete.")
    ).to_be_visible()
    expect(page.get_by_role("link", name="Mark obsolete")).to_have_count(0)
    assert customer.device_set.get(device_id="TC21_201335230D5089").state == DeviceState.OBSOLETE
