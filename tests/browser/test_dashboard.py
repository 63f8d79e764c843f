"""A Super-Admin opens the dashboard in a real browser: both graphs are drawn from the
rollups, a series is switched off and on again, the range goes from 1 month to 6 months,
and new numbers arrive without a reload. A User sees the token graph only."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from reports.models import AppId, LicenseRollup, RollupWatermark, TokenRequestRollup
from reports.rollups import TOKEN_WATERMARK

pytestmark = pytest.mark.browser


@pytest.fixture
def half_a_year(customer):
    """180 days of numbers. Days older than a month have their own values, so a 6-month
    range shows numbers that a 1-month range does not."""
    today, now = timezone.localdate(), timezone.now()
    licenses, tokens = [], []
    for n in range(180):
        old = n > 40
        licenses.append(
            LicenseRollup(
                customer=customer,
                day=today - timedelta(days=n),
                premium_used=4 if not old else 2,
                premium_total=5,
                standard_used=20 - n % 7 if not old else 777,
                standard_total=30,
                updated=now,
            )
        )
        tokens.append(
            TokenRequestRollup(
                customer=customer,
                day=today - timedelta(days=n),
                app_id=AppId.PTT_PRO,
                requests=10 + n % 5 if not old else 555,
            )
        )
    LicenseRollup.objects.bulk_create(licenses)
    TokenRequestRollup.objects.bulk_create(tokens)
    RollupWatermark.objects.create(name=TOKEN_WATERMARK, last_id=1, updated=now)


def canvas(page: Page, graph: str) -> str:
    return page.evaluate(f"document.querySelector('#graph-{graph} canvas').toDataURL()")


def rows(page: Page, graph: str):
    return page.locator(f"#graph-{graph} table tbody tr")


def test_super_admin_toggles_a_series_and_switches_the_range(
    page: Page, login, super_admin, half_a_year
):
    login(page, super_admin)
    page.goto("/admin/")
    licenses = page.locator("#graph-licenses")
    expect(licenses.get_by_role("heading", name="Assigned licenses")).to_be_visible()
    tokens = page.locator("#graph-tokens")
    expect(tokens.get_by_role("heading", name="Token requests")).to_be_visible()
    expect(licenses.locator("canvas")).to_be_visible()
    expect(page.get_by_role("link", name="1 month")).to_have_attribute("aria-current", "true")

    # Each series has a checkbox; switching one off redraws without it, on brings it back.
    premium_used = licenses.get_by_role("checkbox", name="Premium used")
    expect(premium_used).to_be_checked()
    for name in ["Premium total", "Standard used", "Standard total"]:
        expect(licenses.get_by_role("checkbox", name=name)).to_be_checked()
    before = canvas(page, "licenses")
    premium_used.uncheck()
    expect(premium_used).not_to_be_checked()
    assert canvas(page, "licenses") != before
    premium_used.check()
    assert canvas(page, "licenses") == before
    # The token graph names its apps, with each one's total over the range.
    expect(tokens.get_by_role("checkbox", name="PTT Pro (Android)")).to_be_visible()

    # The table holds the same numbers: one row per day of the month.
    licenses.get_by_text("Assigned licenses as a table").click()
    month_rows = rows(page, "licenses").count()
    assert 28 <= month_rows <= 31
    expect(licenses.locator("table")).not_to_contain_text("777")
    month_canvas = canvas(page, "licenses")

    page.get_by_role("link", name="6 months").click()
    expect(page.get_by_role("link", name="6 months")).to_have_attribute("aria-current", "true")
    expect(page.get_by_role("link", name="1 month")).not_to_have_attribute("aria-current", "true")
    expect(licenses.locator("table")).to_contain_text("777")
    assert 181 <= rows(page, "licenses").count() <= 184
    assert 181 <= rows(page, "tokens").count() <= 184
    assert "range=6m" in page.url
    assert canvas(page, "licenses") != month_canvas
    today = timezone.localdate()
    first_day = f"{today - timedelta(days=rows(page, 'licenses').count() - 1)}"
    expect(page.locator("[data-range-summary]")).to_have_text(f"{first_day} to {today}")
    expect(page.get_by_label("From", exact=True)).to_have_value(first_day)
    # A series switched off stays off across range changes.
    premium_used.uncheck()
    page.get_by_role("link", name="3 months").click()
    expect(page.get_by_role("link", name="3 months")).to_have_attribute("aria-current", "true")
    expect(premium_used).not_to_be_checked()

    # Back returns to the 6-month range.
    page.go_back()
    expect(page.get_by_role("link", name="6 months")).to_have_attribute("aria-current", "true")


def test_new_numbers_arrive_without_a_reload(page: Page, login, super_admin, customer, half_a_year):
    login(page, super_admin)
    page.goto("/admin/?range=1m")
    licenses = page.locator("#graph-licenses")
    licenses.get_by_text("Assigned licenses as a table").click()
    expect(rows(page, "licenses").first).not_to_contain_text("4321")
    LicenseRollup.objects.filter(customer=customer, day=timezone.localdate()).update(
        standard_used=4321
    )
    # The page fetches again when the tab comes back into view (and every minute while
    # it is visible); a hidden tab does not poll.
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(rows(page, "licenses").first).to_contain_text("4321")


def test_chosen_dates_and_an_empty_range(page: Page, login, super_admin, half_a_year):
    login(page, super_admin)
    page.goto("/admin/")
    long_ago = timezone.localdate() - timedelta(days=400)
    page.get_by_label("From", exact=True).fill(f"{long_ago - timedelta(days=10)}")
    page.get_by_label("To", exact=True).fill(f"{long_ago}")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("No license numbers for these days")).to_be_visible()
    expect(page.get_by_text("No token requests in these days")).to_be_visible()
    expect(page.locator("#graph-licenses canvas")).to_be_hidden()
    expect(page.get_by_role("link", name="1 month")).not_to_have_attribute("aria-current", "true")


def test_a_user_sees_the_token_graph_only(page: Page, login, viewer, half_a_year):
    login(page, viewer)
    page.goto("/admin/")
    expect(page.locator("#graph-tokens canvas")).to_be_visible()
    expect(page.get_by_role("heading", name="Assigned licenses")).to_have_count(0)
