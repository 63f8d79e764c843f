"""The Devices page: list, filters, sort, paging, detail with history, obsolete, direct add,
and the month's direct additions in the customer details."""

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from devices.models import Device, DeviceKind, DeviceState, SiteStatus
from reports.models import AppId, Event, History
from tests.devices.factories import DeviceFactory, HistoryFactory, SiteFactory, devices_bulk

LIST = reverse("devices:device_list")
ADD = reverse("devices:device_add")


def detail_url(device):
    return reverse("gateway:device_detail", args=[device.pk])


def obsolete_url(device):
    return reverse("gateway:device_obsolete", args=[device.pk])


def ids(response):
    return [d.device_id for d in response.context["object_list"]]


def row_of(response, device) -> str:
    body = response.content.decode()
    return body.split(f'id="device-{device.pk}"', 1)[1].split("</tr>", 1)[0]


def text_of(markup: str) -> str:
    """What a reader sees: the markup without its tags and entities, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


# --- List ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_shows_only_this_customers_devices(portal_client, viewer, customer, other_customer):
    DeviceFactory(customer=customer, device_id="OURS_1")
    DeviceFactory(customer=other_customer, device_id="THEIRS_1")
    response = portal_client(viewer).get(LIST)
    body = response.content.decode()
    assert response.status_code == 200
    assert "OURS_1" in body
    assert "THEIRS_1" not in body
    assert "1 record(s) found" in body


@pytest.mark.django_db
def test_row_shows_model_version_site_and_dates(portal_client, viewer, customer):
    site = SiteFactory(customer=customer, name="North")
    device = DeviceFactory(
        customer=customer,
        device_id="TC21_201335230D5089",
        model="TC21",
        os="Android 11",
        app_version="3.3.10200",
        on_site=site,
    )
    response = portal_client(viewer).get(LIST)
    row = row_of(response, device)
    assert f'href="{detail_url(device)}"' in row
    text = text_of(row)
    assert "Active" in text
    assert "TC21 Android 11 3.3.10200" in text
    assert "North" in text
    assert device.site_assigned_at.strftime("%Y-%m-%d") in text
    # Provisioned: the status is not shown, only problems are.
    assert "Provisioned" not in text
    assert "badge" not in row


@pytest.mark.django_db
def test_row_shows_site_status_unless_provisioned(portal_client, viewer, customer):
    site = SiteFactory(customer=customer, name="South")
    pending = DeviceFactory(
        customer=customer,
        site=site,
        site_status=SiteStatus.PENDING,
        site_error="PTT Pro unreachable, will retry: timeout",
    )
    conflict = DeviceFactory(
        customer=customer,
        site=site,
        site_status=SiteStatus.CONFLICT,
        site_error="PTT Pro: X was entered by hand in site North",
    )
    failed = DeviceFactory(
        customer=customer,
        site=site,
        site_status=SiteStatus.FAILED,
        site_error="PTT Pro: department 'South' does not exist",
    )
    response = portal_client(viewer).get(LIST)

    pending_row = row_of(response, pending)
    assert "Pending" in text_of(pending_row)
    # Pending: the reason is the tooltip, not the text.
    assert 'title="PTT Pro unreachable, will retry: timeout"' in pending_row
    assert "will retry" not in text_of(pending_row)

    conflict_row = row_of(response, conflict)
    assert 'title="PTT Pro: X was entered by hand in site North"' in conflict_row
    assert "Conflict PTT Pro: X was entered by hand in site North" in text_of(conflict_row)

    failed_row = row_of(response, failed)
    assert "Failed PTT Pro: department 'South' does not exist" in text_of(failed_row)
    assert 'title="PTT Pro: department &#x27;South&#x27; does not exist"' in failed_row


@pytest.mark.django_db
def test_filters(portal_client, viewer, customer):
    north = SiteFactory(customer=customer, name="North")
    south = SiteFactory(customer=customer, name="South")
    DeviceFactory(customer=customer, device_id="TC52_A1", on_site=north)
    DeviceFactory(customer=customer, device_id="TC52_A2", state=DeviceState.OBSOLETE)
    DeviceFactory(
        customer=customer,
        device_id="iPhone_B3",
        app_id=AppId.PTT_PRO_IOS,
        site=south,
        site_status=SiteStatus.CONFLICT,
    )
    DeviceFactory(customer=customer, device_id="TC21_C4", app_id=AppId.VOICE)
    client = portal_client(viewer)

    assert ids(client.get(LIST, {"state": "obsolete"})) == ["TC52_A2"]
    assert sorted(ids(client.get(LIST, {"state": "active"}))) == [
        "TC21_C4",
        "TC52_A1",
        "iPhone_B3",
    ]
    assert sorted(ids(client.get(LIST, {"q": "tc52"}))) == ["TC52_A1", "TC52_A2"]
    assert ids(client.get(LIST, {"site": "South"})) == ["iPhone_B3"]
    assert ids(client.get(LIST, {"siteStatus": "conflict"})) == ["iPhone_B3"]
    assert ids(client.get(LIST, {"siteStatus": "provisioned"})) == ["TC52_A1"]
    assert sorted(ids(client.get(LIST, {"siteStatus": "none"}))) == ["TC21_C4", "TC52_A2"]
    assert ids(client.get(LIST, {"appId": AppId.VOICE})) == ["TC21_C4"]
    assert ids(client.get(LIST, {"q": "TC52", "state": "active", "site": "North"})) == ["TC52_A1"]

    # The filter's choices: the customer's sites, the states, statuses and apps.
    body = client.get(LIST).content.decode()
    assert '<option value="North">North</option>' in body
    assert '<option value="obsolete">Obsolete</option>' in body


@pytest.mark.django_db
def test_bad_filter_value_is_explained_not_an_error(portal_client, viewer, customer):
    DeviceFactory(customer=customer)
    response = portal_client(viewer).get(LIST, {"ordering": "password", "state": "gone"})
    assert response.status_code == 200
    assert ids(response) == []
    assert "ordering:" in response.content.decode()


@pytest.mark.django_db
def test_newest_activity_first_by_default(portal_client, viewer, customer):
    old = DeviceFactory(customer=customer, device_id="A_OLD")
    DeviceFactory(customer=customer, device_id="Z_NEW")
    Device.objects.filter(pk=old.pk).update(updated=timezone.now() - timedelta(days=3))
    assert ids(portal_client(viewer).get(LIST)) == ["Z_NEW", "A_OLD"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("ordering", "key"),
    [
        ("state", lambda d: d.state),
        ("deviceId", lambda d: d.device_id),
        ("model", lambda d: d.model),
        ("site", lambda d: d.site.name),
        ("assigned", lambda d: d.site_assigned_at),
        ("updated", lambda d: d.updated),
        ("created", lambda d: d.created),
    ],
)
def test_sort_on_every_column(portal_client, viewer, customer, ordering, key):
    sites = [SiteFactory(customer=customer, name=name) for name in ["Bravo", "Alpha", "Charlie"]]
    now = timezone.now()
    for i, (model, state) in enumerate(
        [("TC52", "active"), ("MC33", "obsolete"), ("TC21", "active"), ("ET40", "obsolete")]
    ):
        device = DeviceFactory(
            customer=customer,
            device_id=f"{model}_{9 - i}",
            model=model,
            state=state,
            on_site=sites[i % 3],
        )
        Device.objects.filter(pk=device.pk).update(
            site_assigned_at=now - timedelta(hours=(i * 7) % 5),
            created=now - timedelta(days=(i * 3) % 4),
            updated=now - timedelta(minutes=(i * 5) % 7),
        )
    client = portal_client(viewer)
    for direction in ("", "-"):
        devices = list(client.get(LIST, {"ordering": f"{direction}{ordering}"}).context["page_obj"])
        values = [key(d) for d in devices]
        assert values == sorted(values, reverse=direction == "-"), (ordering, direction)
    header = client.get(LIST, {"ordering": ordering}).content.decode()
    assert f"?ordering=-{ordering}" in header  # the header now offers the other direction


@pytest.mark.django_db
def test_paging_keeps_filters(portal_client, viewer, customer):
    devices_bulk(customer, 30, prefix="PAGE")
    DeviceFactory(customer=customer, device_id="OTHER_1")
    client = portal_client(viewer)
    first = client.get(LIST, {"q": "PAGE", "ordering": "deviceId"})
    assert ids(first) == [f"PAGE_{i:05}" for i in range(25)]
    body = first.content.decode()
    assert "30 record(s) found" in body
    assert "Page 1 of 2" in body
    assert "q=PAGE&amp;ordering=deviceId&amp;page=2" in body
    second = client.get(LIST, {"q": "PAGE", "ordering": "deviceId", "page": 2})
    assert ids(second) == [f"PAGE_{i:05}" for i in range(25, 30)]
    assert ids(client.get(LIST, {"q": "PAGE", "ordering": "deviceId", "pageSize": 10}))[-1] == (
        "PAGE_00009"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("count", [30, 300])
def test_list_query_count_is_constant(
    portal_client, super_admin, customer, other_customer, count, django_assert_num_queries
):
    # A site per ten devices: reading device.site row by row would add a query per row.
    sites = [SiteFactory(customer=customer) for _ in range(count // 10)]
    devices_bulk(customer, count, sites=sites)
    devices_bulk(other_customer, 5, prefix="THEIRS")
    client = portal_client(super_admin)
    # Session, user, customer, COUNT(*), the month's direct additions (customer details),
    # the site names of the filter, the page joined to its sites: seven, whatever the rows.
    with django_assert_num_queries(7):
        response = client.get(LIST, {"pageSize": 200, "ordering": "-site", "state": "active"})
    assert len(response.context["object_list"]) == min(count, 200)
    assert f"{count} record(s) found" in response.content.decode()


@pytest.mark.django_db
def test_empty_state_explains_where_devices_come_from(portal_client, super_admin, viewer):
    body = portal_client(viewer).get(LIST).content.decode()
    assert "No devices yet" in body
    assert "redeem one of your tokens" in body
    assert "add one directly" not in body
    body = portal_client(super_admin).get(LIST).content.decode()
    assert f'href="{ADD}">add one directly' in body
    filtered = portal_client(super_admin).get(LIST, {"q": "nothing"}).content.decode()
    assert "No devices match" in filtered
    assert "Clear the filters" in filtered


@pytest.mark.django_db
def test_refresh_and_add_buttons(portal_client, super_admin, admin):
    body = portal_client(super_admin).get(LIST, {"q": "x"}).content.decode()
    assert '<a class="button" href="/admin/system/devices/?q=x"' in body
    assert f'href="{ADD}">Add</a>' in body
    assert f'href="{ADD}">Add</a>' not in portal_client(admin).get(LIST).content.decode()


# --- Detail ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_detail_shows_fields_site_and_status(portal_client, viewer, customer):
    site = SiteFactory(customer=customer, name="North", server_name="ptt1")
    device = DeviceFactory(
        customer=customer,
        device_id="TC52_1234",
        model="TC52",
        os="Android 13",
        app_version="3.3.10300",
        phone_number="+1 555 0100",
        site=site,
        site_status=SiteStatus.FAILED,
        site_error="PTT Pro: department 'North' does not exist",
    )
    response = portal_client(viewer).get(detail_url(device))
    assert response.status_code == 200
    text = text_of(response.content.decode())
    for expected in [
        "TC52_1234",
        "Kind Vendor device",
        "Model TC52",
        "OS Android 13",
        "App PTT Pro (Android)",
        "App version 3.3.10300",
        "Phone number +1 555 0100",
        "Password not set",
        "Site North (PTT Pro server ptt1)",
        "Failed",
        "Error PTT Pro: department 'North' does not exist",
    ]:
        assert expected in text, expected
    assert f'href="{reverse("devices:site_detail", args=[site.pk])}"' in response.content.decode()


@pytest.mark.django_db
def test_detail_licenses_section_follows_the_role_table(
    portal_client, super_admin, viewer, customer
):
    device = DeviceFactory(customer=customer)
    body = text_of(portal_client(super_admin).get(detail_url(device)).content.decode())
    assert "Licenses This device holds no licenses yet." in body
    # Users may not view licenses (the guide's role table): the section is not there.
    assert (
        'id="licenses-heading"'
        not in portal_client(viewer).get(detail_url(device)).content.decode()
    )


@pytest.mark.django_db
def test_detail_shows_this_devices_history_only(portal_client, viewer, customer, other_customer):
    device = DeviceFactory(customer=customer, device_id="TC52_MINE")
    HistoryFactory(customer=customer, device_id="TC52_MINE", token="tok-mine")
    HistoryFactory(customer=customer, device_id="TC52_OTHER", token="tok-other-device")
    # The same device ID at another customer is another device.
    HistoryFactory(customer=other_customer, device_id="TC52_MINE", token="tok-other-customer")
    body = portal_client(viewer).get(detail_url(device)).content.decode()
    assert "tok-mine" in body
    assert "tok-other-device" not in body
    assert "tok-other-customer" not in body


@pytest.mark.django_db
def test_detail_history_is_the_newest_fifty(portal_client, viewer, customer):
    device = DeviceFactory(customer=customer)
    HistoryFactory.create_batch(55, customer=customer, device_id=device.device_id)
    now = timezone.now()
    for i, pk in enumerate(History.objects.order_by("pk").values_list("pk", flat=True)):
        History.objects.filter(pk=pk).update(created=now - timedelta(minutes=55 - i))
    response = portal_client(viewer).get(detail_url(device))
    rows = list(response.context["history"])
    assert len(rows) == 50
    assert rows == sorted(rows, key=lambda r: r.created, reverse=True)
    assert rows[0].created == History.objects.order_by("-created").first().created


@pytest.mark.django_db
def test_device_ids_link_to_the_detail(portal_client, viewer, customer):
    device = DeviceFactory(customer=customer)
    body = portal_client(viewer).get(LIST).content.decode()
    assert f'<a href="{detail_url(device)}">{device.device_id}</a>' in body


@pytest.mark.django_db
def test_outsider_gets_404_on_detail_and_obsolete(portal_client, outsider, customer):
    device = DeviceFactory(customer=customer)
    client = portal_client(outsider)
    assert client.get(detail_url(device)).status_code == 404
    assert client.get(obsolete_url(device)).status_code == 404
    assert client.post(obsolete_url(device)).status_code == 404
    device.refresh_from_db()
    assert device.state == DeviceState.ACTIVE


# --- Obsolete --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin", "viewer"])
def test_admin_and_user_may_not_obsolete(portal_client, users, customer, who):
    device = DeviceFactory(customer=customer)
    client = portal_client(users[who])
    assert client.post(obsolete_url(device)).status_code == 403
    device.refresh_from_db()
    assert device.state == DeviceState.ACTIVE
    assert not Event.objects.filter(type="DEVICE_OBSOLETED").exists()
    # …and they are not offered the button.
    assert "Mark obsolete" not in client.get(detail_url(device)).content.decode()


@pytest.mark.django_db
def test_super_admin_obsoletes_a_device(portal_client, super_admin, customer):
    device = DeviceFactory(customer=customer, device_id="TC52_OLD")
    client = portal_client(super_admin)
    assert f'href="{obsolete_url(device)}"' in client.get(detail_url(device)).content.decode()
    confirm = client.get(obsolete_url(device))
    assert confirm.status_code == 200
    assert "Mark device <strong>TC52_OLD</strong>" in confirm.content.decode()

    response = client.post(obsolete_url(device), follow=True)
    assert response.redirect_chain[-1][0] == detail_url(device)
    assert "Device TC52_OLD marked obsolete." in response.content.decode()
    device.refresh_from_db()
    assert device.state == DeviceState.OBSOLETE
    event = Event.objects.get(type="DEVICE_OBSOLETED")
    assert (event.customer, event.username) == (customer, "sam")
    # Nothing left to do: no button, and a second POST changes nothing.
    assert f'href="{obsolete_url(device)}"' not in response.content.decode()
    client.post(obsolete_url(device))
    assert Event.objects.filter(type="DEVICE_OBSOLETED").count() == 1


@pytest.mark.django_db
def test_staff_may_obsolete(portal_client, staff, customer):
    device = DeviceFactory(customer=customer)
    assert portal_client(staff).post(obsolete_url(device)).status_code == 302
    device.refresh_from_db()
    assert device.state == DeviceState.OBSOLETE


# --- Direct add ------------------------------------------------------------------------


@pytest.mark.django_db
def test_super_admin_adds_a_device(portal_client, super_admin, customer):
    response = portal_client(super_admin).post(
        ADD,
        {
            "kind": DeviceKind.THIRD_PARTY_ANDROID,
            "device_id": "Pixel7_TAIabc123",
            "phone_number": "+1 555 0100",
            "password": "s3cret",
        },
    )
    device = Device.objects.get(customer=customer, device_id="Pixel7_TAIabc123")
    assert response.status_code == 302
    assert response["Location"] == detail_url(device)
    assert device.added_directly
    assert device.kind == DeviceKind.THIRD_PARTY_ANDROID
    assert device.phone_number == "+1 555 0100"
    assert device.password.startswith("pbkdf2_") or device.password.count("$") >= 2
    assert device.password != "s3cret"
    assert Event.objects.filter(type="DEVICE_ADDED_DIRECTLY", customer=customer).count() == 1


@pytest.mark.django_db
def test_add_without_optional_fields(portal_client, super_admin, customer):
    portal_client(super_admin).post(ADD, {"kind": DeviceKind.IOS, "device_id": "iPhone14_X"})
    device = Device.objects.get(device_id="iPhone14_X")
    assert (device.phone_number, device.password) == ("", "")


@pytest.mark.django_db
def test_add_existing_device_id_is_shown_on_the_field(portal_client, super_admin, customer):
    DeviceFactory(customer=customer, device_id="TC52_TAKEN")
    response = portal_client(super_admin).post(
        ADD, {"kind": DeviceKind.VENDOR, "device_id": "TC52_TAKEN"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"device_id": ["Device TC52_TAKEN already exists"]}
    assert not Event.objects.filter(type="DEVICE_ADDED_DIRECTLY").exists()


@pytest.mark.django_db
def test_same_device_id_at_another_customer_is_no_conflict(
    portal_client, super_admin, customer, other_customer
):
    DeviceFactory(customer=other_customer, device_id="TC52_SHARED")
    response = portal_client(super_admin).post(
        ADD, {"kind": DeviceKind.VENDOR, "device_id": "TC52_SHARED"}
    )
    assert response.status_code == 302
    assert Device.objects.filter(device_id="TC52_SHARED").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"device_id": "TC52 WITH SPACE"}, "device_id"),
        ({"phone_number": "call me"}, "phone_number"),
        ({"kind": "toaster"}, "kind"),
        ({"device_id": ""}, "device_id"),
    ],
)
def test_add_errors_are_shown_on_their_field(portal_client, super_admin, customer, data, field):
    response = portal_client(super_admin).post(
        ADD, {"kind": DeviceKind.VENDOR, "device_id": "TC52_OK", **data}
    )
    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    assert not Device.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin", "viewer"])
def test_admin_and_user_may_not_add(portal_client, users, who):
    response = portal_client(users[who]).post(
        ADD, {"kind": DeviceKind.VENDOR, "device_id": "TC52_NOPE"}
    )
    assert response.status_code == 403
    assert not Device.objects.exists()


# --- Customer details ------------------------------------------------------------------


def direct_additions_shown(body: str) -> str | None:
    match = re.search(r"<dt>Direct additions this month</dt><dd[^>]*>(\d+)</dd>", body, flags=re.S)
    return match.group(1) if match else None


@pytest.mark.django_db
def test_customer_details_show_the_months_direct_additions(
    portal_client, super_admin, admin, customer, other_customer
):
    client = portal_client(super_admin)
    assert direct_additions_shown(client.get(LIST).content.decode()) == "0"
    for device_id in ["DIRECT_1", "DIRECT_2"]:
        client.post(ADD, {"kind": DeviceKind.VENDOR, "device_id": device_id})
    # Billing counts additions even when the device is obsoleted again.
    client.post(obsolete_url(Device.objects.get(device_id="DIRECT_1")))
    # Last month's and another customer's additions do not count.
    Event.objects.create(
        customer=customer,
        type="DEVICE_ADDED_DIRECTLY",
        info="old",
    )
    Event.objects.filter(info="old").update(created=timezone.now() - timedelta(days=40))
    Event.objects.create(customer=other_customer, type="DEVICE_ADDED_DIRECTLY", info="theirs")
    body = client.get(reverse("reports:dashboard")).content.decode()
    assert direct_additions_shown(body) == "2"
    # Admins do not see billing figures.
    admin_body = portal_client(admin).get(LIST).content.decode()
    assert "Direct additions this month" not in admin_body


@pytest.mark.django_db
def test_staff_see_the_direct_additions_of_the_customer_they_act_for(
    portal_client, staff, customer
):
    Event.objects.create(customer=customer, type="DEVICE_ADDED_DIRECTLY", info="added")
    assert direct_additions_shown(portal_client(staff).get(LIST).content.decode()) == "1"
