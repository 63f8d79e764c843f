"""The token admin API: `POST/GET/DELETE /token?…` and `GET /tokens`, as existing scripts
call them, and the admin guide's two curl examples over real HTTP."""

import gc
import http.client
import json
import tracemalloc
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from provisioning.models import Token
from reports.models import AppId, Event
from tests.factories import PASSWORD
from tests.provisioning.factories import BootstrapFactory, TokenFactory

pytestmark = pytest.mark.django_db

ONE = "/admin/api/v1/token"
LIST = "/admin/api/v1/tokens"
TOKEN_KEYS = {
    "name",
    "appId",
    "bootstrap",
    "parameters",
    "description",
    "expiresAt",
    "maxRedemptions",
    "revoked",
    "redemptionCount",
    "lastRedeemed",
    "intent",
    "version",
    "created",
    "updated",
}


def all_rows(response) -> list:
    """The answer of a list endpoint without paging: every row, as one streamed array."""
    assert response.status_code == 200
    assert response.streaming
    return json.loads(b"".join(response.streaming_content))


@pytest.fixture
def site(customer):
    return BootstrapFactory(customer=customer, name="myBootstrap", parameters={"site": "s-1"})


def save(api, query: str, **headers):
    """POST /token the way the guide's curl does: query only, no body, no Content-Type."""
    return api.generic("POST", f"{ONE}?{query}", content_type=None, headers=headers)


# --- The admin guide's script, over HTTP ------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_guides_curl_examples_work_unchanged(live_server, admin):
    server = urlsplit(live_server.url)

    def call(method, path, body=None, headers=()):
        connection = http.client.HTTPConnection(server.hostname, server.port, timeout=10)
        connection.request(method, path, body=body, headers=dict(headers))
        response = connection.getresponse()
        payload = response.read()
        connection.close()
        return response.status, dict(response.getheaders()), payload

    status, _, body = call(
        "POST",
        "/admin/api/v1/auth/admin",
        json.dumps({"username": admin.username, "password": PASSWORD}),
        {"Content-Type": "application/json"},
    )
    assert status == 200, body
    login = json.loads(body)
    bearer = {"accept": "*/*", "authorization": f"{login['tokenType']} {login['accessToken']}"}

    # curl -X POST <PVM URL>/admin/api/v1/bootstrap?name=myBootstrap -H "accept: */*"
    #   -H "authorization: Bearer <myAccessToken>" -H "Content-Type: application/json"
    #   -d "{\"site\":\"site-1094\"}"
    status, headers, body = call(
        "POST",
        "/admin/api/v1/bootstrap?name=myBootstrap",
        '{"site":"site-1094"}',
        {**bearer, "Content-Type": "application/json"},
    )
    assert status == 201, body
    assert headers["ETag"] == '"1"'

    # curl -X POST <PVM URL>/admin/api/v1/token?appId=WFC_PRO_ANDROID&bootstrap=myBootstrap
    #   &description=<optional-description>&name=myToken -H "accept: */*"
    #   -H "authorization: Bearer <myAccessToken>"
    status, _, body = call(
        "POST",
        "/admin/api/v1/token?appId=WFC_PRO_ANDROID&bootstrap=myBootstrap"
        "&description=<optional-description>&name=myToken",
        headers=bearer,
    )
    assert status == 201, body

    status, _, body = call("GET", "/admin/api/v1/bootstrap?name=myBootstrap", headers=bearer)
    assert status == 200
    assert json.loads(body)["parameters"] == {"site": "site-1094"}

    status, headers, body = call("GET", "/admin/api/v1/token?name=myToken", headers=bearer)
    assert status == 200
    token = json.loads(body)
    assert token["name"] == "myToken"
    assert token["appId"] == "WFC_PRO_ANDROID"
    assert token["bootstrap"] == "myBootstrap"
    assert token["parameters"] == {"site": "site-1094"}
    assert token["description"] == "<optional-description>"
    assert token["intent"] == "wfctp://myToken"
    assert headers["ETag"] == '"1"'


# --- Add, replace, read, delete ---------------------------------------------------------


def test_post_adds_a_token_with_the_documented_shape(admin, customer, site, api_client):
    response = save(
        api_client(admin),
        "appId=WFC_PRO_ANDROID&bootstrap=myBootstrap&description=Floor%202&name=myToken",
        accept="*/*",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == TOKEN_KEYS
    assert body == {
        **body,
        "name": "myToken",
        "appId": "WFC_PRO_ANDROID",
        "bootstrap": "myBootstrap",
        "parameters": {"site": "s-1"},
        "description": "Floor 2",
        "expiresAt": None,
        "maxRedemptions": None,
        "revoked": False,
        "redemptionCount": 0,
        "lastRedeemed": None,
        "intent": "wfctp://myToken",
        "version": 1,
    }
    assert response["ETag"] == '"1"'
    [added] = Event.objects.for_customer(customer).filter(type="TOKEN_ADDED")
    assert added.username == admin.username


def test_ios_tokens_have_no_intent(admin, site, api_client):
    response = save(api_client(admin), "appId=WFC_PRO_IOS&bootstrap=myBootstrap&name=ios-01")
    assert response.status_code == 201
    assert response.json()["intent"] is None


def test_optional_parameters_are_stored(admin, customer, site, api_client):
    response = save(
        api_client(admin),
        "appId=WFC_VOICE_ANDROID&bootstrap=myBootstrap&name=token-1"
        "&expiresAt=2030-01-31T12:00:00Z&maxRedemptions=25&revoked=true",
    )
    assert response.status_code == 201, response.content
    assert response.json()["expiresAt"] == "2030-01-31T12:00:00Z"
    token = Token.objects.for_customer(customer).get()
    assert token.expires_at == datetime(2030, 1, 31, 12, tzinfo=UTC)
    assert token.max_redemptions == 25
    assert token.revoked is True


def test_post_replaces_case_insensitively_with_version_and_event(admin, customer, site, api_client):
    other = BootstrapFactory(customer=customer, name="other", parameters={"site": "s-2"})
    TokenFactory(customer=customer, value="myToken", bootstrap=site, description="old")
    api = api_client(admin)

    response = save(api, "appId=WFC_PRO_ANDROID&bootstrap=other&description=new&name=MYTOKEN")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["bootstrap"], body["version"]) == ("MYTOKEN", "other", 2)
    assert body["parameters"] == {"site": "s-2"}
    assert response["ETag"] == '"2"'
    token = Token.objects.for_customer(customer).get()
    assert token.bootstrap == other
    [event] = Event.objects.for_customer(customer).filter(type="TOKEN_UPDATED")
    assert event.data["before"]["bootstrap"] == "myBootstrap"
    assert event.data["before"]["description"] == "old"
    assert event.data["after"]["bootstrap"] == "other"
    assert event.data["after"]["version"] == 2


def test_get_matches_the_name_ignoring_case(viewer, customer, site, api_client):
    TokenFactory(customer=customer, value="Floor-3", bootstrap=site)
    response = api_client(viewer).get(ONE, {"name": "fLOOR-3"})
    assert response.status_code == 200
    assert response.json()["name"] == "Floor-3"
    assert response["ETag"] == '"1"'


def test_delete_removes_it_and_logs_an_event(admin, customer, site, api_client):
    TokenFactory(customer=customer, value="token-1", bootstrap=site)
    response = api_client(admin).delete(ONE + "?name=TOKEN-1")
    assert response.status_code == 204
    assert not Token.objects.for_customer(customer).exists()
    assert Event.objects.for_customer(customer).filter(type="TOKEN_DELETED").count() == 1


def test_unknown_name_is_404_and_missing_name_400(admin, api_client):
    api = api_client(admin)
    assert api.get(ONE, {"name": "nope"}).status_code == 404
    assert api.delete(ONE + "?name=nope").status_code == 404
    assert "name" in api.get(ONE).json()
    assert "name" in api.delete(ONE).json()


# --- Validation -----------------------------------------------------------------------

GOOD = {"appId": "WFC_PRO_ANDROID", "bootstrap": "myBootstrap", "name": "token-01"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"name": "has%20space"}, "name"),
        ({"name": "has%23hash"}, "name"),
        ({"name": "semi;colon"}, "name"),
        ({"appId": None}, "appId"),
        ({"appId": "WFC_UNKNOWN"}, "appId"),
        ({"bootstrap": None}, "bootstrap"),
        ({"bootstrap": "noSuchBootstrap"}, "bootstrap"),
        ({"bootstrap": "theirs"}, "bootstrap"),
        ({"description": "d" * 256}, "description"),
        ({"expiresAt": "tomorrow"}, "expiresAt"),
        ({"expiresAt": "2030-13-01T00:00:00Z"}, "expiresAt"),
        ({"maxRedemptions": "many"}, "maxRedemptions"),
        ({"maxRedemptions": "0"}, "maxRedemptions"),
        ({"maxRedemptions": "-3"}, "maxRedemptions"),
        ({"maxRedemptions": "99999999999"}, "maxRedemptions"),
        ({"revoked": "maybe"}, "revoked"),
    ],
)
def test_bad_input_is_400_naming_the_field(
    change, field, admin, customer, other_customer, site, api_client
):
    BootstrapFactory(customer=other_customer, name="theirs")
    params = {**GOOD, **change}
    query = "&".join(f"{k}={v}" for k, v in params.items() if v is not None)

    response = save(api_client(admin), query)

    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not Token.objects.exists()
    assert not Event.objects.filter(type__startswith="TOKEN").exists()


def test_64_characters_is_fine(admin, site, api_client):
    name = "a" * 64
    assert (
        save(
            api_client(admin), f"appId=WFC_PRO_ANDROID&bootstrap=myBootstrap&name={name}"
        ).status_code
        == 201
    )


def test_a_token_another_customer_holds_is_refused_without_saying_whose(
    admin, customer, other_customer, site, api_client
):
    TokenFactory(customer=other_customer, value="shared-name")
    response = save(
        api_client(admin), "appId=WFC_PRO_ANDROID&bootstrap=myBootstrap&name=SHARED-name"
    )
    assert response.status_code == 400
    detail = " ".join(response.json()["name"])
    assert "already in use" in detail
    assert other_customer.name not in detail
    assert not Token.objects.for_customer(customer).exists()


def test_a_body_is_ignored(admin, site, api_client):
    response = api_client(admin).post(
        f"{ONE}?appId=WFC_PRO_ANDROID&bootstrap=myBootstrap&name=token-1",
        {"name": "other"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["name"] == "token-1"


# --- Concurrency ----------------------------------------------------------------------


def test_stale_if_match_is_409_and_changes_nothing(admin, customer, site, api_client):
    token = TokenFactory(
        customer=customer, value="token-1", bootstrap=site, description="v3", version=3
    )

    response = save(
        api_client(admin),
        "appId=WFC_PRO_ANDROID&bootstrap=myBootstrap&description=mine&name=token-1",
        **{"If-Match": '"2"'},
    )

    assert response.status_code == 409
    assert response.json()["error"] == "stale_version"
    assert response.json()["detail"]
    token.refresh_from_db()
    assert (token.description, token.version, token.app_id) == ("v3", 3, AppId.VOICE)
    assert not Event.objects.exists()


@pytest.mark.parametrize("header", ['"3"', "3", "*"])
def test_current_if_match_replaces(header, admin, customer, site, api_client):
    TokenFactory(customer=customer, value="token-1", bootstrap=site, version=3)
    response = save(
        api_client(admin),
        "appId=WFC_PRO_ANDROID&bootstrap=myBootstrap&name=token-1",
        **{"If-Match": header},
    )
    assert response.status_code == 200
    assert response["ETag"] == '"4"'


def test_weak_if_match_is_409_and_if_match_any_needs_the_token(admin, customer, site, api_client):
    TokenFactory(customer=customer, value="token-1", bootstrap=site, version=3)
    query = "appId=WFC_PRO_ANDROID&bootstrap=myBootstrap&name="
    api = api_client(admin)
    weak = save(api, query + "token-1", **{"If-Match": 'W/"3"'})
    assert weak.status_code == 409 and weak.json()["error"] == "stale_version"
    missing = save(api, query + "token-2", **{"If-Match": "*"})
    assert missing.status_code == 409 and missing.json()["error"] == "stale_version"
    assert list(Token.objects.values_list("value", "version")) == [("token-1", 3)]


def test_stale_if_match_on_delete_is_409(admin, customer, site, api_client):
    TokenFactory(customer=customer, value="token-1", bootstrap=site, version=3)
    response = api_client(admin).delete(ONE + "?name=token-1", headers={"If-Match": "2"})
    assert response.status_code == 409
    assert Token.objects.for_customer(customer).exists()


def test_malformed_if_match_is_400_naming_it(admin, customer, site, api_client):
    TokenFactory(customer=customer, value="token-1", bootstrap=site)
    response = save(
        api_client(admin),
        "appId=WFC_PRO_ANDROID&bootstrap=myBootstrap&name=token-1",
        **{"If-Match": "v1"},
    )
    assert response.status_code == 400
    assert "If-Match" in response.json()


# --- Roles and tenancy ----------------------------------------------------------------


@pytest.mark.parametrize("role", ["super_admin", "admin", "staff"])
def test_admins_and_staff_write(role, users, customer, site, api_client):
    query = "&customer=acme" if role == "staff" else ""
    name = f"t-{role.replace('_', '-')}"
    api = api_client(users[role])
    response = save(api, f"appId=WFC_PRO_ANDROID&bootstrap=myBootstrap&name={name}{query}")
    assert response.status_code == 201
    assert Token.objects.for_customer(customer).filter(value=name).exists()
    assert api.delete(f"{ONE}?name={name}{query}").status_code == 204


def test_user_role_reads_but_may_not_write(viewer, customer, site, api_client):
    TokenFactory(customer=customer, value="token-1", bootstrap=site)
    api = api_client(viewer)
    assert api.get(ONE, {"name": "token-1"}).status_code == 200
    assert api.get(LIST).status_code == 200
    assert save(api, "appId=WFC_PRO_ANDROID&bootstrap=myBootstrap&name=token-1").status_code == 403
    assert save(api, "appId=WFC_PRO_ANDROID&bootstrap=myBootstrap&name=token-2").status_code == 403
    assert api.delete(ONE + "?name=token-1").status_code == 403
    assert list(Token.objects.for_customer(customer).values_list("value", "version")) == [
        ("token-1", 1)
    ]


def test_outsider_cannot_see_or_touch_this_customers_token(outsider, customer, site, api_client):
    TokenFactory(customer=customer, value="acme-hq", bootstrap=site)
    api = api_client(outsider)
    assert api.get(ONE, {"name": "acme-hq"}).status_code == 404
    assert api.delete(ONE + "?name=acme-hq").status_code == 404
    listed = api.get(LIST)
    assert listed.status_code == 200
    assert all_rows(listed) == []
    # Their bootstrap filter cannot reach ours either.
    assert all_rows(api.get(LIST, {"bootstrap": "myBootstrap"})) == []
    # Nor can they point a token at our bootstrap.
    response = save(api, "appId=WFC_PRO_ANDROID&bootstrap=myBootstrap&name=theirs")
    assert response.status_code == 400
    assert "bootstrap" in response.json()
    assert Token.objects.filter(value="acme-hq", customer=customer).exists()


# --- List -----------------------------------------------------------------------------


def test_list_filters_and_sorts(viewer, customer, site, api_client):
    other = BootstrapFactory(customer=customer, name="other")
    TokenFactory(customer=customer, value="a-1", bootstrap=site, app_id=AppId.PTT_PRO)
    TokenFactory(customer=customer, value="b-2", bootstrap=other, app_id=AppId.VOICE)
    TokenFactory(customer=customer, value="c-3", bootstrap=other, app_id=AppId.VOICE, revoked=True)
    api = api_client(viewer)

    def names(**query):
        return [t["name"] for t in all_rows(api.get(LIST, query))]

    assert names() == ["a-1", "b-2", "c-3"]
    assert names(ordering="-token") == ["c-3", "b-2", "a-1"]
    assert names(appId="WFC_VOICE_ANDROID") == ["b-2", "c-3"]
    assert names(bootstrap="myBootstrap") == ["a-1"]
    assert names(revoked="true") == ["c-3"]
    assert names(q="b-") == ["b-2"]
    page = api.get(LIST, {"pageSize": 1, "ordering": "-token"}).json()
    assert (page["count"], [t["name"] for t in page["results"]]) == (3, ["c-3"])
    assert api.get(LIST, {"page": 2, "pageSize": 2}).json()["results"][0]["name"] == "c-3"
    assert api.get(LIST, {"appId": "nonsense"}).status_code == 400


def test_list_query_count_does_not_grow_with_rows(
    admin, customer, api_client, django_assert_max_num_queries
):
    # Each token has its own bootstrap: reading bootstrap.name per row would add 35 queries.
    TokenFactory.create_batch(35, customer=customer)
    api = api_client(admin)
    # user (bearer token), customer, COUNT(*), the page joined to its bootstraps.
    with django_assert_max_num_queries(5):
        response = api.get(LIST, {"pageSize": 100})
    results = response.json()["results"]
    assert len(results) == 35
    assert all(t["parameters"] == {"site": t["bootstrap"].lower()} for t in results)


def _peak_bytes_of_listing(api) -> tuple[int, int]:
    """(rows, peak bytes allocated) while the whole token list is produced and read."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        response = api.get(LIST)
        size = 0
        rows = 0
        for chunk in response.streaming_content:
            size += len(chunk)
            rows += chunk.count(b'"appId"')
            # Serializers hold reference cycles: collect them, so the peak is what is
            # really alive, not garbage the collector has not reached yet.
            gc.collect()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return rows, peak


@pytest.mark.django_db
def test_the_guide_list_returns_every_row_of_a_large_customer_in_flat_memory(
    admin, customer, site, api_client
):
    """5,000 tokens (the scripts' "get a list of all tokens") all come back, and producing
    them costs about as much memory as producing 1,000: rows are streamed in batches."""
    api = api_client(admin)

    def add(count: int, start: int) -> None:
        Token.objects.bulk_create(
            Token(customer=customer, value=f"t-{n:05}", app_id=AppId.VOICE, bootstrap=site)
            for n in range(start, start + count)
        )

    add(1000, 0)
    _peak_bytes_of_listing(api)  # first use: imports, caches, compiled queries
    rows_1k, peak_1k = _peak_bytes_of_listing(api)
    add(4000, 1000)
    rows_5k, peak_5k = _peak_bytes_of_listing(api)
    assert (rows_1k, rows_5k) == (1000, 5000)
    # Holding every row would take five times as much; batches of 500 keep it flat.
    assert peak_5k < 1.2 * peak_1k, (peak_1k, peak_5k)
    names = [t["name"] for t in all_rows(api.get(LIST))]
    assert names == [f"t-{n:05}" for n in range(5000)]
