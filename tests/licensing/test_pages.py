"""Licenses > Summary and Licenses > Assigned: scope (own customer, staff's all-customers
view and customer filter, the outsider), roles, Total Used, use status, filters, CSV
exports, query counts, Sync now, and the Licenses section of a device's page."""

import csv
import html
import io
import re
from datetime import timedelta

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time
from kombu.exceptions import OperationalError

from devices.models import Device
from licensing import tasks
from licensing.models import Assignment, Entitlement, EntitlementState, LicenseType
from reports.models import Event
from tests.devices.factories import devices_bulk
from tests.factories import CustomerFactory, StaffFactory

SUMMARY = reverse("licensing:summary")
SYNC = reverse("licensing:summary_sync")
ASSIGNED = reverse("licensing:assigned")
# The lists export CSV with ?format=csv.
CSV = {"format": "csv"}


def assign(entitlement, device, *, feature="CUCM", released=False, last_contact=None, **fields):
    """An assignment row written directly (the rules that make them are tested in
    test_assign), counted in its line's `used` as licensing.services does; `released`
    gives the license back now."""
    assignment = Assignment.objects.create(
        customer=entitlement.customer,
        entitlement=entitlement,
        device=device,
        license_type=entitlement.license_type,
        feature=feature,
        last_contact=last_contact or timezone.now(),
        released_at=timezone.now() if released else None,
        **fields,
    )
    if not released:
        Entitlement.objects.filter(pk=entitlement.pk).update(used=F("used") + 1)
    return assignment


def assign_bulk(entitlement, devices, *, feature="CUCM") -> list[Assignment]:
    now = timezone.now()
    Entitlement.objects.filter(pk=entitlement.pk).update(used=F("used") + len(devices))
    return Assignment.objects.bulk_create(
        Assignment(
            customer=entitlement.customer,
            entitlement=entitlement,
            device=device,
            license_type=entitlement.license_type,
            feature=feature,
            app_version="20406",
            last_contact=now,
        )
        for device in devices
    )


def text_of(markup: str) -> str:
    """What a reader sees: the markup without its tags and entities, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def row_text(response, prefix: str, obj) -> str:
    body = response.content.decode()
    row = body.split(f'id="{prefix}-{obj.pk}"', 1)[1].split(">", 1)[1]
    return text_of(row.split("</tr>", 1)[0])


def rows(response) -> list:
    return list(response.context["object_list"])


def csv_rows(response) -> list[list[str]]:
    assert response.streaming
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(content)))


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def theirs(other_customer, make_entitlement):
    """The other customer's entitlement, with a license on one of its devices."""
    entitlement = make_entitlement(owner=other_customer, activation_id="THEIRS-aid-00099999")
    device = Device.objects.create(customer=other_customer, device_id="THEIRS_1")
    assign(entitlement, device)
    return entitlement


# --- Scope and roles -------------------------------------------------------------------


@pytest.mark.django_db
def test_super_admin_sees_only_this_customers_licenses(
    portal_client, super_admin, make_entitlement, make_device, theirs
):
    ours = make_entitlement(activation_id="OURS-aid-000011111")
    assign(ours, make_device("OURS_1"))
    client = portal_client(super_admin)

    response = client.get(SUMMARY)
    assert response.status_code == 200
    assert rows(response) == [ours]
    body = response.content.decode()
    assert "***000011111" in body
    assert "***000099999" not in body
    assert "Globex" not in body
    assert "1 record(s) found" in body
    # Portal users get no customer filter, and ?customer= does not widen their view.
    assert 'name="customer"' not in body
    assert rows(client.get(SUMMARY, {"customer": "globex"})) == [ours]

    response = client.get(ASSIGNED)
    assert [a.device.device_id for a in rows(response)] == ["OURS_1"]
    assert "THEIRS_1" not in response.content.decode()
    assert [a.device.device_id for a in rows(client.get(ASSIGNED, {"customer": "globex"}))] == [
        "OURS_1"
    ]


@pytest.mark.django_db
def test_outsider_sees_none_of_this_customers_rows(
    portal_client, outsider, customer, make_entitlement, make_device, theirs
):
    ours = make_entitlement(activation_id="OURS-aid-000011111")
    assign(ours, make_device("OURS_1"))
    client = portal_client(outsider)
    for url in (SUMMARY, ASSIGNED):
        response = client.get(url, {"customer": customer.slug})
        body = response.content.decode()
        assert response.status_code == 200
        assert "OURS_1" not in body and "***000011111" not in body
        assert customer.name not in body
    assert rows(client.get(SUMMARY)) == [theirs]
    for url in (SUMMARY, ASSIGNED):
        exported = csv_rows(client.get(url, {**CSV, "customer": customer.slug}))
        flat = ",".join(",".join(line) for line in exported)
        assert "OURS_1" not in flat and "***000011111" not in flat
        assert customer.name not in flat
        assert {line[0] for line in exported[1:]} == {"Globex"}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_admin_and_user_do_not_have_licenses(request, portal_client, role, make_entitlement):
    make_entitlement()
    client = portal_client(request.getfixturevalue(role))
    for url in (SUMMARY, ASSIGNED):
        # The area is refused with a page that says so (the menu never links there).
        assert client.get(url).status_code == 403, url
        assert client.get(url, CSV).status_code == 403, url
    assert client.post(SYNC).status_code == 403


@pytest.mark.django_db
def test_staff_see_every_customer_and_filter_by_one(
    portal_client, staff, customer, other_customer, make_entitlement, make_device, theirs
):
    ours = make_entitlement(activation_id="OURS-aid-000011111")
    assign(ours, make_device("OURS_1"))
    client = portal_client(staff)

    response = client.get(SUMMARY, {"ordering": "customer"})
    assert rows(response) == [ours, theirs]  # Acme Logistics, Globex
    body = response.content.decode()
    assert '<option value="">All customers</option>' in body
    assert '<option value="globex">Globex</option>' in body

    response = client.get(SUMMARY, {"customer": "globex"})
    assert rows(response) == [theirs]
    assert '<option value="globex" selected>Globex</option>' in response.content.decode()
    response = client.get(ASSIGNED, {"customer": "globex"})
    assert [a.device.device_id for a in rows(response)] == ["THEIRS_1"]
    assert sorted(a.device.device_id for a in rows(client.get(ASSIGNED))) == [
        "OURS_1",
        "THEIRS_1",
    ]

    # An unknown customer lists nothing, never everything.
    response = client.get(SUMMARY, {"customer": "nobody"})
    assert rows(response) == []
    assert "there is no customer “nobody”" in response.content.decode()


@pytest.mark.django_db
def test_staff_need_not_pick_a_customer_first(client, staff, make_entitlement):
    entitlement = make_entitlement()
    client.force_login(staff)  # no acting customer in the session
    response = client.get(SUMMARY)
    assert response.status_code == 200
    assert rows(response) == [entitlement]
    # Sync now needs a customer: there is none to name yet.
    assert "Sync now" not in response.content.decode()


# --- Summary ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_summary_row(portal_client, super_admin, make_entitlement, make_device):
    entitlement = make_entitlement(
        activation_id="4a7c9e11-0b2d-4e295-c6d1e295c6", total=20, term="1 Year Term"
    )
    assign(entitlement, make_device("TC52_1"))
    response = portal_client(super_admin).get(SUMMARY)
    text = row_text(response, "entitlement", entitlement)
    assert text.startswith("Acme Logistics Active Standard ***6d1e295c6 1 Year Term 20 1 ")
    assert entitlement.expiration.strftime("%Y-%m-%d %H:%M") in text
    assert "not verified yet" in text
    assert entitlement.created.strftime("%Y-%m-%d %H:%M") in text
    # The full activation ID is never on the page.
    assert "4a7c9e11" not in response.content.decode()


@pytest.mark.django_db
def test_total_used_counts_only_live_assignments(
    portal_client, super_admin, make_entitlement, make_device
):
    busy = make_entitlement(total=10)
    quiet = make_entitlement(total=10)
    for n in range(3):
        assign(busy, make_device(f"LIVE_{n}"))
    for n in range(2):
        assign(busy, make_device(f"GONE_{n}"), released=True)
    assign(quiet, make_device("GONE_X"), released=True)
    response = portal_client(super_admin).get(SUMMARY, {"ordering": "-totalUsed"})
    assert [(e.pk, e.used) for e in rows(response)] == [(busy.pk, 3), (quiet.pk, 0)]


@pytest.mark.django_db
def test_summary_filters_search_and_sort(portal_client, super_admin, make_entitlement):
    trial = make_entitlement(activation_id="SECRETPREFIX-aid-0000aaaa1", term="Trial", days=30)
    premium = make_entitlement(
        activation_id="OTHERPREFIX-aid-0000bbbb2",
        term="5 Year Term",
        license_type=LicenseType.PREMIUM,
        days=300,
    )
    expired = make_entitlement(
        activation_id="OLDPREFIX-aid-0000cccc3",
        term="1 Year Term",
        days=-5,
        state=EntitlementState.EXPIRED,
    )
    client = portal_client(super_admin)

    def pks(**params):
        return [e.pk for e in rows(client.get(SUMMARY, params))]

    assert pks() == [expired.pk, trial.pk, premium.pk]  # soonest expiration first
    assert pks(state="expired") == [expired.pk]
    assert pks(licenseType="premium") == [premium.pk]
    assert pks(q="trial") == [trial.pk]
    assert pks(q="bbbb2") == [premium.pk]
    assert pks(q="***0cccc3") == [expired.pk]  # a masked AID, pasted
    # Only the visible part of an activation ID is searched: the rest stays secret.
    assert pks(q="SECRETPREFIX") == []
    assert pks(ordering="-expiration") == [premium.pk, trial.pk, expired.pk]
    assert pks(ordering="term") == [expired.pk, premium.pk, trial.pk]
    assert pks(ordering="license") == [premium.pk, trial.pk, expired.pk]
    for column in ("customer", "state", "aid", "totalPurchased", "verified", "created"):
        assert sorted(pks(ordering=column)) == sorted(pks()), column
    response = client.get(SUMMARY, {"ordering": "activation_id"})
    assert rows(response) == []
    assert "ordering:" in response.content.decode()


@pytest.mark.django_db
def test_summary_empty_states(portal_client, super_admin, staff, make_entitlement):
    body = portal_client(super_admin).get(SUMMARY).content.decode()
    assert "No licenses yet — they appear after the nightly sync with the entitlement back end" in (
        body
    )
    assert "Sync now" not in body
    make_entitlement(term="Trial")
    body = portal_client(super_admin).get(SUMMARY, {"q": "nothing"}).content.decode()
    assert "No licenses match" in body


# --- Assigned --------------------------------------------------------------------------


@pytest.mark.django_db
def test_use_status(portal_client, super_admin, customer, make_entitlement, make_device, settings):
    settings.LICENSE_RELEASE_DAYS = 30
    start = timezone.now()
    standard = make_entitlement()
    premium = make_entitlement(license_type=LicenseType.PREMIUM)
    with freeze_time(start):
        in_use = assign(standard, make_device("ACTIVE"))
        released = assign(standard, make_device("RELEASED"), released=True)
        held = assign(premium, make_device("SILENT_PREMIUM"), feature="CUCM Premium")
        silent_standard = assign(standard, make_device("SILENT_STANDARD"))
        checked_in = assign(premium, make_device("CHECKED_IN"), feature="Aura Premium")
    # The device checked in recently although its license was last asked for long ago.
    Device.objects.filter(device_id="CHECKED_IN").update(last_checkin=start + timedelta(days=25))
    Device.objects.filter(device_id__startswith="SILENT").update(last_checkin=start)
    Device.objects.filter(device_id="ACTIVE").update(last_checkin=start + timedelta(days=30))

    # Signed in inside each frozen moment, so the session has not expired there.
    with freeze_time(start + timedelta(days=29)):
        response = portal_client(super_admin).get(ASSIGNED)
        statuses = {a.pk: a.use_status for a in rows(response)}
        assert statuses[held.pk] == "in_use"
    with freeze_time(start + timedelta(days=31)):
        client = portal_client(super_admin)
        response = client.get(ASSIGNED)
    assert {a.pk: (a.license_status, a.use_status) for a in rows(response)} == {
        in_use.pk: ("assigned", "in_use"),
        released.pk: ("unassigned", "not_in_use"),
        held.pk: ("assigned", "held"),
        # Standard: the next release run gives it back.
        silent_standard.pk: ("assigned", "not_in_use"),
        checked_in.pk: ("assigned", "in_use"),
    }
    assert row_text(response, "assignment", in_use).startswith("Acme Logistics Assigned In use ")
    assert row_text(response, "assignment", released).startswith(
        "Acme Logistics Unassigned Not in use "
    )
    assert row_text(response, "assignment", held).startswith(
        "Acme Logistics Assigned Not in use (*) SILENT_PREMIUM CUCM Premium Premium "
    )
    # Sorting by use status groups them.
    with freeze_time(start + timedelta(days=31)):
        ordered = [a.use_status for a in rows(client.get(ASSIGNED, {"ordering": "useStatus"}))]
    assert ordered == sorted(ordered)


@pytest.mark.django_db
def test_assigned_row_links_the_device(portal_client, super_admin, make_entitlement, make_device):
    entitlement = make_entitlement(activation_id="aid-xyz-0000-e295c6d1ab")
    device = make_device("TC52_18304522512397")
    assignment = assign(entitlement, device, app_version="20406")
    response = portal_client(super_admin).get(ASSIGNED)
    body = response.content.decode()
    detail = reverse("gateway:device_detail", args=[device.pk])
    assert f'<a href="{detail}">TC52_18304522512397</a>' in body
    text = row_text(response, "assignment", assignment)
    assert "CUCM Standard" in text
    assert "***e295c6d1ab" not in text and "***295c6d1ab" in text
    assert "20406" in text
    assert entitlement.expiration.strftime("%Y-%m-%d %H:%M") in text
    assert assignment.created.strftime("%Y-%m-%d %H:%M") in text


@pytest.mark.django_db
def test_staff_open_another_customers_device_through_the_switcher(portal_client, staff, theirs):
    device = Device.objects.get(device_id="THEIRS_1")
    body = portal_client(staff).get(ASSIGNED, {"customer": "globex"}).content.decode()
    switch = reverse("accounts:customer_switch")
    detail = reverse("gateway:device_detail", args=[device.pk])
    assert f'href="{switch}?next={detail}"' in body


@pytest.mark.django_db
def test_assigned_filters_and_search(portal_client, super_admin, make_entitlement, make_device):
    standard = make_entitlement()
    premium = make_entitlement(license_type=LicenseType.PREMIUM)
    assign(standard, make_device("TC52_A"), feature="Mitel")
    assign(standard, make_device("TC52_B"), feature="Asterisk", released=True)
    assign(premium, make_device("EC30_C"), feature="CME Premium")
    client = portal_client(super_admin)

    def devices(**params):
        return sorted(a.device.device_id for a in rows(client.get(ASSIGNED, params)))

    assert devices(license="assigned") == ["EC30_C", "TC52_A"]
    assert devices(license="unassigned") == ["TC52_B"]
    assert devices(licenseType="premium") == ["EC30_C"]
    assert devices(feature="Mitel") == ["TC52_A"]
    assert devices(q="tc52") == ["TC52_A", "TC52_B"]
    assert devices(q="asterisk") == ["TC52_B"]
    assert devices(q="tc52", license="assigned") == ["TC52_A"]
    response = client.get(ASSIGNED, {"ordering": "-deviceId"})
    assert [a.device.device_id for a in rows(response)] == ["TC52_B", "TC52_A", "EC30_C"]
    for column in (
        "customer",
        "license",
        "feature",
        "expiration",
        "aid",
        "appVersion",
        "updated",
        "created",
    ):
        assert len(rows(client.get(ASSIGNED, {"ordering": column}))) == 3, column


@pytest.mark.django_db
def test_assigned_empty_state(portal_client, super_admin):
    body = portal_client(super_admin).get(ASSIGNED).content.decode()
    assert "No licenses assigned yet" in body
    assert "after the nightly sync with the entitlement back end" in body


# --- CSV -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_summary_csv(portal_client, super_admin, make_entitlement, make_device):
    formula = make_entitlement(
        activation_id="FULLSECRET-aid-00000001", term='=HYPERLINK("http://x")', days=10
    )
    plain = make_entitlement(activation_id="FULLSECRET-aid-00000002", term="Trial", days=20)
    make_entitlement(term="@SUM(A1)", license_type=LicenseType.PREMIUM, days=30)
    assign(plain, make_device("TC52_1"))
    response = portal_client(super_admin).get(SUMMARY, {**CSV, "licenseType": "standard"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(
        'attachment; filename="licenses-summary-acme-'
    )
    lines = csv_rows(response)
    assert lines[0] == [
        "Customer",
        "State",
        "License",
        "AID",
        "Term",
        "Total Purchased",
        "Total Used",
        "Expiration",
        "Last verified",
        "Created",
    ]
    # The page's filters and order (soonest expiration first); no premium line.
    assert [line[3] for line in lines[1:]] == ["***-00000001", "***-00000002"]
    assert lines[1][:7] == [
        "Acme Logistics",
        "Active",
        "Standard",
        "***-00000001",
        '\'=HYPERLINK("http://x")',
        "10",
        "0",
    ]
    assert lines[2][6] == "1"
    assert lines[1][7] == timezone.localtime(formula.expiration).isoformat(timespec="seconds")
    assert lines[1][8] == ""  # never verified
    assert "FULLSECRET" not in str(lines)
    premium = csv_rows(portal_client(super_admin).get(SUMMARY, {**CSV, "licenseType": "premium"}))
    assert premium[1][4] == "'@SUM(A1)"


@pytest.mark.django_db
def test_assigned_csv(portal_client, super_admin, make_entitlement, make_device):
    entitlement = make_entitlement(activation_id="FULLSECRET-aid-00000001")
    assign(entitlement, make_device("-TC52_1"), app_version="20406")
    assign(entitlement, make_device("+TC52_2"), released=True)
    response = portal_client(super_admin).get(ASSIGNED, {**CSV, "ordering": "deviceId"})
    lines = csv_rows(response)
    assert lines[0] == [
        "Customer",
        "License",
        "Use Status",
        "Device ID",
        "Feature",
        "License type",
        "Expiration",
        "AID",
        "App Version",
        "Last contact",
        "First assigned",
        "Released",
    ]
    assert [line[:5] for line in lines[1:]] == [
        ["Acme Logistics", "Unassigned", "Not in use", "'+TC52_2", "CUCM"],
        ["Acme Logistics", "Assigned", "In use", "'-TC52_1", "CUCM"],
    ]
    assert {line[7] for line in lines[1:]} == {"***-00000001"}
    assert lines[2][8] == "20406"
    assert lines[2][11] == "" and lines[1][11] != ""
    assert "FULLSECRET" not in str(lines)


@pytest.mark.django_db
def test_csv_refuses_a_bad_filter(portal_client, super_admin):
    response = portal_client(super_admin).get(SUMMARY, {**CSV, "state": "bogus"})
    assert response.status_code == 400
    assert "state:" in response.content.decode()


@pytest.mark.django_db
def test_staff_csv_of_every_customer(portal_client, staff, make_entitlement, theirs):
    make_entitlement()
    response = portal_client(staff).get(SUMMARY, {**CSV, "ordering": "customer"})
    assert 'filename="licenses-summary-all-customers-' in response["Content-Disposition"]
    assert [line[0] for line in csv_rows(response)[1:]] == ["Acme Logistics", "Globex"]


# --- Query counts ----------------------------------------------------------------------


def licensed_fleet(customer, count, make_entitlement):
    """`count` devices of `customer`, each holding a license of one of three lines."""
    entitlements = [make_entitlement(total=count, owner=customer) for _ in range(3)]
    devices = devices_bulk(customer, count, prefix=f"{customer.slug.upper()}")
    for n, entitlement in enumerate(entitlements):
        assign_bulk(entitlement, devices[n::3])
    return entitlements


@pytest.mark.django_db
@pytest.mark.parametrize("count", [30, 300])
def test_page_query_counts_are_constant(
    portal_client,
    super_admin,
    staff,
    customer,
    other_customer,
    make_entitlement,
    count,
    django_assert_num_queries,
):
    # Twenty more lines, so the Summary fills its page too.
    for _ in range(count // 15):
        make_entitlement()
    licensed_fleet(customer, count, make_entitlement)
    licensed_fleet(other_customer, 5, make_entitlement)
    client = portal_client(super_admin)
    # Session, user, customer, COUNT(*), the page (customer joined, used counted), the
    # month's direct additions (customer details).
    with django_assert_num_queries(6):
        response = client.get(SUMMARY, {"ordering": "-totalUsed"})
    assert len(rows(response)) == min(count // 15 + 3, 25)
    # Session, user, customer, COUNT(*), the page (customer, device and entitlement
    # joined), the direct additions.
    with django_assert_num_queries(6):
        response = client.get(ASSIGNED, {"pageSize": 200, "ordering": "useStatus"})
    assert len(rows(response)) == min(count, 200)

    client = portal_client(staff)
    # Staff: as above, plus the customers of the customer filter.
    with django_assert_num_queries(7):
        response = client.get(ASSIGNED, {"pageSize": 200})
    assert len(rows(response)) == min(count + 5, 200)
    with django_assert_num_queries(7):
        client.get(SUMMARY)


@pytest.mark.django_db
@pytest.mark.parametrize("count", [30, 300])
def test_csv_query_count_is_constant(
    portal_client, super_admin, customer, make_entitlement, count, django_assert_num_queries
):
    licensed_fleet(customer, count, make_entitlement)
    client = portal_client(super_admin)
    response = client.get(ASSIGNED, CSV)
    # The rows are read while the response streams: one query, whatever their number.
    with django_assert_num_queries(1):
        lines = csv_rows(response)
    assert len(lines) == count + 1


# --- Sync now --------------------------------------------------------------------------


@pytest.fixture
def queued(monkeypatch, settings):
    """The customers whose sync was queued (the broker is not reached)."""
    settings.LICENSE_BACKEND = "http"
    calls = []
    monkeypatch.setattr(tasks.sync_customer_entitlements, "delay", calls.append)
    return calls


@pytest.mark.django_db
def test_staff_queue_a_sync_for_the_listed_customer(portal_client, staff, other_customer, queued):
    client = portal_client(staff)
    body = client.get(SUMMARY, {"customer": "globex"}).content.decode()
    assert "Sync now: Globex" in body
    response = client.post(SYNC, {"customer": "globex"}, follow=True)
    assert queued == [other_customer.pk]
    assert response.redirect_chain[-1][0] == f"{SUMMARY}?customer=globex"
    assert any(m.startswith("Sync queued for Globex") for m in messages_of(response))
    event = Event.objects.get(type="LICENSE_SYNC_REQUESTED")
    assert (event.customer, event.username) == (other_customer, staff.username)


@pytest.mark.django_db
def test_staff_sync_the_customer_they_act_for_by_default(portal_client, staff, customer, queued):
    client = portal_client(staff)  # acting for Acme
    assert "Sync now: Acme Logistics" in client.get(SUMMARY).content.decode()
    response = client.post(SYNC, follow=True)
    assert queued == [customer.pk]
    assert any(m.startswith("Sync queued") for m in messages_of(response))


@pytest.mark.django_db
def test_a_broker_outage_is_a_message_not_an_error_page(
    portal_client, staff, customer, monkeypatch, settings
):
    settings.LICENSE_BACKEND = "http"

    def down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.sync_customer_entitlements, "delay", down)
    response = portal_client(staff).post(SYNC, follow=True)
    assert response.status_code == 200
    assert messages_of(response) == [
        "Sync of Acme Logistics's licenses not queued: the task queue cannot be reached; "
        "try again in a few minutes."
    ]


@pytest.mark.django_db
def test_no_sync_without_a_back_end(portal_client, staff, monkeypatch, settings):
    settings.LICENSE_BACKEND = ""
    calls = []
    monkeypatch.setattr(tasks.sync_customer_entitlements, "delay", calls.append)
    response = portal_client(staff).post(SYNC, follow=True)
    assert calls == []
    assert "no entitlement back end is configured" in messages_of(response)[0]


@pytest.mark.django_db
def test_only_staff_sync(portal_client, super_admin, outsider, customer, queued):
    client = portal_client(super_admin)
    body = client.get(SUMMARY).content.decode()
    assert "Sync now" not in body
    # A Super-Admin may view licenses but not sync them.
    assert client.post(SYNC).status_code == 403
    assert portal_client(outsider).post(SYNC, {"customer": customer.slug}).status_code == 403
    assert queued == []


@pytest.mark.django_db
def test_sync_is_post_only(client, portal_client, staff, queued):
    assert client.get(SYNC).status_code == 405
    assert portal_client(staff).get(SYNC).status_code == 405
    assert queued == []


@pytest.mark.django_db
def test_sync_of_an_unknown_customer(portal_client, staff, queued):
    response = portal_client(staff).post(SYNC, {"customer": "nobody"}, follow=True)
    assert queued == []
    assert messages_of(response) == ["Choose the customer whose licenses to sync first."]


# --- The device page's Licenses section ------------------------------------------------


@pytest.mark.django_db
def test_device_page_lists_its_licenses(
    portal_client, super_admin, viewer, make_entitlement, make_device
):
    device = make_device("TC52_1")
    other = make_device("TC52_2")
    live = assign(make_entitlement(activation_id="aid-0000-00000000ABC"), device)
    assign(make_entitlement(), device, released=True, feature="Mitel")
    assign(make_entitlement(), other, feature="Rauland")
    url = reverse("gateway:device_detail", args=[device.pk])

    response = portal_client(super_admin).get(url)
    body = response.content.decode()
    section = text_of(body.split('class="card wide device-licenses"', 1)[1].split("</section>")[0])
    assert "Licenses License Type Feature Expiration AID" in section
    assert "Assigned Standard CUCM" in section
    assert "Unassigned Standard Mitel" in section
    assert "Rauland" not in section
    assert "***000000ABC" in section
    assert live.entitlement.expiration.strftime("%Y-%m-%d %H:%M") in section
    assert f'{ASSIGNED}?q=TC52_1"' in body

    # Users may not view licenses: the section is not there.
    body = portal_client(viewer).get(url).content.decode()
    assert "device-licenses" not in body
    assert "***000000ABC" not in body


@pytest.mark.django_db
def test_device_page_without_licenses(portal_client, super_admin, make_device):
    device = make_device("TC52_1")
    body = portal_client(super_admin).get(reverse("gateway:device_detail", args=[device.pk]))
    assert "This device holds no licenses yet." in body.content.decode()


@pytest.mark.django_db
def test_customer_names_are_escaped_in_the_filter(portal_client, staff):
    CustomerFactory(name="<b>Evil</b>", slug="evil")
    body = portal_client(staff).get(SUMMARY).content.decode()
    assert "<b>Evil</b>" not in body
    assert "&lt;b&gt;Evil&lt;/b&gt;" in body


@pytest.mark.django_db
def test_export_link_keeps_the_filters(portal_client, super_admin, make_entitlement):
    make_entitlement(term="Trial")
    body = portal_client(super_admin).get(SUMMARY, {"q": "trial"}).content.decode()
    assert 'href="?q=trial&amp;format=csv"' in body


# --- Django admin ----------------------------------------------------------------------


@pytest.fixture
def superuser(db):
    return StaffFactory(username="root", is_superuser=True)


@pytest.mark.django_db
def test_admin_action_queues_a_sync_per_active_customer(
    client, superuser, customer, other_customer, queued
):
    dormant = CustomerFactory(name="Dormant", slug="dormant", is_active=False)
    client.force_login(superuser)
    response = client.post(
        reverse("admin:accounts_customer_changelist"),
        {
            "action": "sync_entitlements_now",
            "_selected_action": [customer.pk, other_customer.pk, dormant.pk],
        },
        follow=True,
    )
    assert queued == [customer.pk, other_customer.pk]  # by name; the inactive one skipped
    assert messages_of(response) == [
        "Sync queued for Acme Logistics, Globex.",
        "1 inactive customer(s) skipped.",
    ]


@pytest.mark.django_db
def test_admin_action_reports_a_broker_outage(client, superuser, customer, monkeypatch, settings):
    settings.LICENSE_BACKEND = "http"

    def down(*args, **kwargs):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(tasks.sync_customer_entitlements, "delay", down)
    client.force_login(superuser)
    response = client.post(
        reverse("admin:accounts_customer_changelist"),
        {"action": "sync_entitlements_now", "_selected_action": [customer.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert messages_of(response) == [
        "Sync of Acme Logistics not queued: the task queue cannot be reached; "
        "try again in a few minutes."
    ]


@pytest.mark.django_db
def test_entitlement_and_assignment_admin_are_read_only(
    client, superuser, make_entitlement, make_device
):
    entitlement = make_entitlement(activation_id="FIND-ME-4c3b-8e21-e295c6d1")
    assignment = assign(entitlement, make_device("TC52_1"))
    make_entitlement(activation_id="OTHER-4c3b-8e21-e295c6d1")
    client.force_login(superuser)
    response = client.get(reverse("admin:licensing_entitlement_changelist"), {"q": "find-me"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [entitlement]
    assert response.context["cl"].result_list[0].used == 1
    change = client.get(reverse("admin:licensing_entitlement_change", args=[entitlement.pk]))
    assert change.status_code == 200
    assert 'name="_save"' not in change.content.decode()
    response = client.get(reverse("admin:licensing_assignment_changelist"), {"q": "TC52_1"})
    assert list(response.context["cl"].result_list) == [assignment]
    assert client.get(reverse("admin:licensing_assignment_add")).status_code == 403
