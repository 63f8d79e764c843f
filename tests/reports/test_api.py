"""GET /admin/api/v1/history and /events: the pages' filters, keyset paging through
`next`/`previous`, the roles (license events only for those who may view licenses),
staff's every-customer view, the outsider, and a constant query count."""

from __future__ import annotations

import pytest

from reports.models import History
from reports.services import event_log
from tests.reports.rows import make_events, make_history

HISTORY = "/admin/api/v1/history"
EVENTS = "/admin/api/v1/events"


def walk(api, url, query) -> list[dict]:
    """Every row, following `next`."""
    rows, answer = [], api.get(url, query).json()
    rows += answer["results"]
    while answer["next"]:
        answer = api.get(answer["next"]).json()
        rows += answer["results"]
    return rows


@pytest.mark.django_db
def test_history_api_fields_and_paging(customer, api_client, viewer):
    made = make_history(customer, 12)
    api = api_client(viewer)
    answer = api.get(HISTORY, {"pageSize": 5}).json()
    assert set(answer) == {"next", "previous", "results"}
    assert answer["previous"] is None and "cursor=n" in answer["next"]
    assert answer["results"][0] == {
        "id": made[-1].pk,
        "customer": "acme",
        "timestamp": "2026-03-01T12:11:00Z",
        "action": "TOKEN",
        "token": "tok-011",
        "appId": "WFC_VOICE_ANDROID",
        "deviceId": "TC52_0011",
        "result": "OK",
        "ipAddress": "10.0.0.1",
    }
    rows = walk(api, HISTORY, {"pageSize": 5})
    assert [row["token"] for row in rows] == [f"tok-{i:03}" for i in range(11, -1, -1)]
    second = api.get(answer["next"]).json()
    back = api.get(second["previous"]).json()
    assert back["results"] == answer["results"]
    last = api.get(HISTORY, {"pageSize": 5, "cursor": "last"}).json()
    assert [row["token"] for row in last["results"]][-1] == "tok-000" and last["next"] is None


@pytest.mark.django_db
def test_history_api_filters_and_sorts_like_the_page(customer, api_client, viewer):
    make_history(
        customer,
        20,
        result=lambda i: "REVOKED" if i % 4 == 0 else "OK",
        token=lambda i: f"t{i % 5}",
    )
    rows = walk(api_client(viewer), HISTORY, {"result": "REVOKED", "ordering": "token"})
    # Rows 0, 4, 8, 12, 16 are refused; their tokens t0, t4, t3, t2, t1, sorted.
    assert [(row["token"], row["result"]) for row in rows] == [
        (f"t{n}", "REVOKED") for n in range(5)
    ]
    assert walk(api_client(viewer), HISTORY, {"q": "T3"}) and all(
        row["token"] == "t3" for row in walk(api_client(viewer), HISTORY, {"q": "T3"})
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"result": "NOPE"}, "result"),
        ({"ordering": "ip"}, "ordering"),
        ({"dateFrom": "2026-02-30"}, "dateFrom"),
        ({"dateTo": "20260101"}, "dateTo"),
        ({"dateFrom": ""}, "dateFrom"),
        ({"cursor": "x1"}, "cursor"),
        ({"cursor": ""}, "cursor"),
        ({"pageSize": "0"}, "pageSize"),
        ({"q": "x" * 129}, "q"),
    ],
)
def test_history_api_refuses_bad_input_naming_it(customer, api_client, viewer, query, field):
    response = api_client(viewer).get(HISTORY, query)
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.django_db
def test_a_cursor_whose_row_is_gone_is_404(customer, other_customer, api_client, viewer):
    made = make_history(customer, 3)
    foreign = make_history(other_customer, 1)[0]
    api = api_client(viewer)
    assert api.get(HISTORY, {"cursor": f"n{foreign.pk}"}).status_code == 404
    History.objects.filter(pk=made[1].pk).delete()
    gone = api.get(HISTORY, {"cursor": f"n{made[1].pk}"})
    assert gone.status_code == 404 and "start again" in gone.json()["detail"]


@pytest.mark.django_db
def test_api_queries_do_not_grow_with_rows_or_depth(
    customer, api_client, viewer, django_assert_num_queries
):
    make_history(customer, 200)
    api = api_client(viewer)
    # the token's user, its customer (still active?), the page
    with django_assert_num_queries(3):
        first = api.get(HISTORY, {"pageSize": 20}).json()
    # … and the cursor's row
    with django_assert_num_queries(4):
        api.get(first["next"])


@pytest.mark.django_db
def test_staff_list_every_customer_or_one(customer, other_customer, api_client, staff):
    make_history(customer, 2)
    make_history(other_customer, 1, token="globex")
    History.objects.create(action="TOKEN", result="UNKNOWN_TOKEN", token="guess")
    api = api_client(staff)
    everyone = walk(api, HISTORY, {})
    assert {row["customer"] for row in everyone} == {"acme", "globex", None}
    assert {row["customer"] for row in walk(api, HISTORY, {"customer": "globex"})} == {"globex"}
    assert api.get(HISTORY, {"customer": "nobody"}).status_code == 400
    refused = api.get(HISTORY, {"ordering": "token"})
    assert refused.status_code == 400 and "needs one customer" in str(refused.json())
    assert api.get(HISTORY, {"ordering": "token", "customer": "acme"}).status_code == 200


@pytest.mark.django_db
def test_the_outsider_gets_only_their_own_rows(customer, other_customer, api_client, outsider):
    make_history(customer, 3)
    make_events(customer, 3)
    api = api_client(outsider)
    assert api.get(HISTORY, {"customer": "acme"}).json()["results"] == []
    assert api.get(EVENTS, {"customer": "acme"}).json()["results"] == []


@pytest.mark.django_db
def test_anonymous_is_401(api_client):
    assert api_client().get(HISTORY).status_code == 401
    assert api_client().get(EVENTS).status_code == 401


@pytest.mark.django_db
def test_events_api_fields_filters_and_roles(customer, api_client, admin, super_admin):
    event_log(customer=customer, user=admin, type="TOKEN_ADDED", info="Token t added")
    event_log(
        customer=customer, user=None, type="LICENSE_SYNC_GET", info="2 lines", severity="ERROR"
    )
    mine = api_client(admin).get(EVENTS).json()["results"]
    assert [row["type"] for row in mine] == ["TOKEN_ADDED"]
    assert set(mine[0]) == {
        "id",
        "customer",
        "timestamp",
        "user",
        "type",
        "severity",
        "area",
        "info",
        "data",
    }
    assert (mine[0]["user"], mine[0]["area"]) == ("ada", "tokens")
    everything = api_client(super_admin).get(EVENTS, {"severity": "ERROR"}).json()["results"]
    assert [row["type"] for row in everything] == ["LICENSE_SYNC_GET"]
    assert api_client(admin).get(EVENTS, {"type": "LICENSE_SYNC_GET"}).json()["results"] == []
