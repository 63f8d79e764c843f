"""GET /admin/api/v1/licenses/summary and /assigned, POST /admin/api/v1/licenses/sync:
scope, roles, fields, filters, query counts and queueing."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time
from kombu.exceptions import OperationalError

from devices.models import Device
from licensing import tasks
from licensing.models import EntitlementState, LicenseType
from tests.licensing.test_pages import assign, licensed_fleet

SUMMARY = "/admin/api/v1/licenses/summary"
ASSIGNED = "/admin/api/v1/licenses/assigned"
SYNC = "/admin/api/v1/licenses/sync"


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


@pytest.fixture
def licensed(customer, other_customer, make_entitlement, make_device):
    """One line and one licensed device for each of the two customers."""
    ours = make_entitlement(activation_id="OURS-aid-000011111", total=5)
    assign(ours, make_device("OURS_1"), app_version="20406")
    assign(ours, make_device("OURS_2"), released=True)
    theirs = make_entitlement(owner=other_customer, activation_id="THEIRS-aid-000099999")
    assign(theirs, Device.objects.create(customer=other_customer, device_id="THEIRS_1"))
    return ours, theirs


# --- Summary ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_summary_lists_this_customers_lines(api_client, super_admin, licensed):
    ours, _ = licensed
    rows = results(api_client(super_admin).get(SUMMARY))
    assert rows == [
        {
            "id": ours.pk,
            "customer": "acme",
            "customerName": "Acme Logistics",
            "state": "active",
            "licenseType": "standard",
            "activationId": "***000011111",
            "term": "1 Year Term",
            "totalPurchased": 5,
            "totalUsed": 1,  # the released license does not count
            "expiration": rows[0]["expiration"],
            "verifiedAt": None,
            "created": rows[0]["created"],
            "updated": rows[0]["updated"],
        }
    ]
    assert rows[0]["expiration"].startswith(ours.expiration.strftime("%Y-%m-%dT%H:%M"))


@pytest.mark.django_db
def test_outsider_gets_none_of_this_customers_rows(api_client, outsider, customer, licensed):
    api = api_client(outsider)
    for url in (SUMMARY, ASSIGNED):
        # ?customer= is for staff; anyone else always gets their own customer's rows.
        rows = results(api.get(url, {"customer": customer.slug}))
        assert {row["customer"] for row in rows} == {"globex"}
        assert "OURS" not in str(rows) and "***000011111" not in str(rows)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_admin_and_user_get_404(request, api_client, role, licensed, monkeypatch):
    calls = []
    monkeypatch.setattr(tasks.sync_customer_entitlements, "delay", calls.append)
    api = api_client(request.getfixturevalue(role))
    assert api.get(SUMMARY).status_code == 404
    assert api.get(ASSIGNED).status_code == 404
    assert api.post(SYNC).status_code == 404
    assert calls == []


@pytest.mark.django_db
def test_anonymous_get_401(api_client):
    assert api_client().get(SUMMARY).status_code == 401
    assert api_client().get(ASSIGNED).status_code == 401


@pytest.mark.django_db
def test_staff_list_every_customer_or_name_one(api_client, staff, licensed):
    api = api_client(staff)
    rows = results(api.get(SUMMARY, {"ordering": "customer"}))
    assert [row["customer"] for row in rows] == ["acme", "globex"]
    assert [row["customer"] for row in results(api.get(SUMMARY, {"customer": "globex"}))] == [
        "globex"
    ]
    assert sorted(row["deviceId"] for row in results(api.get(ASSIGNED))) == [
        "OURS_1",
        "OURS_2",
        "THEIRS_1",
    ]
    assert [row["deviceId"] for row in results(api.get(ASSIGNED, {"customer": "globex"}))] == [
        "THEIRS_1"
    ]
    response = api.get(SUMMARY, {"customer": "nobody"})
    assert response.status_code == 400
    assert response.json() == {"customer": ["no customer with slug 'nobody'"]}


@pytest.mark.django_db
def test_summary_filters_and_ordering(api_client, super_admin, make_entitlement):
    trial = make_entitlement(term="Trial", days=30)
    premium = make_entitlement(term="5 Year Term", license_type=LicenseType.PREMIUM, days=60)
    api = api_client(super_admin)

    def ids(**params):
        return [row["id"] for row in results(api.get(SUMMARY, params))]

    assert ids() == [trial.pk, premium.pk]
    assert ids(licenseType="premium") == [premium.pk]
    assert ids(q="trial") == [trial.pk]
    assert ids(state="expired") == []
    assert ids(ordering="-expiration") == [premium.pk, trial.pk]
    assert api.get(SUMMARY, {"ordering": "activation_id"}).status_code == 400


# --- Assigned --------------------------------------------------------------------------


@pytest.mark.django_db
def test_assigned_rows(api_client, super_admin, licensed):
    rows = results(api_client(super_admin).get(ASSIGNED, {"ordering": "deviceId"}))
    assert [(r["deviceId"], r["license"], r["useStatus"]) for r in rows] == [
        ("OURS_1", "assigned", "in_use"),
        ("OURS_2", "unassigned", "not_in_use"),
    ]
    first = rows[0]
    assert set(first) == {
        "id",
        "customer",
        "customerName",
        "license",
        "useStatus",
        "deviceId",
        "licenseType",
        "feature",
        "expiration",
        "activationId",
        "appVersion",
        "lastContact",
        "created",
        "releasedAt",
    }
    assert first["activationId"] == "***000011111"
    assert (first["feature"], first["licenseType"], first["appVersion"]) == (
        "CUCM",
        "standard",
        "20406",
    )
    assert first["releasedAt"] is None and rows[1]["releasedAt"] is not None


@pytest.mark.django_db
def test_use_status_of_a_silent_premium_device(
    api_client, super_admin, make_entitlement, make_device, settings
):
    settings.LICENSE_RELEASE_DAYS = 30
    start = timezone.now()
    with freeze_time(start):
        assign(
            make_entitlement(license_type=LicenseType.PREMIUM),
            make_device("SILENT"),
            feature="CME Premium",
        )
        assign(make_entitlement(), make_device("SILENT_STANDARD"))
    with freeze_time(start + timedelta(days=30, seconds=1)):
        rows = results(api_client(super_admin).get(ASSIGNED, {"ordering": "deviceId"}))
    assert [(r["deviceId"], r["license"], r["useStatus"]) for r in rows] == [
        ("SILENT", "assigned", "held"),
        ("SILENT_STANDARD", "assigned", "not_in_use"),
    ]


@pytest.mark.django_db
def test_assigned_filters(api_client, super_admin, licensed, make_entitlement, make_device):
    assign(
        make_entitlement(license_type=LicenseType.PREMIUM),
        make_device("EC30_P"),
        feature="Aura Premium",
    )
    api = api_client(super_admin)

    def devices(**params):
        return sorted(row["deviceId"] for row in results(api.get(ASSIGNED, params)))

    assert devices(license="assigned") == ["EC30_P", "OURS_1"]
    assert devices(license="unassigned") == ["OURS_2"]
    assert devices(licenseType="premium") == ["EC30_P"]
    assert devices(feature="Aura Premium") == ["EC30_P"]
    assert devices(q="ours") == ["OURS_1", "OURS_2"]
    assert api.get(ASSIGNED, {"feature": "Nokia"}).status_code == 400


# --- Query counts ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("count", [30, 300])
def test_list_query_counts_are_constant(
    api_client,
    super_admin,
    staff,
    customer,
    other_customer,
    make_entitlement,
    count,
    django_assert_num_queries,
):
    for _ in range(count // 15):
        make_entitlement()
    licensed_fleet(customer, count, make_entitlement)
    licensed_fleet(other_customer, 5, make_entitlement)
    api = api_client(super_admin)
    # User (bearer token), customer, COUNT(*), the page (customer joined, used counted).
    with django_assert_num_queries(4):
        rows = results(api.get(SUMMARY, {"pageSize": 500, "ordering": "-totalUsed"}))
    assert len(rows) == count // 15 + 3
    # User, customer, COUNT(*), the page (customer, device and entitlement joined).
    with django_assert_num_queries(4):
        rows = results(api.get(ASSIGNED, {"pageSize": 500, "ordering": "useStatus"}))
    assert len(rows) == count
    # Staff, every customer: user, COUNT(*), the page; no customer to look up.
    api = api_client(staff)
    with django_assert_num_queries(3):
        rows = results(api.get(ASSIGNED, {"pageSize": 500}))
    assert len(rows) == count + 5
    with django_assert_num_queries(3):
        results(api.get(SUMMARY, {"pageSize": 500}))


# --- Sync ------------------------------------------------------------------------------


@pytest.fixture
def queued(monkeypatch, settings):
    settings.LICENSE_BACKEND = "http"
    calls = []
    monkeypatch.setattr(tasks.sync_customer_entitlements, "delay", calls.append)
    return calls


@pytest.mark.django_db
def test_staff_queue_a_sync(api_client, staff, other_customer, queued):
    response = api_client(staff).post(f"{SYNC}?customer=globex")
    assert response.status_code == 202
    assert response.json() == {"queued": True, "customer": "globex"}
    assert queued == [other_customer.pk]


@pytest.mark.django_db
def test_staff_name_the_customer_to_sync(api_client, staff, queued):
    response = api_client(staff).post(SYNC)
    assert response.status_code == 400
    assert "customer" in response.json()
    assert queued == []


@pytest.mark.django_db
def test_super_admins_may_view_but_not_sync(api_client, super_admin, outsider, queued):
    assert api_client(super_admin).post(SYNC).status_code == 403
    assert api_client(outsider).post(f"{SYNC}?customer=acme").status_code == 403
    assert queued == []


@pytest.mark.django_db
def test_sync_is_post_only(api_client, staff, queued):
    assert api_client().get(SYNC).status_code == 405
    assert api_client(staff).get(f"{SYNC}?customer=acme").status_code == 405
    assert queued == []


@pytest.mark.django_db
def test_broker_outage_is_503(api_client, staff, customer, monkeypatch, settings):
    settings.LICENSE_BACKEND = "http"

    def down(*args, **kwargs):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(tasks.sync_customer_entitlements, "delay", down)
    response = api_client(staff).post(f"{SYNC}?customer=acme")
    assert response.status_code == 503
    assert response.json() == {
        "error": "not_queued",
        "detail": "the task queue cannot be reached; try again in a few minutes",
    }


@pytest.mark.django_db
def test_no_sync_without_a_back_end(api_client, staff, customer, monkeypatch, settings):
    settings.LICENSE_BACKEND = ""
    calls = []
    monkeypatch.setattr(tasks.sync_customer_entitlements, "delay", calls.append)
    response = api_client(staff).post(f"{SYNC}?customer=acme")
    assert response.status_code == 503
    assert "no entitlement back end" in response.json()["detail"]
    assert calls == []


@pytest.mark.django_db
def test_a_line_past_its_expiration_is_expired_at_once_everywhere(
    api_client, portal_client, super_admin, make_entitlement
):
    """Before the daily job records it, the pages and the API already say Expired."""
    line = make_entitlement(days=0, activation_id="aid-past-4c3b-8e21-e295c6d1")
    line.expiration = timezone.now() - timedelta(minutes=1)
    line.save()
    assert line.state == EntitlementState.ACTIVE  # the stored state, not yet updated
    api = api_client(super_admin)
    rows = api.get(SUMMARY).json()["results"]
    assert [row["state"] for row in rows] == ["expired"]
    assert api.get(SUMMARY, {"state": "expired"}).json()["count"] == 1
    assert api.get(SUMMARY, {"state": "active"}).json()["count"] == 0
    page = portal_client(super_admin).get(reverse("licensing:summary")).content.decode()
    assert '<span class="badge expired">Expired</span>' in page
    csv_text = b"".join(
        portal_client(super_admin).get(reverse("licensing:summary"), {"format": "csv"})
    ).decode()
    assert ",Expired," in csv_text
