"""History and Events in a real browser: a Super-Admin watches History while a device
redeems a token through the device endpoint, and the new row appears without a reload.
Both pages fit a phone's and a laptop's width for a Super-Admin and a User; screenshots
go to /tmp/shots/ for a person to look at."""

import json
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from reports.services import event_log
from reports.views import ReportListView
from tests.browser.test_ztp_card import OVERFLOW
from tests.provisioning.factories import TokenFactory
from tests.reports.rows import make_events, make_history

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")  # noqa: S108 (the brief asks for them there)


def redeem(base_url: str, token: str, device_id: str) -> int:
    body = json.dumps(
        {
            "token": token,
            "deviceId": device_id,
            "appId": "WFC_VOICE_ANDROID",
            "model": "TC52",
            "os": "Android 13",
            "appVersion": "9.0.1",
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 (the live server on loopback)
        f"{base_url}/device/api/v1/bootstrap",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status


def test_a_redemption_appears_on_history_without_a_reload(
    page: Page, login, super_admin, customer, live_server, monkeypatch
):
    monkeypatch.setattr(ReportListView, "live_seconds", 1)
    token = TokenFactory(customer=customer, app_id="WFC_VOICE_ANDROID")
    make_history(customer, 3)
    login(page, super_admin)
    page.goto("/admin/reports/history/")
    expect(page.get_by_text("3 record(s) found")).to_be_visible()
    expect(page.get_by_text("New requests appear by themselves")).to_be_visible()
    # A mark that a reload would wipe out.
    page.evaluate("window.__sameDocument = true")

    assert redeem(live_server.url, token.value, "TC52_NEW_0001") == 200

    expect(page.locator("td.device-id").first).to_have_text("TC52_NEW_0001")
    expect(page.get_by_text("4 record(s) found")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True


def test_live_refresh_waits_while_the_tab_is_hidden(
    page: Page, login, super_admin, customer, monkeypatch
):
    monkeypatch.setattr(ReportListView, "live_seconds", 1)
    make_events(customer, 2)
    login(page, super_admin)
    page.goto("/admin/reports/events/")
    asked = []
    page.on("request", lambda request: "live=" in request.url and asked.append(request.url))
    page.evaluate(
        """() => {
          Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
          document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    page.wait_for_timeout(2500)
    assert asked == []
    event_log(customer=customer, user=super_admin, type="TOKEN_ADDED", info="Token later added")
    page.evaluate(
        """() => {
          Object.defineProperty(document, "hidden", {configurable: true, get: () => false});
          document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    expect(page.get_by_text("Token later added")).to_be_visible()


@pytest.mark.parametrize("width", [390, 1366])
@pytest.mark.parametrize("who", ["super_admin", "viewer"])
def test_history_and_events_fit_the_window(page: Page, login, users, customer, who, width):
    make_history(
        customer,
        30,
        token=lambda i: f"warehouse-north-voice-fleet-{i:03}",
        device_id=lambda i: f"TC52_1830452251{i:04}",
        app_id=lambda i: "WFC_CENTRAL_SERVICE_ANDROID" if i % 2 else "WFC_VOICE_ANDROID",
        result=lambda i: "UNKNOWN_CATEGORY" if i % 7 == 0 else "OK",
    )
    make_events(
        customer,
        30,
        type=lambda i: "LICENSE_SYNC_GET" if i % 3 == 0 else "TOKEN_UPDATED",
        info=lambda i: (
            f"Token warehouse-north-voice-fleet-{i:03} changed: description, "
            "expiry and the bootstrap it points at"
        ),
        data=lambda i: {"before": {"description": "old"}, "after": {"description": "new"}},
    )
    SHOTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": width, "height": 900})
    login(page, users[who])
    for name, url in (("history", "/admin/reports/history/"), ("events", "/admin/reports/events/")):
        page.goto(url)
        expect(page.get_by_text("record(s) found")).to_be_visible()
        page.screenshot(path=str(SHOTS / f"{name}-{who}-{width}.png"), full_page=True)
        page.screenshot(path=str(SHOTS / f"{name}-{who}-{width}-top.png"))
        found = page.evaluate(OVERFLOW)
        assert found["scroll"] <= found["width"], (name, found)
        assert not found["wide"], (name, found)
