"""The History and Events pages: scope (own customer; staff's every customer with a
customer column and filter), each filter and sort, keyset paging, counts (exact up to the
cap, then an estimate), constant query counts, live refresh, empty states and roles."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from reports import paging
from reports.models import Event, EventActor, History, HistoryResult
from reports.services import event_log, history_record
from reports.views import EventListView, HistoryView
from tests.reports.rows import T0, make_events, make_history

HISTORY = reverse("reports:history")
EVENTS = reverse("reports:event_list")


def tokens(response) -> list[str]:
    return [row.token for row in response.context["object_list"]]


def cursor_of(link: str) -> str:
    return re.search(r"cursor=([a-z0-9]+)", link).group(1)


@pytest.fixture
def rows(customer, other_customer, admin):
    made = make_history(customer, 30)
    make_events(customer, 30)
    history_record(
        customer_id=other_customer.pk, action="TOKEN", result="OK", token="globex-secret"
    )
    history_record(customer_id=None, action="TOKEN", result="UNKNOWN_TOKEN", token="guess-1")
    event_log(customer=other_customer, user=None, type="TOKEN_ADDED", info="Token globex-secret")
    return made


# --- History ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_history_lists_only_this_customer_newest_first(
    rows, portal_client, viewer, django_assert_max_num_queries
):
    client = portal_client(viewer)
    # session, user, customer, the page, the count
    with django_assert_max_num_queries(5):
        response = client.get(HISTORY)
    body = response.content.decode()
    assert "30 record(s) found" in body
    assert "globex-secret" not in body and "guess-1" not in body
    assert tokens(response) == [f"tok-{i:03}" for i in range(29, 4, -1)]
    # The guide's columns, the customer's name in the first.
    for column in ("Customer", "Timestamp", "Action", "Token", "App", "Device", "Result", "IP"):
        assert f">{column}" in body
    assert body.count("Acme Logistics</td>") == 25


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "tc52_0007"}, ["tok-007"]),  # device ID, ignoring case
        ({"q": "TOK-01"}, [f"tok-{i:03}" for i in range(19, 9, -1)]),
        ({"action": "LICENSE"}, ["tok-003"]),
        ({"appId": "WFC_PRO_ANDROID"}, ["tok-004"]),
        ({"result": "REVOKED"}, ["tok-005"]),
        ({"dateFrom": "2026-03-01", "dateTo": "2026-03-01"}, "all"),
        ({"dateFrom": "2026-03-02"}, []),
        ({"dateTo": "2026-02-28"}, []),
    ],
)
def test_history_filters(customer, portal_client, viewer, query, expected):
    make_history(
        customer,
        30,
        action=lambda i: "LICENSE" if i == 3 else "TOKEN",
        app_id=lambda i: "WFC_PRO_ANDROID" if i == 4 else "WFC_VOICE_ANDROID",
        result=lambda i: HistoryResult.REVOKED if i == 5 else HistoryResult.OK,
    )
    response = portal_client(viewer).get(HISTORY, {**query, "pageSize": 50})
    want = [f"tok-{i:03}" for i in range(29, -1, -1)] if expected == "all" else expected
    assert tokens(response) == want


@pytest.mark.django_db
def test_history_date_range_is_whole_days(customer, portal_client, viewer):
    make_history(customer, 4, start=T0 - timedelta(days=1, hours=13), step=timedelta(hours=12))
    # 2026-02-27 23:00, 2026-02-28 11:00, 23:00, 2026-03-01 11:00 (UTC)
    found = portal_client(viewer).get(HISTORY, {"dateFrom": "2026-02-28", "dateTo": "2026-02-28"})
    assert tokens(found) == ["tok-002", "tok-001"]


@pytest.mark.django_db
@pytest.mark.parametrize("column", ["created", "action", "token", "appId", "deviceId", "result"])
@pytest.mark.parametrize("descending", [False, True])
def test_history_sorts_by_each_column_then_time(
    customer, portal_client, viewer, column, descending
):
    rows = make_history(
        customer,
        12,
        token=lambda i: f"tok-{i % 3}",
        device_id=lambda i: f"TC52_{i % 4}",
        action=lambda i: ["TOKEN", "LICENSE", "CHECKIN"][i % 3],
        app_id=lambda i: ["WFC_VOICE_ANDROID", "WFC_PRO_ANDROID"][i % 2],
        result=lambda i: ["OK", "REVOKED", "EXPIRED", "OK"][i % 4],
    )
    field = {"appId": "app_id", "deviceId": "device_id"}.get(column, column)
    ordering = f"-{column}" if descending else column
    response = portal_client(viewer).get(HISTORY, {"ordering": ordering})
    got = [row.pk for row in response.context["object_list"]]
    want = sorted(rows, key=lambda r: (getattr(r, field), r.created, r.pk), reverse=descending)
    assert got == [row.pk for row in want]


@pytest.mark.django_db
def test_history_refuses_a_sort_it_has_no_index_for(rows, portal_client, viewer):
    response = portal_client(viewer).get(HISTORY, {"ordering": "ip_address"})
    assert response.status_code == 200
    assert "ordering:" in response.content.decode()
    assert response.context["object_list"] == []


@pytest.mark.django_db
def test_history_keyset_paging_walks_every_row_once(customer, portal_client, viewer):
    make_history(customer, 60)
    client = portal_client(viewer)
    seen, query = [], {"pageSize": 25}
    while True:
        response = client.get(HISTORY, query)
        seen += tokens(response)
        page = response.context["page"]
        if not page.has_next:
            break
        query = {"pageSize": 25, "cursor": page.next_cursor}
    assert seen == [f"tok-{i:03}" for i in range(59, -1, -1)]
    # Back one page from the last (10 rows): the 25 before it.
    back = client.get(HISTORY, {"pageSize": 25, "cursor": page.previous_cursor})
    assert tokens(back) == [f"tok-{i:03}" for i in range(34, 9, -1)]
    # Back again reaches the start: the first page, full, with no way further back.
    first = client.get(HISTORY, {"pageSize": 25, "cursor": back.context["page"].previous_cursor})
    assert tokens(first) == [f"tok-{i:03}" for i in range(59, 34, -1)]
    assert not first.context["page"].has_previous
    # Last: the oldest rows.
    last = client.get(HISTORY, {"pageSize": 25, "cursor": "last"})
    assert tokens(last) == [f"tok-{i:03}" for i in range(24, -1, -1)]
    assert not last.context["page"].has_next and last.context["page"].has_previous


@pytest.mark.django_db
def test_history_paging_links_keep_filters_and_sort(customer, portal_client, viewer):
    make_history(customer, 30, result=lambda i: "OK" if i % 2 else "REVOKED")
    body = (
        portal_client(viewer)
        .get(HISTORY, {"result": "OK", "ordering": "token", "pageSize": 5})
        .content.decode()
    )
    links = re.findall(r'href="(\?[^"]*cursor=[^"]*)"', body)
    assert links and all("result=OK" in link and "ordering=token" in link for link in links)
    assert "« First" not in body and 'rel="next"' in body and "Last »" in body


@pytest.mark.django_db
def test_a_deep_page_costs_the_same_queries_as_the_first(
    customer, portal_client, viewer, django_assert_num_queries
):
    make_history(customer, 120)
    client = portal_client(viewer)
    client.get(HISTORY)  # the session's first use
    # session, user, customer, the page, the count
    with django_assert_num_queries(5):
        first = client.get(HISTORY, {"ordering": "token"})
    cursor = first.context["page"].next_cursor
    for _ in range(3):
        cursor = (
            client.get(HISTORY, {"ordering": "token", "cursor": cursor}).context["page"].next_cursor
        )
    # … and the cursor's row
    with django_assert_num_queries(6):
        deep = client.get(HISTORY, {"ordering": "token", "cursor": cursor})
    assert len(deep.context["object_list"]) == 20


@pytest.mark.django_db
def test_bad_and_vanished_cursors(customer, portal_client, viewer):
    made = make_history(customer, 30)
    client = portal_client(viewer)
    bad = client.get(HISTORY, {"cursor": "n12abc"})
    assert "cursor: expected n&lt;row id&gt;" in bad.content.decode()
    assert bad.context["object_list"] == []
    gone = made[10].pk
    History.objects.filter(pk=gone).delete()
    response = client.get(HISTORY, {"cursor": f"n{gone}"})
    assert "has been deleted" in response.content.decode()
    assert tokens(response)[0] == "tok-029"


@pytest.mark.django_db
def test_a_cursor_of_another_customer_is_gone(rows, portal_client, viewer, other_customer):
    foreign = History.objects.get(customer=other_customer).pk
    response = portal_client(viewer).get(HISTORY, {"cursor": f"n{foreign}"})
    assert "has been deleted" in response.content.decode()
    assert "globex-secret" not in response.content.decode()


@pytest.mark.django_db
def test_history_counts_exactly_up_to_the_cap_then_says_more(
    rows, portal_client, viewer, monkeypatch
):
    monkeypatch.setattr(HistoryView, "count_cap", 12)
    monkeypatch.setattr(paging, "planner_estimate", lambda queryset: None)
    client = portal_client(viewer)
    response = client.get(HISTORY, {"pageSize": 5})
    assert "More than 12 record(s) found" in response.content.decode()
    # Paging goes on past the cap.
    last = client.get(HISTORY, {"pageSize": 5, "cursor": "last"})
    assert tokens(last) == ["tok-004", "tok-003", "tok-002", "tok-001", "tok-000"]
    # A narrower search is counted exactly again.
    narrow = client.get(HISTORY, {"q": "tok-00"})
    assert "10 record(s) found" in narrow.content.decode()


@pytest.mark.django_db
def test_past_the_cap_the_count_is_a_labelled_estimate(rows, portal_client, viewer, monkeypatch):
    monkeypatch.setattr(HistoryView, "count_cap", 12)
    monkeypatch.setattr(paging, "planner_estimate", lambda queryset: 1_234_567)
    body = portal_client(viewer).get(HISTORY).content.decode()
    assert "About 1,234,567 record(s) found" in body
    assert "an estimate; counted exactly up to 12" in body


@pytest.mark.django_db
def test_the_estimate_is_postgresqls_planner_estimate(rows, customer):
    from django.db import connection

    estimate = paging.planner_estimate(History.objects.filter(customer=customer))
    if connection.vendor != "postgresql":
        assert estimate is None
    else:
        assert estimate >= 1
    count = paging.row_count(History.objects.filter(customer=customer), cap=10)
    assert count.capped and (count.estimate is None or count.estimate >= 11)
    assert paging.row_count(History.objects.filter(customer=customer), cap=30).exact == 30


@pytest.mark.django_db
def test_the_count_query_has_no_order_by(rows, customer, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        paging.row_count(History.objects.filter(customer=customer).order_by("-token"), cap=10)
    assert "ORDER BY" not in queries.captured_queries[0]["sql"]


@pytest.mark.django_db
def test_staff_see_every_customer_with_a_customer_column_and_filter(
    rows, portal_client, staff, customer, django_assert_max_num_queries
):
    client = portal_client(staff)
    # session, user, acting customer, the menu's direct additions, customers of the
    # filter, the page, the count
    with django_assert_max_num_queries(7):
        everyone = client.get(HISTORY, {"pageSize": 50})
    body = everyone.content.decode()
    assert "globex-secret" in body and "guess-1" in body and "tok-000" in body
    assert "Globex</td>" in body and "—</td>" in body  # no customer: an unknown token
    assert '<option value="acme"' in body
    one = client.get(HISTORY, {"customer": "acme", "pageSize": 50})
    assert "globex-secret" not in one.content.decode() and len(tokens(one)) == 30
    unknown = client.get(HISTORY, {"customer": "nobody"})
    assert 'no customer with slug "nobody"' in unknown.content.decode()
    assert unknown.context["object_list"] == []


@pytest.mark.django_db
def test_staff_listing_everyone_sort_by_time_only(rows, portal_client, staff):
    client = portal_client(staff)
    refused = client.get(HISTORY, {"ordering": "token"})
    assert "sorting by token needs one customer" in refused.content.decode()
    assert client.get(HISTORY, {"ordering": "created"}).context["object_list"]
    assert tokens(client.get(HISTORY, {"ordering": "token", "customer": "acme"}))[0] == "tok-000"
    # Where it cannot sort, the header is no link.
    assert 'href="?ordering=token' not in client.get(HISTORY).content.decode()


@pytest.mark.django_db
def test_history_empty_states(portal_client, viewer):
    client = portal_client(viewer)
    assert "No device requests yet" in client.get(HISTORY).content.decode()
    assert "Clear the filters" in client.get(HISTORY, {"q": "zzz"}).content.decode()


# --- Live refresh ----------------------------------------------------------------------


@pytest.mark.django_db
def test_live_refresh_answers_only_when_newer_rows_match(customer, portal_client, viewer):
    make_history(customer, 5)
    client = portal_client(viewer)
    page = client.get(HISTORY)
    newest = page.context["newest"]
    assert 'data-live-url="?"' in page.content.decode()
    assert client.get(HISTORY, {"live": newest}).status_code == 204
    history_record(customer_id=customer.pk, action="TOKEN", result="OK", token="fresh-1")
    fresh = client.get(HISTORY, {"live": newest})
    assert fresh.status_code == 200
    assert "fresh-1" in fresh.content.decode() and "<html" not in fresh.content.decode()
    # A filter the new row does not match: nothing to show.
    assert client.get(HISTORY, {"live": newest, "result": "REVOKED"}).status_code == 204


@pytest.mark.django_db
def test_live_refresh_only_on_the_first_page_in_the_default_order(customer, portal_client, viewer):
    make_history(customer, 30)
    client = portal_client(viewer)
    second = client.get(HISTORY, {"cursor": client.get(HISTORY).context["page"].next_cursor})
    assert "data-live-url" not in second.content.decode()
    assert "data-live-url" not in client.get(HISTORY, {"ordering": "token"}).content.decode()
    history_record(customer_id=customer.pk, action="TOKEN", result="OK", token="fresh-1")
    assert client.get(HISTORY, {"live": 1, "ordering": "token"}).status_code == 204


# --- Events ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_events_list_filters_and_hides_other_customers(
    rows, portal_client, admin, django_assert_max_num_queries
):
    EventActor.objects.create(customer=admin.customer, username=admin.username)
    client = portal_client(admin)
    # session, user, customer, the user filter's names, the page, the count
    with django_assert_max_num_queries(6):
        response = client.get(EVENTS, {"user": admin.username, "type": "TOKEN_ADDED"})
    body = response.content.decode()
    assert "30 record(s) found" in body
    assert "globex-secret" not in body
    assert f'<option value="{admin.username}" selected>' in body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"type": "BOOTSTRAP_ADDED"}, [3]),
        ({"severity": "ERROR"}, [4]),
        ({"user": "sam"}, [5]),
        ({"q": "TOK-007"}, [7]),
        ({"dateFrom": "2026-03-02"}, []),
    ],
)
def test_events_filters(customer, portal_client, super_admin, query, expected):
    make_events(
        customer,
        10,
        type=lambda i: "BOOTSTRAP_ADDED" if i == 3 else "TOKEN_ADDED",
        severity=lambda i: "ERROR" if i == 4 else "INFO",
        username=lambda i: "sam" if i == 5 else "ada",
    )
    found = portal_client(super_admin).get(EVENTS, query).context["object_list"]
    assert [event.info for event in found] == [f"Token tok-{i:03} added" for i in expected]


@pytest.mark.django_db
@pytest.mark.parametrize("column", ["created", "user", "type", "severity"])
def test_events_sort_by_each_column_then_time(customer, portal_client, super_admin, column):
    made = make_events(
        customer,
        9,
        type=lambda i: ["TOKEN_ADDED", "BOOTSTRAP_ADDED", "SITE_SYNC"][i % 3],
        severity=lambda i: ["INFO", "WARNING"][i % 2],
        username=lambda i: ["ada", "sam", ""][i % 3],
    )
    field = {"user": "username"}.get(column, column)
    for descending in (False, True):
        ordering = f"-{column}" if descending else column
        got = portal_client(super_admin).get(EVENTS, {"ordering": ordering}).context["object_list"]
        want = sorted(made, key=lambda e: (getattr(e, field), e.created, e.pk), reverse=descending)
        assert [e.pk for e in got] == [e.pk for e in want]


@pytest.mark.django_db
def test_events_user_filter_lists_the_customers_actors_not_a_distinct_over_the_log(
    customer, other_customer, portal_client, super_admin
):
    EventActor.objects.create(customer=customer, username="ada")
    EventActor.objects.create(customer=other_customer, username="otto")
    body = portal_client(super_admin).get(EVENTS).content.decode()
    assert '<option value="ada">' in body and "otto" not in body


@pytest.mark.django_db
def test_events_type_menu_offers_only_types_the_role_may_see(portal_client, viewer, super_admin):
    viewer_menu = portal_client(viewer).get(EVENTS).context["types"]
    assert "LICENSE_SYNC_GET" not in dict(viewer_menu) and "USER_ADDED" not in dict(viewer_menu)
    assert "TOKEN_ADDED" in dict(viewer_menu)
    admin_menu = portal_client(super_admin).get(EVENTS).context["types"]
    assert "LICENSE_SYNC_GET" in dict(admin_menu)


@pytest.mark.django_db
def test_staff_see_every_customers_events_with_a_customer_column(rows, portal_client, staff):
    body = portal_client(staff).get(EVENTS, {"pageSize": 50}).content.decode()
    assert "Token globex-secret" in body and "<th>Customer</th>" in body
    one = portal_client(staff).get(EVENTS, {"customer": "acme"}).content.decode()
    assert "globex-secret" not in one and "<th>Customer</th>" not in one


@pytest.mark.django_db
def test_events_live_refresh(customer, portal_client, viewer, admin):
    make_events(customer, 3)
    client = portal_client(viewer)
    newest = client.get(EVENTS).context["newest"]
    assert client.get(EVENTS, {"live": newest}).status_code == 204
    event_log(customer=customer, user=admin, type="TOKEN_ADDED", info="Token fresh added")
    assert "Token fresh added" in client.get(EVENTS, {"live": newest}).content.decode()
    # A license event is no news for a User.
    newest = Event.objects.latest("pk").pk
    event_log(customer=customer, user=None, type="LICENSE_SYNC_GET", info="3 lines")
    assert client.get(EVENTS, {"live": newest}).status_code == 204


@pytest.mark.django_db
def test_event_keeps_the_username_after_the_user_is_deleted(customer, admin):
    event = event_log(customer=customer, user=admin, type="TOKEN_ADDED", info="did it")
    admin.delete()
    event.refresh_from_db()
    assert (event.user, event.username) == (None, "ada")


@pytest.mark.django_db
def test_events_empty_states(portal_client, viewer):
    client = portal_client(viewer)
    assert "No events yet" in client.get(EVENTS).content.decode()
    assert "Clear the filters" in client.get(EVENTS, {"q": "zzz"}).content.decode()
    assert History.objects.count() == Event.objects.count() == 0


@pytest.mark.django_db
def test_the_events_cap_is_the_historys(monkeypatch):
    assert EventListView.count_cap == HistoryView.count_cap == 10_000


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["super_admin", "admin", "viewer", "staff"])
def test_every_role_opens_both_pages_and_the_outsider_sees_only_their_own(
    rows, users, who, portal_client
):
    client = portal_client(users[who])
    for url in (HISTORY, EVENTS):
        response = client.get(url)
        assert response.status_code == 200
    outsider = portal_client(users["outsider"])
    for url in (HISTORY, EVENTS):
        body = outsider.get(url, {"customer": "acme"}).content.decode()
        assert "tok-0" not in body and "Acme" not in body
