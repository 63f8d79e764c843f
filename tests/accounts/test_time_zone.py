"""Each customer's time zone: its portal users read every time in it (pages and CSV), it is
changed on System > Customer by Super-Admins and staff, and a bad name is a field error,
never a 500. Staff, the API and Django admin keep the server's zone."""

import zoneinfo
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Customer
from accounts.services import customer_update
from accounts.timezones import time_zone_names
from reports.models import Event
from reports.services import event_log

pytestmark = pytest.mark.django_db

EVENTS = "/admin/reports/events/"
SETTINGS = "/admin/system/customer/settings"
# 00:33 UTC on 30 November is 19:33 the evening before in New York (EST, UTC-5).
MOMENT = datetime(2026, 11, 30, 0, 33, 12, tzinfo=UTC)


@pytest.fixture
def new_york(customer):
    customer.time_zone = "America/New_York"
    customer.save()
    return customer


@pytest.fixture
def event(customer):
    row = event_log(customer=customer, user=None, type="TOKEN_ADDED", info="Token t-1 added")
    Event.objects.filter(pk=row.pk).update(created=MOMENT)
    return row


def test_urls_are_the_documented_ones():
    assert reverse("reports:event_list") == EVENTS
    assert reverse("accounts:customer_settings") == SETTINGS


def test_a_new_customer_starts_in_the_servers_zone(customer, settings):
    assert customer.time_zone == settings.TIME_ZONE == "UTC"


def test_a_portal_user_reads_times_in_the_customers_zone(new_york, event, viewer, portal_client):
    page = portal_client(viewer).get(EVENTS).content.decode()
    assert ">2026-11-29 19:33:12</time>" in page
    assert 'title="2026-11-29 19:33:12 EST' in page
    assert "Times in America/New_York" in page
    assert "2026-11-30 00:33" not in page


def test_the_csv_export_is_in_the_same_zone_with_its_offset(new_york, event, viewer, portal_client):
    response = portal_client(viewer).get(EVENTS, {"format": "csv"})
    body = b"".join(response.streaming_content).decode()
    assert "2026-11-29T19:33:12-05:00" in body


def test_staff_and_the_api_keep_the_servers_zone(
    new_york, event, staff, viewer, portal_client, api_client
):
    page = portal_client(staff).get(EVENTS).content.decode()
    assert ">2026-11-30 00:33:12</time>" in page
    assert "Times in UTC" in page
    rows = api_client(viewer).get("/admin/api/v1/events").json()["results"]
    assert [row["timestamp"] for row in rows] == ["2026-11-30T00:33:12Z"]


def test_a_zone_this_machine_does_not_know_falls_back_to_the_servers(
    event, customer, viewer, portal_client
):
    # Stored before a tz database upgrade dropped the name: the page still opens.
    Customer.objects.filter(pk=customer.pk).update(time_zone="Atlantis/Capital")
    response = portal_client(viewer).get(EVENTS)
    assert response.status_code == 200
    assert ">2026-11-30 00:33:12</time>" in response.content.decode()


# --- Changing it --------------------------------------------------------------------------


def test_a_super_admin_changes_the_zone_on_the_customer_page(super_admin, portal_client):
    client = portal_client(super_admin)
    detail = client.get(reverse("ztp:customer_detail")).content.decode()
    assert "Change time zone" in detail
    form = client.get(SETTINGS)
    assert form.status_code == 200
    assert 'value="UTC" selected' in form.content.decode()

    response = client.post(SETTINGS, {"time_zone": "America/New_York"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("ztp:customer_detail")
    assert "times are shown in America/New_York" in response.content.decode()
    super_admin.customer.refresh_from_db()
    assert super_admin.customer.time_zone == "America/New_York"


@pytest.mark.parametrize(
    "value",
    [
        "Mars/Olympus_Mons",
        "",
        "america/new_york",
        "UTC\x00",
        "x" * 5000,
        "../../etc/passwd",
        # Names of this machine's files rather than of the time zone database: localtime
        # is whatever zone the host is set to, Factory means "no zone set".
        "localtime",
        "Factory",
        "posixrules",
        "posix/Europe/Berlin",
        "right/UTC",
    ],
)
def test_a_bad_zone_is_a_field_error_never_a_500(value, super_admin, customer, portal_client):
    response = portal_client(super_admin).post(SETTINGS, {"time_zone": value})
    assert response.status_code in {200, 400}
    if response.status_code == 200:
        page = response.content.decode()
        assert 'aria-invalid="true"' in page
        assert "time_zone" in response.context["form"].errors
    customer.refresh_from_db()
    assert customer.time_zone == "UTC"


def test_the_names_come_from_the_time_zone_database_not_the_host():
    """The same list on every machine: the IANA names the tzdata package ships (pinned
    by pip), less Factory, whatever /usr/share/zoneinfo holds."""
    names = time_zone_names()
    assert {"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"} <= names
    assert not names & {"localtime", "Factory", "posixrules"}
    assert not [n for n in names if n.startswith(("posix/", "right/"))]
    for name in names:
        zoneinfo.ZoneInfo(name)  # each one loads


def test_the_service_refuses_a_bad_zone_naming_the_field(customer):
    with pytest.raises(ValidationError) as refused:
        customer_update(customer=customer, user=None, time_zone="Europe/Atlantis")
    assert set(refused.value.message_dict) == {"time_zone"}
    customer.refresh_from_db()
    assert customer.time_zone == "UTC"


@pytest.mark.parametrize("who", ["admin", "viewer"])
def test_other_roles_see_the_zone_but_may_not_change_it(who, users, customer, portal_client):
    client = portal_client(users[who])
    detail = client.get(reverse("ztp:customer_detail")).content.decode()
    assert "UTC" in detail and "Change time zone" not in detail
    assert client.get(SETTINGS).status_code == 403
    assert client.post(SETTINGS, {"time_zone": "Asia/Tokyo"}).status_code == 403
    customer.refresh_from_db()
    assert customer.time_zone == "UTC"


def test_staff_change_the_zone_of_the_customer_they_act_for(staff, customer, portal_client):
    response = portal_client(staff).post(SETTINGS, {"time_zone": "Asia/Tokyo"})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.time_zone == "Asia/Tokyo"


def test_an_outsider_changes_only_their_own_customer(outsider, customer, portal_client):
    assert portal_client(outsider).post(SETTINGS, {"time_zone": "Asia/Tokyo"}).status_code == 302
    customer.refresh_from_db()
    outsider.customer.refresh_from_db()
    assert (customer.time_zone, outsider.customer.time_zone) == ("UTC", "Asia/Tokyo")
