"""The dashboard page, its JSON for the page's polling, and the admin API's
/dashboard/licenses and /dashboard/tokens: who sees which graph, for which customer, over
which days, and that every answer reads the rollups in a constant few queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from reports.models import AppId, LicenseRollup, RollupWatermark, TokenRequestRollup
from reports.rollups import TOKEN_WATERMARK

LICENSES_API = "/admin/api/v1/dashboard/licenses"
TOKENS_API = "/admin/api/v1/dashboard/tokens"


def days_ago(n: int):
    return timezone.localdate() - timedelta(days=n)


@pytest.fixture
def rollups(customer, other_customer):
    """A week of numbers for the customer, and other numbers for the outsider's."""
    now = timezone.now()
    for n in range(7):
        LicenseRollup.objects.create(
            customer=customer,
            day=days_ago(n),
            premium_used=3,
            premium_total=5,
            standard_used=11 + n,
            standard_total=30,
            updated=now,
        )
        TokenRequestRollup.objects.create(
            customer=customer, day=days_ago(n), app_id=AppId.VOICE, requests=100 + n
        )
    TokenRequestRollup.objects.create(
        customer=customer, day=days_ago(40), app_id=AppId.PTT_PRO, requests=7
    )
    TokenRequestRollup.objects.create(customer=customer, day=days_ago(1), app_id="", requests=2)
    LicenseRollup.objects.create(
        customer=other_customer,
        day=days_ago(0),
        premium_used=9876,
        premium_total=9877,
        standard_used=0,
        standard_total=0,
        updated=now,
    )
    TokenRequestRollup.objects.create(
        customer=other_customer, day=days_ago(0), app_id=AppId.VOICE, requests=5555
    )
    RollupWatermark.objects.create(name=TOKEN_WATERMARK, last_id=1, updated=now)


def series(body: dict) -> dict[str, list]:
    return {s["key"]: s["values"] for s in body["series"]}


# --- The page -------------------------------------------------------------------------------


def test_super_admin_sees_both_graphs_with_their_tables(rollups, super_admin, portal_client):
    page = portal_client(super_admin).get(reverse("reports:dashboard")).content.decode()
    assert "Assigned licenses" in page and "Token requests" in page
    # The tables under the graphs, newest day first.
    assert "Premium used" in page and "Standard total" in page
    assert '<td class="number">11</td>' in page and '<td class="number">100</td>' in page
    assert "Other apps" in page  # an app value the product does not know
    assert 'id="graph-licenses-data"' in page and 'id="graph-tokens-data"' in page
    assert "vendor/uplot/uPlot.iife.min.js" in page
    assert "9876" not in page and "5555" not in page


@pytest.mark.parametrize("who", ["admin", "viewer"])
def test_admin_and_user_see_only_the_token_graph(rollups, users, who, portal_client):
    page = portal_client(users[who]).get(reverse("reports:dashboard")).content.decode()
    assert "Token requests" in page
    assert "Assigned licenses" not in page
    assert "graph-licenses-data" not in page and "Premium used" not in page


def test_staff_see_the_customer_they_act_for(rollups, staff, portal_client):
    page = portal_client(staff).get(reverse("reports:dashboard")).content.decode()
    assert "Assigned licenses" in page
    assert '<td class="number">106</td>' in page
    assert "5555" not in page


def test_the_outsider_sees_only_their_own_numbers(rollups, outsider, portal_client):
    page = portal_client(outsider).get(reverse("reports:dashboard")).content.decode()
    assert "9876" in page and "5555" in page
    assert '<td class="number">106</td>' not in page


def test_the_range_chooses_the_days(rollups, super_admin, portal_client):
    client = portal_client(super_admin)
    month = client.get(reverse("reports:dashboard")).context["span"]
    assert month.last == timezone.localdate() and 28 <= len(month.days) <= 31
    half_year = client.get(reverse("reports:dashboard"), {"range": "6m"})
    assert 181 <= len(half_year.context["span"].days) <= 184
    assert half_year.context["current_range"] == "6m"
    chosen = client.get(
        reverse("reports:dashboard"), {"from": f"{days_ago(45)}", "to": f"{days_ago(35)}"}
    )
    assert chosen.context["current_range"] == ""
    page = chosen.content.decode()
    assert f"{days_ago(40)}" in page and '<td class="number">7</td>' in page


def test_bad_dates_on_the_page_say_so_and_show_the_last_month(super_admin, portal_client):
    response = portal_client(super_admin).get(reverse("reports:dashboard"), {"from": "2026-02-30"})
    assert response.status_code == 200
    assert "from: expected a date as YYYY-MM-DD" in response.content.decode()
    assert response.context["span"].last == timezone.localdate()


def test_empty_states_explain_what_will_appear(super_admin, portal_client):
    page = portal_client(super_admin).get(reverse("reports:dashboard")).content.decode()
    assert "No license numbers for these days" in page
    assert "Numbers are recorded every 15 minutes" in page
    assert "No token requests in these days" in page
    assert "Requests appear here within about two minutes" in page


def test_the_page_reads_the_rollups_in_a_few_queries(
    rollups, super_admin, portal_client, django_assert_max_num_queries
):
    client = portal_client(super_admin)
    # Session, user, customer, the license rollup, the token rollup and its watermark,
    # and the toolbar's count of direct additions: the same for a month or six.
    for query in ({}, {"range": "6m"}):
        with django_assert_max_num_queries(7):
            assert client.get(reverse("reports:dashboard"), query).status_code == 200


# --- The page's JSON ----------------------------------------------------------------------


def test_the_page_polls_the_same_answers_as_the_api(rollups, super_admin, portal_client):
    client = portal_client(super_admin)
    body = client.get(reverse("reports:dashboard_tokens"), {"range": "3m"}).json()
    assert body["to"] == f"{timezone.localdate()}"
    assert series(body)[AppId.VOICE][-1] == 100
    assert series(body)[AppId.PTT_PRO][-41] == 7
    licenses = client.get(reverse("reports:dashboard_licenses")).json()
    assert series(licenses)["standardUsed"][-7:] == [17, 16, 15, 14, 13, 12, 11]


@pytest.mark.parametrize("who", ["admin", "viewer"])
def test_the_license_json_does_not_exist_for_admin_and_user(rollups, users, who, portal_client):
    client = portal_client(users[who])
    assert client.get(reverse("reports:dashboard_licenses")).status_code == 403
    assert client.get(reverse("reports:dashboard_tokens")).status_code == 200


def test_the_page_json_names_a_bad_parameter(super_admin, portal_client):
    response = portal_client(super_admin).get(reverse("reports:dashboard_tokens"), {"range": "2m"})
    assert response.status_code == 400
    assert list(response.json()) == ["range"]


def test_the_page_json_needs_a_session(client):
    response = client.get(reverse("reports:dashboard_tokens"))
    assert response.status_code == 302


# --- The admin API ------------------------------------------------------------------------


def test_super_admin_reads_both_graphs(rollups, super_admin, api_client):
    api = api_client(super_admin)
    licenses = api.get(LICENSES_API).json()
    assert [s["key"] for s in licenses["series"]] == [
        "premiumUsed",
        "premiumTotal",
        "standardUsed",
        "standardTotal",
    ]
    assert licenses["dates"][-1] == licenses["to"] == f"{timezone.localdate()}"
    assert licenses["empty"] is False and licenses["updated"]
    values = series(licenses)
    assert values["premiumTotal"][-1] == 5 and values["standardUsed"][-1] == 11
    # Days without a snapshot are null, not zero.
    assert values["premiumUsed"][0] is None

    tokens = api.get(TOKENS_API, {"range": "1m"}).json()
    keys = [s["key"] for s in tokens["series"]]
    assert keys == [*AppId.values, "other"]
    voice = next(s for s in tokens["series"] if s["key"] == AppId.VOICE)
    assert voice["label"] == "Zebra Voice (Android)"
    assert voice["total"] == sum(100 + n for n in range(7))
    assert series(tokens)["other"][-2] == 2
    assert series(tokens)[AppId.PTT_PRO] == [0] * len(tokens["dates"])


@pytest.mark.parametrize("who", ["admin", "viewer"])
def test_admin_and_user_get_404_for_licenses(rollups, users, who, api_client):
    api = api_client(users[who])
    assert api.get(LICENSES_API).status_code == 404
    response = api.get(TOKENS_API)
    assert response.status_code == 200
    assert series(response.json())[AppId.VOICE][-1] == 100


def test_staff_name_the_customer(rollups, staff, api_client):
    api = api_client(staff)
    assert api.get(TOKENS_API).json() == {
        "customer": ["staff name the customer they act for with ?customer=<slug>"]
    }
    body = api.get(LICENSES_API, {"customer": "acme"}).json()
    assert series(body)["standardUsed"][-1] == 11
    assert series(api.get(TOKENS_API, {"customer": "globex"}).json())[AppId.VOICE][-1] == 5555


def test_the_outsider_reads_their_own_customer(rollups, outsider, api_client):
    api = api_client(outsider)
    assert series(api.get(LICENSES_API).json())["premiumUsed"][-1] == 9876
    # ?customer= is for staff; anyone else only ever sees their own customer.
    tokens = api.get(TOKENS_API, {"customer": "acme"}).json()
    assert series(tokens)[AppId.VOICE][-1] == 5555
    assert "other" not in series(tokens)


def test_anonymous_is_refused(rollups, api_client):
    assert api_client().get(TOKENS_API).status_code == 401


@pytest.mark.parametrize(
    ("query", "days"),
    [
        ({}, range(28, 32)),
        ({"range": "3m"}, range(89, 93)),
        ({"range": "6m"}, range(181, 185)),
        ({"from": "2026-01-01", "to": "2026-01-31"}, [31]),
        ({"from": "2026-01-31", "to": "2026-01-01"}, [31]),
        ({"from": "2000-01-01", "to": "2026-01-31"}, [400]),
    ],
)
def test_the_range_selects_the_days(super_admin, api_client, query, days):
    body = api_client(super_admin).get(TOKENS_API, query).json()
    assert len(body["dates"]) in days
    assert body["dates"][0] == body["from"] and body["dates"][-1] == body["to"]
    if "from" in query:
        assert body["to"] == max(query["from"], query["to"])


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"range": "2m"}, "range", '"2m" is not a valid choice.'),
        ({"range": ""}, "range", '"" is not a valid choice.'),
        ({"from": "2026-02-30"}, "from", "expected a date as YYYY-MM-DD, got '2026-02-30'"),
        ({"to": "20260101"}, "to", "expected a date as YYYY-MM-DD, got '20260101'"),
        ({"to": "2026-W01-1"}, "to", "expected a date as YYYY-MM-DD"),
        ({"from": ""}, "from", "expected a date as YYYY-MM-DD"),
    ],
)
def test_validation_errors_name_the_parameter(super_admin, api_client, query, field, message):
    for path in (LICENSES_API, TOKENS_API):
        response = api_client(super_admin).get(path, query)
        assert response.status_code == 400
        body = response.json()
        assert list(body) == [field]
        assert message in body[field][0]


def test_empty_answers_say_so(super_admin, api_client):
    api = api_client(super_admin)
    licenses = api.get(LICENSES_API).json()
    assert licenses["empty"] is True and licenses["updated"] is None
    assert all(v is None for s in licenses["series"] for v in s["values"])
    tokens = api.get(TOKENS_API).json()
    assert tokens["empty"] is True
    assert [s["key"] for s in tokens["series"]] == AppId.values


@pytest.mark.parametrize("path", [LICENSES_API, TOKENS_API])
def test_each_call_reads_the_rollups_in_a_few_queries(
    rollups, super_admin, api_client, path, django_assert_max_num_queries
):
    api = api_client(super_admin)
    # The token's user, the customer, the rollup, and for tokens the watermark.
    for query in ({}, {"range": "6m"}, {"from": "2025-01-01", "to": "2026-01-01"}):
        with django_assert_max_num_queries(4):
            assert api.get(path, query).status_code == 200


# --- The demo -------------------------------------------------------------------------------


def test_the_demo_gives_both_graphs_something_to_show(customer, monkeypatch):
    from config.management.commands import loaddemo
    from licensing.models import Entitlement, LicenseType
    from reports.models import History

    monkeypatch.setattr(loaddemo, "DEMO_HISTORY_ROWS", 600)
    monkeypatch.setattr(loaddemo, "DEMO_EVENTS", 20)
    Entitlement.objects.create(
        customer=customer,
        activation_id="demo-0001",
        license_type=LicenseType.STANDARD,
        total=20,
        expiration=timezone.now() + timedelta(days=200),
    )
    loaddemo._seed_dashboard(customer)

    tokens = TokenRequestRollup.objects.for_customer(customer)
    raw = History.objects.for_customer(customer).filter(action="TOKEN").count()
    assert raw > 100 and sum(tokens.values_list("requests", flat=True)) == raw
    licenses = LicenseRollup.objects.for_customer(customer)
    assert licenses.count() == 56
    assert set(licenses.values_list("standard_total", flat=True)) == {20}
