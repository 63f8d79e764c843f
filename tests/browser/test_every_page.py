"""Every portal page, as every role, at a phone's width and a laptop's.

The pages are discovered the way a person finds them: the menu's entries, then the links
and buttons on each of those pages (rows' Edit, Delete, QR, detail links; Add buttons).
Each page must:

- be no wider than the window (`scrollWidth <= innerWidth`);
- show its actions (row actions, the buttons beside the heading) whole and inside the
  window, not cut off or pushed out of view;
- log no console error and request nothing from any host but the test server;
- have no serious or critical WCAG 2.2 AA violation according to axe-core (vendored in
  tests/browser/vendor/axe-core, see its README; nothing is fetched at test time).

With SCREENS_DIR set, the Super-Admin's run also saves the README's screenshots there
(`make screenshots`); with SCREENS_ALL set, every page of every role is saved whole, to
look at.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from devices.models import Device, DeviceKind
from gateway.services.licenses import license_request
from gateway.services.redemption import token_redeem
from licensing.models import Entitlement, LicenseType
from phones.models import PhoneBinding
from phones.services.categories import category_save
from phones.services.jobs import config_job_create, software_job_create
from phones.services.lines import phone_line_set
from provisioning.services.bootstraps import bootstrap_save
from provisioning.services.tokens import token_save
from reports.models import AppId
from reports.services import event_log
from tests.browser.test_ztp_card import OVERFLOW
from tests.devices.factories import SiteFactory

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WIDTHS = {"phone": (390, 844), "desktop": (1366, 900)}
# The README's screens: (file name, path), taken as the Super-Admin at both widths.
SCREENS = [
    ("dashboard", "/admin/"),
    ("tokens", "/admin/tokens/"),
    ("devices", "/admin/system/devices/"),
    ("events", "/admin/reports/events/"),
    ("user-form-errors", None),  # the Add portal user form sent empty: its error summary
]
# Links that are not pages: downloads, exports, the API's docs (tested on their own).
SKIP = re.compile(r"format=csv|/download|/admin/api/|/staff/|/logout|\.(png|svg|csv)$")
# The first of each kind of link is enough: /tokens/12/edit stands for every token's.
MAX_PAGES = 80
# The live server: pytest-django names it localhost; both names are this machine.
LOOPBACK = {"127.0.0.1", "localhost"}


@pytest.fixture
def full_customer(customer, super_admin):
    """A customer with a row on every page: tokens (one expired, one used up), long
    values and JSON, devices with licenses, sites, categories, update jobs, events."""
    long_json = {
        "serverURL": "https://ptt.example.com/a/very/long/path/that/does/not/break/at/all",
        "site": "North Warehouse",
        "options": {"x": list(range(12))},
    }
    bootstrap, _ = bootstrap_save(
        customer=customer, user=None, name="PTT-North-Warehouse", parameters=long_json
    )
    now = timezone.now()
    token, _ = token_save(
        customer=customer,
        user=None,
        value="acme-north-warehouse-averyveryverylongtokenvaluewithoutanybreak",
        app_id=AppId.VOICE,
        bootstrap=bootstrap,
        description="Voice clients of the North Warehouse and its loading docks",
    )
    token_save(
        customer=customer,
        user=None,
        value="acme-expired",
        app_id=AppId.PTT_PRO,
        bootstrap=bootstrap,
        expires_at=now + timedelta(days=1),
    )
    token_save(
        customer=customer,
        user=None,
        value="acme-once",
        app_id=AppId.VOICE,
        bootstrap=bootstrap,
        max_redemptions=1,
    )
    # Expired since: the list must say so.
    from provisioning.models import Token

    Token.objects.filter(value="acme-expired").update(expires_at=now - timedelta(days=1))
    token_redeem(token="acme-once", device_id="TC52_0000000001", app_id=AppId.VOICE)
    Entitlement.objects.create(
        customer=customer,
        activation_id="aid-0001-4c3b-8e21-e295c6d1",
        license_type=LicenseType.STANDARD,
        term="1 Year Term",
        total=10,
        expiration=now + timedelta(days=365),
    )
    for n in range(3):
        device_id = f"TC52_22304522510{n:03}"
        token_redeem(token=token.value, device_id=device_id, app_id=AppId.VOICE, model="TC52")
        license_request(token=token.value, device_id=device_id, feature="CUCM")
    SiteFactory(customer=customer, name="South Store")
    category, _ = category_save(
        customer=customer, user=None, name="Desk Phones", bootstrap=bootstrap
    )
    # A desk phone, listed first (the latest activity), bound, with two lines.
    desk = Device.objects.create(
        customer=customer,
        device_id="000413ABCDEF",
        kind=DeviceKind.DESK_PHONE,
        model="D785",
        category=category.name,
        last_checkin=now + timedelta(minutes=1),
    )
    PhoneBinding.objects.create(
        customer=customer,
        device=desk,
        vendor="snom",
        model="D785",
        network="203.0.113.0/24",
        joined_by="file URL",
        bound_at=now,
    )
    for position, name in ((1, "Reception desk of the North Warehouse"), (2, "Loading dock")):
        phone_line_set(
            device=desk,
            user=None,
            position=position,
            extension=f"20{position}",
            display_name=name,
            auth_user=f"north-warehouse-20{position}",
            password="s3cret",
        )
    software_job_create(
        customer=customer, user=None, category=category, firmware={"v": "10.1.73.16"}
    )
    config_job_create(
        customer=customer,
        user=None,
        category=category,
        config_type="ntp",
        parameters={"server": "ntp.example.com"},
    )
    event_log(
        customer=customer,
        user=super_admin,
        type="TOKEN_ADDED",
        info=f"Token {token.value} added",
        data={"after": {"token": token.value, "bootstrap": bootstrap.name}},
    )
    return customer


def _same_kind(url: str) -> str:
    return re.sub(r"\d+", "N", urlsplit(url).path)


class _Pages:
    """The pages to check: the menu's, then the pages their links and buttons open, one of
    each kind. Links are read from the menu's pages while they are checked, so each page
    is loaded once."""

    def __init__(self, menu: list[str]) -> None:
        self.seen_kinds: set[str] = set()
        self.urls: list[str] = []
        for url in menu:
            self.add(url)
        self.menu = set(self.urls)

    def add(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.hostname not in LOOPBACK or not parts.path.startswith("/admin/"):
            return
        if SKIP.search(url) or parts.fragment:
            return
        kind = _same_kind(url) + ("?" + parts.query if not re.search(r"\d", parts.path) else "")
        if kind in self.seen_kinds or len(self.urls) >= MAX_PAGES:
            return
        self.seen_kinds.add(kind)
        self.urls.append(url)

    def add_links_of(self, page: Page, url: str) -> None:
        links = page.eval_on_selector_all(
            "main a[href]:not([download])",
            "els => els.map(e => e.href)",
        )
        for link in links:
            # Sorting and paging links open the same page; their kind is the page's.
            if urlsplit(link).path != urlsplit(url).path:
                self.add(link)


CHECK_LAYOUT = """() => {
  const problems = [];
  const width = window.innerWidth;
  if (document.documentElement.scrollWidth > width) {
    problems.push(`page is ${document.documentElement.scrollWidth}px wide in a ${width}px window`);
  }
  const actions = document.querySelectorAll(
    'td.actions a, td.actions button, .page-head a, .page-head button, ' +
    '.form-actions a, .form-actions button');
  for (const el of actions) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not shown at this width
    const name = (el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 30);
    if (box.left < -0.5 || box.right > width + 0.5) {
      const span = `${Math.round(box.left)}..${Math.round(box.right)}`;
      problems.push(`action "${name}" lies outside the window (${span})`);
    }
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflow !== 'visible') {
      problems.push(`action "${name}" is cut off`);
    }
    // Covered by something else (a sticky column, the drawer): the centre must be the action.
    const x = Math.min(Math.max(box.left + box.width / 2, 0), width - 1);
    const y = box.top + box.height / 2;
    if (y >= 0 && y < window.innerHeight) {
      const top = document.elementFromPoint(x, y);
      if (top && !el.contains(top) && !top.contains(el)) {
        const what = `${top.tagName.toLowerCase()}.${top.className}`;
        problems.push(`action "${name}" is covered by ${what}`);
      }
    }
  }
  return problems;
}"""

AXE_RUN = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']},
    resultTypes: ['violations'],
  });
  return result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => {
      const where = v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ');
      return `${v.id} (${v.impact}): ${where}`;
    });
}"""


def _visit_all(page: Page, user, width: str, screens_dir: Path | None):
    problems: list[str] = []
    current = {"url": ""}
    page.on(
        "console",
        lambda msg: (
            msg.type == "error" and problems.append(f"{current['url']}: console error: {msg.text}")
        ),
    )
    page.on("pageerror", lambda exc: problems.append(f"{current['url']}: script error: {exc}"))

    def on_request(request):
        parts = urlsplit(request.url)
        if parts.scheme in {"data", "blob"}:
            return
        if parts.hostname not in LOOPBACK:
            problems.append(f"{current['url']}: request off 127.0.0.1: {request.url}")

    page.on("request", on_request)
    # axe-core is put in every page as it starts, which is cheaper than adding it to each
    # page once loaded (its half a megabyte, sent and compiled per page: 40% of the test).
    page.add_init_script(path=str(AXE))
    pages = _Pages(page.eval_on_selector_all("#sidebar a[href]", "els => els.map(e => e.href)"))
    assert len(pages.urls) >= 8, pages.urls  # the menu alone has more
    for url in pages.urls:  # grows while the menu's pages are read
        current["url"] = url
        response = page.goto(url)
        assert response is not None and response.status == 200, f"{url}: {response.status}"
        page.wait_for_load_state("load")
        if url in pages.menu:
            pages.add_links_of(page, url)
        problems.extend(f"{url}: {p}" for p in page.evaluate(CHECK_LAYOUT))
        problems.extend(f"{url}: axe {v}" for v in page.evaluate(AXE_RUN))
        if screens_dir is not None and os.environ.get("SCREENS_ALL"):
            name = re.sub(r"[^a-z0-9]+", "-", urlsplit(url).path.lower()).strip("-")
            shot = screens_dir / f"{user.username}-{name}-{width}.png"
            page.screenshot(path=str(shot), full_page=True)
    return pages.urls, problems


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("who", ["super_admin", "admin", "viewer", "staff"])
def test_every_page_fits_and_passes_axe(page: Page, login, users, full_customer, who, width):
    screens_dir = Path(os.environ["SCREENS_DIR"]) if os.environ.get("SCREENS_DIR") else None
    if screens_dir:
        screens_dir.mkdir(parents=True, exist_ok=True)
    user = users[who]
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    login(page, user)
    if who == "staff":
        # Staff pick the customer they act for first.
        page.goto("/admin/customer/switch")
        page.get_by_label("Customer").select_option(label=full_customer.name)
        page.get_by_role("button", name="Act for this customer").click()
    pages, problems = _visit_all(page, user, width, screens_dir)
    assert not problems, f"{len(problems)} problems on {len(pages)} pages:\n" + "\n".join(problems)
    if screens_dir is not None and who == "super_admin":
        _take_screens(page, screens_dir, width)


def _take_screens(page: Page, screens_dir: Path, width: str) -> None:
    for name, path in SCREENS:
        if path is None:
            page.goto("/admin/system/users/add")
            page.get_by_role("button", name="Add").click()
        else:
            page.goto(path)
        page.wait_for_load_state("load")
        page.screenshot(path=str(screens_dir / f"{name}-{width}.png"))


def test_the_tokens_table_fits_a_laptop_without_scrolling(
    page: Page, login, super_admin, full_customer
):
    """At 1366 x 900 the Tokens table (long token, JSON and adb line; Edit and Delete) fits
    its box: no column hides under the sticky Actions column."""
    page.set_viewport_size({"width": 1366, "height": 900})
    login(page, super_admin)
    page.goto("/admin/tokens/")
    box = page.locator(".table-scroll")
    widths = box.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert widths[0] <= widths[1], f"the table is {widths[0]}px wide in a {widths[1]}px box"
    redemptions = page.get_by_role("columnheader", name="Redemptions").bounding_box()
    actions = page.get_by_role("columnheader", name="Actions").bounding_box()
    assert redemptions["x"] + redemptions["width"] <= actions["x"] + 0.5


@pytest.mark.parametrize("who", ["super_admin", "viewer"])
def test_the_open_user_menu_fits_a_phone(page: Page, login, users, customer, who):
    """The user menu's panel (customer details, the time zone) stays inside a phone's
    window, however long the customer's contact details are."""
    customer.contact_name = "Operations and Logistics Coordination Desk"
    customer.contact_email = "operations.logistics.coordination.desk@north-warehouse.example.com"
    customer.save()
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, users[who])
    page.goto("/admin/tokens/")
    page.locator("details.show-menu summary").click()
    expect(page.get_by_text(customer.contact_email)).to_be_visible()
    # The panel lies over the page on purpose: only its width is checked.
    found = page.evaluate(OVERFLOW)
    assert found["scroll"] <= found["width"] and not found["wide"], found
