"""The devices admin API: list, one device by ID, DELETE (obsolete) and mergeProvider."""

from urllib.parse import quote

import pytest
from django.contrib.auth.hashers import check_password

from devices.models import Device, DeviceKind, DeviceState, SiteStatus
from devices.services import direct_additions_this_month
from reports.models import AppId, Event
from tests.devices.factories import DeviceFactory, SiteFactory, devices_bulk

LIST = "/admin/api/v1/devices"
MERGE = "/admin/api/v1/devices/merge"


def one(device_id: str) -> str:
    return f"{LIST}/{quote(device_id, safe='')}"


def device_ids(response):
    return [d["deviceId"] for d in response.json()["results"]]


def merge(api, customer=None, **provider):
    body = {"provider": {"kind": DeviceKind.VENDOR, "company": "acme", **provider}}
    url = MERGE if customer is None else f"{MERGE}?customer={customer}"
    return api.post(url, body, format="json")


# --- List ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_shows_only_this_customers_devices(api_client, viewer, customer, other_customer):
    site = SiteFactory(customer=customer, name="North")
    DeviceFactory(
        customer=customer,
        device_id="TC52_OURS",
        model="TC52",
        os="Android 11",
        app_version="3.3.10200",
        on_site=site,
    )
    DeviceFactory(customer=other_customer, device_id="TC52_THEIRS")
    response = api_client(viewer).get(LIST)
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 1
    [device] = data["results"]
    assert device["deviceId"] == "TC52_OURS"
    assert {k: device[k] for k in ["state", "kind", "model", "os", "appId", "appVersion"]} == {
        "state": "active",
        "kind": "vendor",
        "model": "TC52",
        "os": "Android 11",
        "appId": AppId.PTT_PRO,
        "appVersion": "3.3.10200",
    }
    assert device["site"] == "North"
    assert device["siteStatus"] == "provisioned"
    assert device["version"] == 1
    assert set(device) == {
        "deviceId",
        "state",
        "kind",
        "model",
        "os",
        "appId",
        "appVersion",
        "lastCheckin",
        "site",
        "siteAssignedAt",
        "siteStatus",
        "siteError",
        "addedDirectly",
        "phoneNumber",
        "hasPassword",
        "version",
        "created",
        "updated",
    }


@pytest.mark.django_db
def test_list_filters_sort_and_page(api_client, viewer, customer):
    north = SiteFactory(customer=customer, name="North")
    DeviceFactory(customer=customer, device_id="TC52_A1", on_site=north)
    DeviceFactory(customer=customer, device_id="TC52_A2", state=DeviceState.OBSOLETE)
    DeviceFactory(
        customer=customer,
        device_id="iPhone_B3",
        app_id=AppId.PTT_PRO_IOS,
        site=north,
        site_status=SiteStatus.PENDING,
    )
    api = api_client(viewer)
    assert device_ids(api.get(LIST, {"state": "obsolete"})) == ["TC52_A2"]
    assert device_ids(api.get(LIST, {"q": "tc52", "ordering": "deviceId"})) == [
        "TC52_A1",
        "TC52_A2",
    ]
    assert device_ids(api.get(LIST, {"site": "North", "siteStatus": "pending"})) == ["iPhone_B3"]
    assert device_ids(api.get(LIST, {"siteStatus": "none"})) == ["TC52_A2"]
    assert device_ids(api.get(LIST, {"appId": AppId.PTT_PRO_IOS})) == ["iPhone_B3"]
    assert device_ids(api.get(LIST, {"ordering": "-deviceId"})) == [
        "iPhone_B3",
        "TC52_A2",
        "TC52_A1",
    ]
    bad = api.get(LIST, {"state": "gone"})
    assert bad.status_code == 400
    assert "state" in bad.json()

    page = api.get(LIST, {"ordering": "deviceId", "pageSize": 2, "page": 2}).json()
    assert page["count"] == 3
    assert [d["deviceId"] for d in page["results"]] == ["iPhone_B3"]


@pytest.mark.django_db
@pytest.mark.parametrize("count", [30, 300])
def test_list_query_count_is_constant(
    api_client, viewer, customer, count, django_assert_num_queries
):
    sites = [SiteFactory(customer=customer) for _ in range(count // 10)]
    devices_bulk(customer, count, sites=sites)
    api = api_client(viewer)
    # User (bearer token), customer, COUNT(*), the page joined to its sites.
    with django_assert_num_queries(4):
        response = api.get(LIST, {"pageSize": 500, "ordering": "site"})
    results = response.json()["results"]
    assert len(results) == count
    assert all(d["site"] for d in results)


@pytest.mark.django_db
def test_staff_name_the_customer(api_client, staff, customer, other_customer):
    DeviceFactory(customer=customer, device_id="TC52_ACME")
    DeviceFactory(customer=other_customer, device_id="TC52_GLOBEX")
    api = api_client(staff)
    assert device_ids(api.get(LIST, {"customer": "globex"})) == ["TC52_GLOBEX"]
    assert api.get(LIST).status_code == 400


# --- One device ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("device_id", ["TC52_18304522512397", "Pixel 7,a_TAI1.2", "TC52%2"])
def test_get_one_device_by_its_id(api_client, viewer, customer, device_id):
    DeviceFactory(customer=customer, device_id=device_id)
    DeviceFactory(customer=customer, device_id="TC52_OTHER")
    response = api_client(viewer).get(one(device_id))
    assert response.status_code == 200
    assert response.json()["deviceId"] == device_id


@pytest.mark.django_db
def test_unknown_or_other_customers_device_is_404(api_client, viewer, other_customer):
    DeviceFactory(customer=other_customer, device_id="TC52_THEIRS")
    api = api_client(viewer)
    assert api.get(one("TC52_NONE")).status_code == 404
    assert api.get(one("TC52_THEIRS")).status_code == 404


# --- DELETE: obsolete ------------------------------------------------------------------


@pytest.mark.django_db
def test_super_admin_obsoletes_a_device(api_client, super_admin, customer):
    device = DeviceFactory(customer=customer, device_id="TC52,OLD_1")
    api = api_client(super_admin)
    response = api.delete(one("TC52,OLD_1"))
    assert response.status_code == 204
    device.refresh_from_db()
    assert device.state == DeviceState.OBSOLETE
    event = Event.objects.get(type="DEVICE_OBSOLETED")
    assert (event.customer, event.username) == (customer, "sam")
    # Still listed, as obsolete; a second DELETE changes nothing.
    assert api.get(one("TC52,OLD_1")).json()["state"] == "obsolete"
    assert api.delete(one("TC52,OLD_1")).status_code == 204
    assert Event.objects.filter(type="DEVICE_OBSOLETED").count() == 1


@pytest.mark.django_db
def test_delete_unknown_device_is_404(api_client, super_admin):
    assert api_client(super_admin).delete(one("TC52_NONE")).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin", "viewer"])
def test_admin_and_user_may_not_obsolete(api_client, users, customer, who):
    device = DeviceFactory(customer=customer)
    assert api_client(users[who]).delete(one(device.device_id)).status_code == 403
    device.refresh_from_db()
    assert device.state == DeviceState.ACTIVE
    assert not Event.objects.filter(type="DEVICE_OBSOLETED").exists()


@pytest.mark.django_db
def test_outsider_cannot_obsolete(api_client, outsider, customer):
    device = DeviceFactory(customer=customer)
    assert api_client(outsider).delete(one(device.device_id)).status_code == 404
    device.refresh_from_db()
    assert device.state == DeviceState.ACTIVE


# --- Merge -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_merge_without_v_adds_a_device(api_client, super_admin, customer):
    response = merge(
        api_client(super_admin),
        kind=DeviceKind.THIRD_PARTY_ANDROID,
        id="Pixel7_TAIabc,1",
        password="s3cret",
        phoneNumber="+1 555 0100",
    )
    assert response.status_code == 201
    data = response.json()
    assert data["deviceId"] == "Pixel7_TAIabc,1"
    assert data["kind"] == "third_party_android"
    assert data["addedDirectly"] is True
    assert data["phoneNumber"] == "+1 555 0100"
    assert data["hasPassword"] is True
    assert data["version"] == 1
    assert "password" not in data
    device = Device.objects.get(customer=customer, device_id="Pixel7_TAIabc,1")
    assert check_password("s3cret", device.password)
    assert direct_additions_this_month(customer=customer) == 1


@pytest.mark.django_db
def test_merge_company_may_be_the_numeric_id(api_client, super_admin, customer):
    response = merge(api_client(super_admin), company=customer.pk, id="TC52_BYID")
    assert response.status_code == 201


@pytest.mark.django_db
def test_merge_existing_id_without_v_is_409(api_client, super_admin, customer):
    DeviceFactory(customer=customer, device_id="TC52_TAKEN", phone_number="")
    response = merge(api_client(super_admin), id="TC52_TAKEN", phoneNumber="+1 555")
    assert response.status_code == 409
    assert response.json()["error"] == "exists"
    assert "TC52_TAKEN" in response.json()["detail"]
    assert Device.objects.get(device_id="TC52_TAKEN").phone_number == ""
    assert direct_additions_this_month(customer=customer) == 0


@pytest.mark.django_db
def test_merge_with_current_v_updates(api_client, super_admin, customer):
    api = api_client(super_admin)
    created = merge(api, id="TC52_UPD", phoneNumber="+1 555 0100").json()
    response = merge(
        api, id="TC52_UPD", kind=DeviceKind.IOS, phoneNumber="+1 555 0199", v=created["version"]
    )
    assert response.status_code == 200
    data = response.json()
    assert data["version"] == created["version"] + 1
    assert (data["kind"], data["phoneNumber"]) == ("ios", "+1 555 0199")
    device = Device.objects.get(device_id="TC52_UPD")
    assert (device.version, device.kind) == (2, DeviceKind.IOS)
    assert Event.objects.filter(type="DEVICE_UPDATED").count() == 1
    # An update is not an addition.
    assert direct_additions_this_month(customer=customer) == 1


@pytest.mark.django_db
def test_merge_with_stale_v_is_409_and_changes_nothing(api_client, super_admin, customer):
    DeviceFactory(customer=customer, device_id="TC52_STALE", version=3, phone_number="+1 1")
    response = merge(api_client(super_admin), id="TC52_STALE", phoneNumber="+1 2", v=2)
    assert response.status_code == 409
    assert response.json()["error"] == "stale_version"
    assert "now version 3" in response.json()["detail"]
    device = Device.objects.get(device_id="TC52_STALE")
    assert (device.version, device.phone_number) == (3, "+1 1")


@pytest.mark.django_db
def test_merge_with_v_for_an_unknown_device_is_404(api_client, super_admin, customer):
    response = merge(api_client(super_admin), id="TC52_GHOST", v=1)
    assert response.status_code == 404
    assert not Device.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("company", ["globex", "other-id", "no-such-company"])
def test_merge_into_another_company_is_404(
    api_client, super_admin, customer, other_customer, company
):
    if company == "other-id":
        company = other_customer.pk
    DeviceFactory(customer=other_customer, device_id="TC52_THEIRS")
    api = api_client(super_admin)
    assert merge(api, company=company, id="TC52_NEW").status_code == 404
    # Updating their device is no different from naming a company that does not exist.
    assert merge(api, company=company, id="TC52_THEIRS", v=1).status_code == 404
    assert not Device.objects.filter(customer=customer).exists()
    assert Device.objects.get(device_id="TC52_THEIRS").version == 1


@pytest.mark.django_db
def test_merge_bad_kind_is_400_naming_kind(api_client, super_admin):
    response = merge(api_client(super_admin), kind="toaster", id="TC52_X")
    assert response.status_code == 400
    assert list(response.json()) == ["provider"]
    assert list(response.json()["provider"]) == ["kind"]
    assert "toaster" in response.json()["provider"]["kind"][0]
    assert not Device.objects.exists()


@pytest.mark.django_db
def test_merge_missing_id_is_400_naming_id(api_client, super_admin):
    response = api_client(super_admin).post(
        MERGE, {"provider": {"kind": "vendor", "company": "acme"}}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"provider": {"id": ["This field is required."]}}


@pytest.mark.django_db
def test_merge_missing_provider_is_400(api_client, super_admin):
    response = api_client(super_admin).post(MERGE, {"kind": "vendor"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"provider": ["This field is required."]}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("provider", "field"),
    [
        ({"id": "TC52 SPACE"}, "id"),
        ({"id": "NOUNDERSCORE"}, "id"),
        # The guide's _TAI marker belongs to third-party Android devices only.
        ({"id": "Pixel7_TAIabc"}, "id"),
        ({"phoneNumber": "call me"}, "phoneNumber"),
    ],
)
def test_merge_service_errors_name_the_field(api_client, super_admin, provider, field):
    response = merge(api_client(super_admin), **{"id": "TC52_OK", **provider})
    assert response.status_code == 400
    assert list(response.json()["provider"]) == [field]
    assert not Device.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin", "viewer"])
def test_admin_and_user_may_not_merge(api_client, users, who):
    assert merge(api_client(users[who]), id="TC52_NOPE").status_code == 403
    assert not Device.objects.exists()


@pytest.mark.django_db
def test_staff_merge_for_the_customer_they_name(api_client, staff, customer, other_customer):
    api = api_client(staff)
    assert merge(api, customer="acme", id="TC52_STAFF").status_code == 201
    assert Device.objects.get(device_id="TC52_STAFF").customer == customer
    # The company must be the customer the request acts for.
    assert merge(api, customer="acme", company="globex", id="TC52_X").status_code == 404


@pytest.mark.django_db
def test_merge_is_post_only(api_client, super_admin, client):
    assert api_client(super_admin).get(MERGE).status_code == 405
    assert client.get(MERGE).status_code == 405
