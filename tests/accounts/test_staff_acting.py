"""Staff acting for a customer is in the audit log: a switch in the portal, and the first
use of ?customer= per API login (a script's thousand calls are one entry)."""

import pytest
from django.urls import reverse

from reports.models import Event


def acting_events():
    return list(
        Event.objects.filter(type="STAFF_ACTING")
        .order_by("pk")
        .values_list("customer__slug", "username", "data")
    )


@pytest.mark.django_db
def test_switching_customer_in_the_portal_writes_an_event(client, staff, customer, other_customer):
    client.force_login(staff)
    url = reverse("accounts:customer_switch")
    client.post(url, {"customer": other_customer.pk})
    client.post(url, {"customer": customer.pk})
    assert acting_events() == [
        ("globex", "support", {"via": "portal"}),
        ("acme", "support", {"via": "portal"}),
    ]
    event = Event.objects.filter(type="STAFF_ACTING").latest("pk")
    assert event.user == staff
    assert event.info == "Support user support acts for Acme Logistics in the portal"
    assert event.created is not None


@pytest.mark.django_db
def test_a_refused_switch_writes_nothing(client, staff):
    client.force_login(staff)
    client.post(reverse("accounts:customer_switch"), {"customer": "999999"})
    assert acting_events() == []


@pytest.mark.django_db
def test_customer_in_the_api_writes_one_event_per_login_and_customer(
    api_client, staff, customer, other_customer
):
    api = api_client(staff)
    for _ in range(3):
        assert api.get("/admin/api/v1/tokens?customer=acme").status_code == 200
    assert api.get("/admin/api/v1/devices?customer=globex").status_code == 200
    assert acting_events() == [
        ("acme", "support", {"via": "api"}),
        ("globex", "support", {"via": "api"}),
    ]
    # A new login is a new entry.
    assert api_client(staff).get("/admin/api/v1/tokens?customer=acme").status_code == 200
    assert len(acting_events()) == 3


@pytest.mark.django_db
def test_portal_users_and_unknown_customers_write_nothing(api_client, admin, staff, customer):
    # ?customer= is ignored for portal users: they always act for their own customer.
    assert api_client(admin).get("/admin/api/v1/tokens?customer=globex").status_code == 200
    assert api_client(staff).get("/admin/api/v1/tokens?customer=nobody").status_code == 400
    assert acting_events() == []
