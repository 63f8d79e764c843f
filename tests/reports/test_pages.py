"""The History and Events pages: only the acting customer's rows, searchable and paged."""

import pytest
from django.urls import reverse

from reports.models import Event, History, HistoryResult
from reports.services import event_log, history_record

HISTORY = reverse("reports:history")
EVENTS = reverse("reports:event_list")


@pytest.fixture
def rows(customer, other_customer, admin):
    for i in range(30):
        history_record(
            customer_id=customer.pk,
            action="TOKEN",
            result=HistoryResult.OK,
            token=f"tok-{i:02}",
            device_id=f"TC52_{i:04}",
        )
        event_log(customer=customer, user=admin, type="TOKEN_ADDED", info=f"Token tok-{i:02} added")
    history_record(
        customer_id=other_customer.pk, action="TOKEN", result="OK", token="globex-secret"
    )
    history_record(customer_id=None, action="TOKEN", result="UNKNOWN_TOKEN", token="guess-1")
    event_log(customer=other_customer, user=None, type="TOKEN_ADDED", info="Token globex-secret")


@pytest.mark.django_db
def test_history_lists_only_this_customer_and_pages(
    rows, portal_client, viewer, django_assert_max_num_queries
):
    client = portal_client(viewer)
    with django_assert_max_num_queries(6):
        response = client.get(HISTORY)
    body = response.content.decode()
    assert "30 record(s) found" in body
    assert "globex-secret" not in body and "guess-1" not in body
    assert len(response.context["object_list"]) == 25
    assert [r.token for r in client.get(HISTORY, {"q": "TC52_0007"}).context["object_list"]] == [
        "tok-07"
    ]
    tokens = [r.token for r in client.get(HISTORY, {"ordering": "token"}).context["object_list"]]
    assert tokens == sorted(tokens)


@pytest.mark.django_db
def test_history_filters_by_result(rows, customer, portal_client, viewer):
    history_record(customer_id=customer.pk, action="TOKEN", result="REVOKED", token="old")
    found = portal_client(viewer).get(HISTORY, {"result": "REVOKED"}).context["object_list"]
    assert [r.token for r in found] == ["old"]


@pytest.mark.django_db
def test_events_list_filters_and_hides_other_customers(
    rows, portal_client, admin, django_assert_max_num_queries
):
    client = portal_client(admin)
    with django_assert_max_num_queries(8):
        response = client.get(EVENTS, {"user": admin.username, "type": "TOKEN_ADDED"})
    body = response.content.decode()
    assert "30 record(s) found" in body
    assert "globex-secret" not in body
    assert admin.username in body


@pytest.mark.django_db
def test_event_keeps_the_username_after_the_user_is_deleted(customer, admin):
    event = event_log(customer=customer, user=admin, type="X", info="did it")
    admin.delete()
    event.refresh_from_db()
    assert (event.user, event.username) == (None, "ada")


@pytest.mark.django_db
def test_empty_states(portal_client, viewer):
    client = portal_client(viewer)
    assert "No device requests yet" in client.get(HISTORY).content.decode()
    assert "No events yet" in client.get(EVENTS).content.decode()
    assert "Clear the filters" in client.get(EVENTS, {"q": "zzz"}).content.decode()
    assert History.objects.count() == Event.objects.count() == 0


@pytest.mark.django_db
def test_history_counts_only_up_to_its_cap(rows, portal_client, viewer, monkeypatch):
    from reports.views import HistoryView

    monkeypatch.setattr(HistoryView, "count_cap", 12)
    client = portal_client(viewer)
    response = client.get(HISTORY, {"pageSize": 5, "page": 3})
    assert "More than 12 record(s) found" in response.content.decode()
    page = response.context["page_obj"]
    assert (page.paginator.count, page.paginator.num_pages) == (12, 3)
    assert [r.token for r in page.object_list] == ["tok-19", "tok-18"]  # rows 11 and 12
    # A narrower search is counted exactly again.
    narrow = client.get(HISTORY, {"q": "tok-0"})
    assert "10 record(s) found" in narrow.content.decode()
