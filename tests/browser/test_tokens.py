"""An Admin sets up a bootstrap/token pair in a real browser, as the reference guide's
"Creating Bootstraps and Tokens" describes, and gets the QR code and intent to hand out."""

import re

import pytest
from playwright.sync_api import Page, expect

from provisioning.models import Token

pytestmark = pytest.mark.browser

SETTINGS_XML = b"""<?xml version="1.0" encoding="utf-8"?>
<map><string name="serverURL">https://ptt.example</string></map>
"""


def test_admin_adds_a_bootstrap_then_a_token_and_sees_its_qr_code(page: Page, login, admin):
    login(page, admin)

    page.goto("/admin/tokens/bootstraps/")
    page.get_by_role("link", name="Add", exact=True).click()
    expect(page.locator("h1.current-page")).to_have_text("Add bootstrap")
    page.get_by_label("Name").fill("Warehouse-PTT")
    # The settings come from an XML file: converted for review first, saved on request.
    page.get_by_label("Or convert an XML settings file").set_input_files(
        files=[{"name": "settings.xml", "mimeType": "text/xml", "buffer": SETTINGS_XML}]
    )
    page.get_by_role("button", name="Convert XML").click()
    expect(page.get_by_text("Review the converted parameters, then Save")).to_be_visible()
    expect(page.get_by_label("Parameters (JSON)")).to_have_value(
        re.compile(r'"serverURL": "https://ptt\.example"')
    )
    expect(page.get_by_label("Name")).to_have_value("Warehouse-PTT")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(
        page.get_by_role("status").filter(has_text="Bootstrap Warehouse-PTT added.")
    ).to_be_visible()
    expect(page.get_by_role("cell", name="Warehouse-PTT")).to_be_visible()

    page.goto("/admin/tokens/")
    page.get_by_role("link", name="Add", exact=True).click()
    expect(page.locator("h1.current-page")).to_have_text("Add token")
    page.get_by_label("Token", exact=True).fill("Warehouse-PTT-01")
    page.get_by_label("App ID").select_option("WFC_PRO_ANDROID")
    page.get_by_label("Bootstrap", exact=True).select_option(label="Warehouse-PTT")
    page.get_by_label("Description").fill("Dock handhelds")
    page.get_by_role("button", name="Add", exact=True).click()

    expect(
        page.get_by_role("status").filter(has_text="Token Warehouse-PTT-01 added.")
    ).to_be_visible()
    token = Token.objects.get(value="Warehouse-PTT-01")
    row = page.locator(f"#token-{token.pk}")
    expect(row.locator("svg.qr")).to_have_count(1)
    expect(row.locator("svg.qr")).to_be_visible()
    expect(row).to_contain_text("Warehouse-PTT")
    expect(row).to_contain_text('{"serverURL": "https://ptt.example"}')
    expect(row.locator("code.adb")).to_have_text(
        'adb shell am start -a android.intent.action.VIEW -d "wfctp://Warehouse-PTT-01"'
    )

    # The copy button exists once copy.js has run, and copies the adb line.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    row.get_by_role("button", name="Copy").click()
    expect(row.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == (
        'adb shell am start -a android.intent.action.VIEW -d "wfctp://Warehouse-PTT-01"'
    )

    # Clicking the QR code opens the large, printable page.
    row.locator("a", has=page.locator("svg.qr")).click()
    expect(page).to_have_url(re.compile(rf"/admin/tokens/{token.pk}/qr$"))
    expect(page.locator(".qr-large svg.qr")).to_be_visible()
    expect(page.get_by_role("link", name="Download PNG")).to_be_visible()
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    # The menu still marks Tokens as the current section.
    expect(page.locator('nav [aria-current="page"]')).to_have_text("Tokens")
