"""CSV exports (`?format=csv`): exactly the rows the list's filters show, in its order,
every page of them, streamed; formula-injection-safe; scoped like the page. History and
Events, and the other lists: tokens, bootstraps, devices, sites, portal users and the
desk-phone lists (the license lists have their own tests)."""

from __future__ import annotations

import csv
import io

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from core.exports import csv_cell
from phones.models import Category
from phones.services.categories import category_save
from phones.services.codes import rollout_create
from phones.services.jobs import config_job_create, software_job_create
from reports.models import History
from tests.devices.factories import DeviceFactory, SiteFactory
from tests.factories import UserFactory
from tests.provisioning.factories import BootstrapFactory, TokenFactory
from tests.reports.rows import make_events, make_history

HISTORY = reverse("reports:history")
EVENTS = reverse("reports:event_list")
CSV = {"format": "csv"}


def exported(response) -> list[list[str]]:
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("TC52_1", "TC52_1"),
        (None, ""),
        (7, "7"),
    ],
)
def test_cells_a_spreadsheet_would_run_are_escaped(value, cell):
    assert csv_cell(value) == cell


@pytest.mark.django_db
def test_history_csv_is_exactly_the_filtered_rows_in_order(
    customer, other_customer, portal_client, viewer
):
    make_history(
        customer,
        60,
        result=lambda i: "REVOKED" if i % 3 == 0 else "OK",
        token=lambda i: "=cmd|' /C calc'!A0" if i == 3 else f"tok-{i:03}",
    )
    make_history(other_customer, 5, token="globex-secret")
    client = portal_client(viewer)
    query = {"result": "REVOKED", "ordering": "-token"}
    rows = exported(client.get(HISTORY, {**query, **CSV}))
    assert rows[0] == [
        "Customer",
        "Timestamp",
        "Action",
        "Token",
        "App",
        "Device ID",
        "Result",
        "IP",
    ]
    on_pages = []
    cursor = ""
    while True:
        page = client.get(HISTORY, {**query, "cursor": cursor} if cursor else query).context["page"]
        on_pages += page.rows
        if not page.has_next:
            break
        cursor = page.next_cursor
    assert len(rows) - 1 == len(on_pages) == 20
    assert [row[3] for row in rows[1:]] == [csv_cell(r.token) for r in on_pages]
    assert rows[-1][3] == "'=cmd|' /C calc'!A0"  # escaped, and "-token" puts it last
    assert all(row[0] == "Acme Logistics" and row[6] == "REVOKED" for row in rows[1:])
    assert "globex-secret" not in str(rows)


@pytest.mark.django_db
def test_events_csv_follows_filters_and_escapes(customer, portal_client, super_admin):
    make_events(
        customer,
        10,
        severity=lambda i: "ERROR" if i < 4 else "INFO",
        info=lambda i: "@evil" if i == 1 else f"Token tok-{i:03} added",
        username=lambda i: "" if i == 2 else "ada",
        data=lambda i: {"n": i},
    )
    rows = exported(portal_client(super_admin).get(EVENTS, {"severity": "ERROR", **CSV}))
    assert rows[0] == ["Customer", "Timestamp", "User", "Type", "Severity", "Info", "Details"]
    assert [row[5] for row in rows[1:]] == [
        "Token tok-003 added",
        "Token tok-002 added",
        "'@evil",
        "Token tok-000 added",
    ]
    assert rows[2][2] == "system" and rows[1][6] == '{"n": 3}'


@pytest.mark.django_db
def test_a_bad_filter_is_a_400_not_every_row(customer, portal_client, viewer):
    make_history(customer, 3)
    response = portal_client(viewer).get(HISTORY, {"result": "NOPE", **CSV})
    assert response.status_code == 400
    assert "result:" in response.content.decode()


@pytest.mark.django_db
def test_staff_export_every_customer_or_one(customer, other_customer, portal_client, staff):
    make_history(customer, 3)
    make_history(other_customer, 2, token="globex")
    client = portal_client(staff)
    everyone = client.get(HISTORY, CSV)
    assert "all-customers" in everyone["Content-Disposition"]
    assert len(exported(everyone)) == 6
    one = client.get(HISTORY, {"customer": "globex", **CSV})
    assert "history-globex-" in one["Content-Disposition"]
    assert {row[3] for row in exported(one)[1:]} == {"globex"}


@pytest.mark.django_db
def test_the_export_reads_rows_a_chunk_at_a_time(customer, portal_client, viewer, monkeypatch):
    """The rows come from a database cursor in chunks (values_list().iterator()), so a
    million rows never sit in memory at once; bench/reports.py measures the memory."""
    from reports import lists

    make_history(customer, 25)
    monkeypatch.setattr(lists, "CSV_CHUNK_SIZE", 10)
    seen = []
    real = type(History.objects.all()).iterator

    def spy(self, chunk_size=None):
        seen.append(chunk_size)
        return real(self, chunk_size=chunk_size)

    monkeypatch.setattr(type(History.objects.all()), "iterator", spy)
    assert len(exported(portal_client(viewer).get(HISTORY, CSV))) == 26
    assert seen == [10]


@pytest.mark.django_db
def test_the_page_and_its_csv_button_carry_the_filters(customer, portal_client, viewer):
    make_history(customer, 3)
    body = portal_client(viewer).get(HISTORY, {"result": "OK", "q": "tok"}).content.decode()
    assert 'href="?result=OK&amp;q=tok&amp;format=csv"' in body


# --- The other lists -------------------------------------------------------------------


@pytest.fixture
def catalog(customer, other_customer):
    bootstrap = BootstrapFactory(customer=customer, name="=Boot", parameters={"a": 1})
    TokenFactory(customer=customer, bootstrap=bootstrap, value="ACME-TOKEN-1", description="+x")
    TokenFactory(customer=other_customer, value="GLOBEX-TOKEN-1")
    site = SiteFactory(customer=customer, name="North")
    DeviceFactory(customer=customer, device_id="TC52_1", site=site)
    DeviceFactory(customer=customer, device_id="-TC52_2")
    DeviceFactory(customer=other_customer, device_id="GLOBEX_DEVICE")
    UserFactory(customer=customer, username="csvuser", name="@name")
    category, _ = category_save(
        customer=customer, user=None, name="Desk", bootstrap=bootstrap, is_provisioning=True
    )
    software_job_create(customer=customer, user=None, category=category, firmware={"v": "13r1"})
    config_job_create(
        customer=customer,
        user=None,
        category=category,
        config_type="ntp",
        parameters={"server": "ntp.example"},
    )
    return bootstrap


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "query", "header", "expected"),
    [
        ("provisioning:token_list", {}, "Token", {"ACME-TOKEN-1"}),
        ("provisioning:token_list", {"q": "nomatch"}, "Token", set()),
        ("provisioning:bootstrap_list", {}, "Name", {"'=Boot"}),
        ("devices:device_list", {}, "Device ID", {"TC52_1", "'-TC52_2"}),
        ("devices:device_list", {"site": "North"}, "Device ID", {"TC52_1"}),
        ("devices:site_list", {}, "Name", {"North"}),
        ("accounts:user_list", {"q": "csvuser"}, "Login Name", {"csvuser"}),
        ("phones:category_list", {}, "Name", {"Desk"}),
        ("phones:job_list", {}, "Firmware (JSON)", {'{"v": "13r1"}'}),
        ("phones:job_list", {"kind": "config"}, "Config type", {"ntp"}),
    ],
)
def test_each_list_exports_its_filtered_rows(
    catalog, portal_client, super_admin, url, query, header, expected
):
    client = portal_client(super_admin)
    page = client.get(reverse(url), query)
    assert "format=csv" in page.content.decode()  # the button
    rows = exported(client.get(reverse(url), {**query, **CSV}))
    column = rows[0].index(header)
    assert {row[column] for row in rows[1:]} == expected
    assert "GLOBEX" not in str(rows)


@pytest.mark.django_db
def test_the_users_csv_escapes_and_shows_roles(catalog, portal_client, super_admin):
    rows = exported(portal_client(super_admin).get(reverse("accounts:user_list"), CSV))
    by_login = {row[2]: row for row in rows[1:]}
    assert by_login["csvuser"][:2] == ["User", "'@name"]
    assert by_login["sam"][0] == "Super-Admin"


@pytest.mark.django_db
def test_rollouts_export(catalog, portal_client, super_admin, viewer, customer):
    category = Category.objects.get(customer=customer)
    rollout_create(customer=customer, user=super_admin, category=category, users=[viewer])
    rows = exported(portal_client(super_admin).get(reverse("phones:rollout_list"), CSV))
    assert rows[0] == ["Created", "Category", "Phone app", "Created by", "Codes", "Registered"]
    assert rows[1][1:] == ["Desk", "", "sam", "1", "0"]


@pytest.mark.django_db
def test_a_role_without_the_area_gets_no_export(catalog, portal_client, admin, viewer):
    assert portal_client(admin).get(reverse("accounts:user_list"), CSV).status_code == 403
    assert portal_client(viewer).get(reverse("licensing:summary"), CSV).status_code == 403
