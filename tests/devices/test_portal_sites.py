"""The Sites page: list with device counts, a site's devices, and the sync with PTT Pro."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from devices.models import DeviceState, Site, SiteStatus
from reports.models import Event
from tests.devices.factories import DeviceFactory, SiteFactory, devices_bulk

LIST = reverse("devices:site_list")
SYNC = reverse("devices:site_sync")


def detail_url(site):
    return reverse("devices:site_detail", args=[site.pk])


def names(response):
    return [s.name for s in response.context["object_list"]]


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


# --- List ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_shows_only_this_customers_sites_with_device_counts(
    portal_client, viewer, customer, other_customer
):
    north = SiteFactory(customer=customer, name="North", server_name="ptt1")
    SiteFactory(customer=customer, name="Empty")
    theirs = SiteFactory(customer=other_customer, name="Theirs")
    DeviceFactory.create_batch(3, customer=customer, on_site=north)
    DeviceFactory(customer=customer, on_site=north, state=DeviceState.OBSOLETE)
    DeviceFactory.create_batch(2, customer=other_customer, on_site=theirs)
    response = portal_client(viewer).get(LIST)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Theirs" not in body
    assert "2 record(s) found" in body
    counts = {s.name: s.device_count for s in response.context["object_list"]}
    assert counts == {"North": 4, "Empty": 0}
    row = body.split(f'id="site-{north.pk}"', 1)[1].split("</tr>", 1)[0]
    assert f'<a href="{detail_url(north)}">North</a>' in row
    assert "<td>ptt1</td>" in row
    assert '<td class="number">4</td>' in row


@pytest.mark.django_db
def test_search_sort_and_page(portal_client, viewer, customer):
    now = timezone.now()
    for i in range(30):
        site = SiteFactory(
            customer=customer,
            name=f"Dept-{i:02}",
            server_name=f"ptt{i % 3}",
            synced_at=now - timedelta(hours=i % 7),
        )
        DeviceFactory.create_batch(i % 4, customer=customer, on_site=site)
    client = portal_client(viewer)

    assert names(client.get(LIST, {"q": "dept-07"})) == ["Dept-07"]
    assert len(names(client.get(LIST, {"q": "ptt2"}))) == 10  # the server name is searched too

    assert names(client.get(LIST))[:3] == ["Dept-00", "Dept-01", "Dept-02"]  # by name
    by_count = client.get(LIST, {"ordering": "-devices"}).context["object_list"]
    counts = [s.device_count for s in by_count]
    assert counts == sorted(counts, reverse=True)
    assert counts[0] == 3
    servers = [
        s.server_name for s in client.get(LIST, {"ordering": "serverName"}).context["page_obj"]
    ]
    assert servers == sorted(servers)
    synced = [s.synced_at for s in client.get(LIST, {"ordering": "-syncedAt"}).context["page_obj"]]
    assert synced == sorted(synced, reverse=True)
    assert names(client.get(LIST, {"ordering": "-name"}))[0] == "Dept-29"

    second = client.get(LIST, {"page": 2})
    assert names(second) == [f"Dept-{i:02}" for i in range(25, 30)]
    assert "Page 2 of 2" in second.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(("sites", "devices"), [(3, 30), (30, 300)])
def test_list_query_count_is_constant(
    portal_client, super_admin, customer, sites, devices, django_assert_num_queries
):
    all_sites = [SiteFactory(customer=customer) for _ in range(sites)]
    devices_bulk(customer, devices, sites=all_sites)
    client = portal_client(super_admin)
    # Session, user, customer, COUNT(*) of sites, the month's direct additions (customer
    # details), the page with each site's device count: six, whatever the rows.
    with django_assert_num_queries(6):
        response = client.get(LIST, {"ordering": "-devices", "pageSize": 100})
    assert len(response.context["object_list"]) == sites
    assert {s.device_count for s in response.context["object_list"]} == {devices // sites}


@pytest.mark.django_db
def test_empty_state(portal_client, super_admin, viewer, customer):
    body = portal_client(viewer).get(LIST).content.decode()
    assert "No sites yet" in body
    assert "No PTT Pro server is configured" in body
    customer.ptt_server = "ptt1"
    customer.save()
    body = portal_client(super_admin).get(LIST).content.decode()
    assert "sites (departments) of server ptt1 are listed here after a sync" in body
    assert "click Sync sites" in body


# --- A site's devices ------------------------------------------------------------------


@pytest.mark.django_db
def test_site_lists_the_devices_registered_there(portal_client, viewer, customer):
    north = SiteFactory(customer=customer, name="North")
    south = SiteFactory(customer=customer, name="South")
    here = DeviceFactory(
        customer=customer,
        device_id="TC51_HERE",
        model="TC51",
        os="Android Oreo 1.0.1",
        app_version="9.0.22102",
        on_site=north,
    )
    DeviceFactory(
        customer=customer,
        device_id="TC51_PENDING",
        site=north,
        site_status=SiteStatus.CONFLICT,
        site_error="PTT Pro: entered by hand in South",
    )
    DeviceFactory(customer=customer, device_id="TC51_THERE", on_site=south)
    DeviceFactory(customer=customer, device_id="TC51_NOWHERE")
    response = portal_client(viewer).get(detail_url(north))
    body = response.content.decode()
    assert response.status_code == 200
    assert sorted(d.device_id for d in response.context["object_list"]) == [
        "TC51_HERE",
        "TC51_PENDING",
    ]
    assert "North devices" in body
    row = body.split(f'id="device-{here.pk}"', 1)[1].split("</tr>", 1)[0]
    for cell in ["Active", "TC51", "Android Oreo 1.0.1", "9.0.22102", "Provisioned"]:
        assert f"<td>{cell}</td>" in row
    assert "Conflict" in body
    assert "PTT Pro: entered by hand in South" in body


@pytest.mark.django_db
def test_site_devices_are_paged_and_sorted(portal_client, viewer, customer):
    site = SiteFactory(customer=customer)
    devices_bulk(customer, 30, sites=[site], prefix="ON_SITE")
    client = portal_client(viewer)
    first = client.get(detail_url(site), {"ordering": "-deviceId"})
    assert [d.device_id for d in first.context["object_list"]][:2] == [
        "ON_SITE_00029",
        "ON_SITE_00028",
    ]
    second = client.get(detail_url(site), {"ordering": "-deviceId", "page": 2})
    assert len(second.context["object_list"]) == 5
    assert "30 record(s) found" in second.content.decode()


@pytest.mark.django_db
def test_site_detail_query_count_is_constant(
    portal_client, viewer, customer, django_assert_num_queries
):
    site = SiteFactory(customer=customer)
    devices_bulk(customer, 60, sites=[site])
    client = portal_client(viewer)
    # Session, user, customer, the site, COUNT(*), the page.
    with django_assert_num_queries(6):
        client.get(detail_url(site), {"pageSize": 100})


@pytest.mark.django_db
def test_outsider_gets_404_for_a_site(portal_client, outsider, customer):
    site = SiteFactory(customer=customer)
    assert portal_client(outsider).get(detail_url(site)).status_code == 404


# --- Sync ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sync_creates_the_servers_sites(ptt, portal_client, super_admin, customer):
    response = portal_client(super_admin).post(SYNC, follow=True)
    assert response.redirect_chain[-1][0] == LIST
    assert messages_of(response) == ["2 sites synced from PTT Pro server ptt1."]
    assert sorted(Site.objects.filter(customer=customer).values_list("name", flat=True)) == [
        "North",
        "South",
    ]
    assert names(response) == ["North", "South"]
    assert Event.objects.filter(customer=customer, type="SITE_SYNC", severity="INFO").exists()


@pytest.mark.django_db
def test_sync_with_the_server_down_is_an_error_message(ptt, portal_client, staff, customer):
    ptt.down = True
    response = portal_client(staff).post(SYNC, follow=True)
    assert response.status_code == 200
    [message] = messages_of(response)
    assert message.startswith("Site sync failed: ")
    assert "503" in message or "down" in message
    assert not Site.objects.exists()
    assert Event.objects.filter(type="SITE_SYNC", severity="ERROR").exists()


@pytest.mark.django_db
def test_sync_without_a_ptt_server_is_an_error_message(portal_client, super_admin, customer):
    response = portal_client(super_admin).post(SYNC, follow=True)
    assert messages_of(response) == ["Site sync failed: Acme Logistics has no PTT Pro server"]
    assert not Site.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin", "viewer"])
def test_admin_and_user_may_not_sync(ptt, portal_client, users, who):
    client = portal_client(users[who])
    assert client.post(SYNC).status_code == 403
    assert not Site.objects.exists()
    assert ptt.requests == []
    assert "Sync sites" not in client.get(LIST).content.decode()


@pytest.mark.django_db
def test_sync_button_and_confirmation(ptt, portal_client, super_admin):
    client = portal_client(super_admin)
    body = client.get(LIST).content.decode()
    assert f'action="{SYNC}"' in body
    confirm = client.get(SYNC).content.decode()
    assert "Copy the site list of PTT Pro server <strong>ptt1</strong>?" in confirm
