"""Desk phones added in a real browser. A User adds one, as the reference's "User adding a
new phone" describes: they get a code, the phone redeems it over the device API, and the
page turns Registered by itself, without a reload. An Admin registers phones for several
users at once ("Register phones") and watches them register the same way."""

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from phones.models import Rollout
from phones.services.categories import category_save
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

MAC = "00:90:33:1A:2B:3C"


def test_user_adds_a_phone_and_sees_it_register_live(
    page: Page, login, viewer, customer, live_server
):
    category_save(customer=customer, user=None, name="Desk Phones")
    login(page, viewer)

    menu = page.get_by_role("navigation", name="Navigation menu")
    menu.locator("summary", has_text=re.compile(r"^Phones$")).click()
    menu.get_by_role("link", name="Add a phone", exact=True).click()
    expect(page.locator("h1.current-page")).to_have_text("Add a phone")
    # The only provisioning category is chosen already.
    expect(page.get_by_text("Category: Desk Phones")).to_be_visible()
    page.get_by_role("button", name="Get a code").click()

    digits = page.locator(".code-digits .digits")
    expect(digits).to_have_text(re.compile(r"^\d{12}$"))
    code = digits.text_content()
    # Shown in three groups of four for reading.
    expect(digits.locator("span")).to_have_count(3)
    state = page.locator("[data-field=state]")
    expect(state).to_have_text("Pending")
    expect(page.locator("[data-field=countdown]")).to_have_text(
        re.compile(r"^\((9|10):\d\d left\)$")
    )

    # Copying gives the 12 digits, without the gaps between the groups.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy code").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == code

    # A marker that a reload would wipe out.
    page.evaluate("window.stillThisPage = true")
    answer = httpx.post(
        f"{live_server.url}/device/api/v1/code",
        json={"code": code, "mac": MAC, "model": "IP112"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["category"] == "Desk Phones"

    expect(state).to_have_text("Registered")
    expect(page.locator("[data-field=device]")).to_contain_text(MAC)
    expect(page.locator("[data-field=device]")).to_contain_text("IP112")
    expect(page.locator("[data-field=countdown]")).to_have_text("")
    assert page.evaluate("window.stillThisPage") is True

    # The phone's page is one click away.
    page.locator("[data-field=device]").get_by_role("link", name=MAC).click()
    expect(page.locator("h1.current-page")).to_have_text(re.compile(r"^Device "))
    expect(page.get_by_text("Jobs last received")).to_be_visible()


def test_admin_registers_phones_for_users_and_sees_them_register(
    page: Page, login, admin, customer, live_server
):
    category_save(customer=customer, user=None, name="Desk Phones")
    people = [UserFactory(customer=customer, username=f"desk-{i:02}") for i in range(3)]
    login(page, admin)

    page.goto("/admin/phones/rollouts/")
    page.get_by_role("link", name="New registration").click()
    expect(page.locator(".checklist")).to_contain_text("Device URL")
    page.get_by_role("link", name="Next").click()
    # One provisioning category: no dropdown for it, only the phone app to choose.
    expect(page.get_by_text("Provisioning category: Desk Phones")).to_be_visible()
    page.get_by_role("button", name="Next").click()

    page.get_by_label("Name/Email filter").fill("desk-")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("input[data-user]")).to_have_count(3)
    page.get_by_label("Select the users on this page").check()
    expect(page.locator("[data-selected-count]")).to_have_text("3")
    page.get_by_role("button", name="Create codes").click()

    expect(
        page.get_by_role("status").filter(has_text="3 provisioning code(s) created")
    ).to_be_visible()
    rollout = Rollout.objects.get()
    codes = {c.user.username: c.code for c in rollout.codes.select_related("user")}
    assert set(codes) == {p.username for p in people}
    row = page.locator("tr", has_text="desk-01")
    expect(row.locator("[data-field=state]")).to_have_text("Pending")

    page.evaluate("window.stillThisPage = true")
    answer = httpx.post(
        f"{live_server.url}/device/api/v1/code",
        json={"code": codes["desk-01"], "mac": MAC, "model": "IP112"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    # The page asks every 5 seconds.
    expect(row.locator("[data-field=state]")).to_have_text("Registered", timeout=12_000)
    expect(row.locator("[data-field=device]")).to_contain_text(MAC)
    expect(page.locator("[data-total=registered]")).to_have_text("1")
    assert page.evaluate("window.stillThisPage") is True

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "user,name,code,state,expires"
    assert any(line.startswith("desk-01,") and ",Registered," in line for line in lines)
