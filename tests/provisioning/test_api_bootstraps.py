"""The bootstrap admin API: `POST/GET/DELETE /bootstrap?name=…` and `GET /bootstraps`,
as existing scripts call them."""

import json

import pytest

from provisioning.api import views
from provisioning.models import Bootstrap
from reports.models import Event
from tests.provisioning.factories import BootstrapFactory, TokenFactory
from tests.provisioning.test_api_tokens import all_rows

pytestmark = pytest.mark.django_db

ONE = "/admin/api/v1/bootstrap"
LIST = "/admin/api/v1/bootstraps"


def post(api, name, body='{"site": "site-1094"}', content_type="application/json", **headers):
    query = f"?name={name}" if name is not None else ""
    return api.generic("POST", ONE + query, body, content_type=content_type, headers=headers)


def events(customer, type_):
    return list(Event.objects.for_customer(customer).filter(type=type_))


# --- Add, replace, read, delete ---------------------------------------------------------


def test_post_adds_then_replaces_with_version_etag_and_events(admin, customer, api_client):
    api = api_client(admin)

    created = post(api, "myBootstrap")
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"name", "parameters", "version", "created", "updated"}
    assert body["name"] == "myBootstrap"
    assert body["parameters"] == {"site": "site-1094"}
    assert body["version"] == 1
    assert created["ETag"] == '"1"'

    replaced = post(api, "myBootstrap", '{"site": "site-2000", "var_ptt": true}')
    assert replaced.status_code == 200
    assert replaced.json()["version"] == 2
    assert replaced.json()["parameters"] == {"site": "site-2000", "var_ptt": True}
    assert replaced["ETag"] == '"2"'
    assert Bootstrap.objects.for_customer(customer).count() == 1

    [updated] = events(customer, "BOOTSTRAP_UPDATED")
    assert updated.username == admin.username
    assert updated.data["before"]["parameters"] == {"site": "site-1094"}
    assert updated.data["before"]["version"] == 1
    assert updated.data["after"]["parameters"] == {"site": "site-2000", "var_ptt": True}
    assert updated.data["after"]["version"] == 2


def test_get_answers_the_bootstrap_with_its_etag(viewer, customer, api_client):
    bootstrap = BootstrapFactory(customer=customer, name="Site 7", parameters={"site": "7"})
    response = api_client(viewer).get(ONE, {"name": "Site 7"})
    assert response.status_code == 200
    assert response.json()["name"] == "Site 7"
    assert response.json()["parameters"] == {"site": "7"}
    assert response["ETag"] == f'"{bootstrap.version}"'


def test_unknown_name_is_404_on_get_and_delete(admin, api_client):
    api = api_client(admin)
    assert api.get(ONE, {"name": "nope"}).status_code == 404
    assert api.delete(ONE + "?name=nope").status_code == 404


def test_missing_name_is_400_naming_it(admin, customer, api_client):
    api = api_client(admin)
    assert "name" in post(api, None).json()
    assert "name" in api.get(ONE).json()
    response = api.delete(ONE)
    assert response.status_code == 400
    assert "name" in response.json()
    assert not Bootstrap.objects.for_customer(customer).exists()


@pytest.mark.parametrize(
    "body",
    ['["site"]', '"site-1094"', "42", "null", '{"site": ', "{'site': 1}", '{"x": NaN}', "", "  "],
    ids=["list", "string", "number", "null", "truncated", "single-quotes", "nan", "empty", "blank"],
)
def test_body_that_is_not_a_json_object_is_400_naming_parameters(body, admin, customer, api_client):
    response = post(api_client(admin), "b1", body)
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["parameters"]
    assert not Bootstrap.objects.for_customer(customer).exists()


def test_body_that_is_not_utf8_is_400(admin, api_client):
    response = post(api_client(admin), "b1", b'{"site": "\xff"}')
    assert response.status_code == 400
    assert "parameters" in response.json()


def test_body_of_another_type_is_415(admin, api_client):
    response = post(api_client(admin), "b1", "site=1", "application/x-www-form-urlencoded")
    assert response.status_code == 415


def test_too_long_name_is_400_naming_it(admin, api_client):
    response = post(api_client(admin), "x" * 129)
    assert response.status_code == 400
    assert "name" in response.json()


def test_delete_removes_it_and_logs_an_event(admin, customer, api_client):
    BootstrapFactory(customer=customer, name="old")
    response = api_client(admin).delete(ONE + "?name=old")
    assert response.status_code == 204
    assert not Bootstrap.objects.for_customer(customer).exists()
    [deleted] = events(customer, "BOOTSTRAP_DELETED")
    assert deleted.data["before"]["name"] == "old"


def test_deleting_a_bootstrap_in_use_is_409_naming_the_tokens(admin, customer, api_client):
    bootstrap = BootstrapFactory(customer=customer, name="used")
    TokenFactory(customer=customer, bootstrap=bootstrap, value="tok-a")
    TokenFactory(customer=customer, bootstrap=bootstrap, value="tok-b")

    response = api_client(admin).delete(ONE + "?name=used")

    assert response.status_code == 409
    assert response.json()["error"] == "in_use"
    assert "tok-a" in response.json()["detail"]
    assert "tok-b" in response.json()["detail"]
    assert Bootstrap.objects.filter(pk=bootstrap.pk).exists()


# --- Concurrency ----------------------------------------------------------------------


@pytest.mark.parametrize("header", ['"1"', "1", ' "1" ', "*"])
def test_if_match_with_the_current_version_replaces(header, admin, customer, api_client):
    BootstrapFactory(customer=customer, name="b1", version=1)
    response = post(api_client(admin), "b1", '{"v": 2}', **{"If-Match": header})
    assert response.status_code == 200
    assert response.json()["version"] == 2


def test_stale_if_match_is_409_and_changes_nothing(admin, customer, api_client):
    bootstrap = BootstrapFactory(customer=customer, name="b1", parameters={"v": 3}, version=3)

    response = post(api_client(admin), "b1", '{"v": "mine"}', **{"If-Match": '"2"'})

    assert response.status_code == 409
    assert response.json()["error"] == "stale_version"
    assert "version 3" in response.json()["detail"]
    bootstrap.refresh_from_db()
    assert (bootstrap.parameters, bootstrap.version) == ({"v": 3}, 3)
    assert not Event.objects.exists()


def test_stale_if_match_on_delete_is_409_and_keeps_it(admin, customer, api_client):
    BootstrapFactory(customer=customer, name="b1", version=3)
    response = api_client(admin).delete(ONE + "?name=b1", headers={"If-Match": '"1"'})
    assert response.status_code == 409
    assert response.json()["error"] == "stale_version"
    assert Bootstrap.objects.for_customer(customer).filter(name="b1").exists()


def test_if_match_for_a_bootstrap_that_is_gone_is_409_not_a_new_one(admin, customer, api_client):
    response = post(api_client(admin), "gone", '{"v": 1}', **{"If-Match": '"4"'})
    assert response.status_code == 409
    assert response.json()["error"] == "stale_version"
    assert not Bootstrap.objects.for_customer(customer).exists()


def test_a_weak_if_match_never_matches(admin, customer, api_client):
    """If-Match compares strongly (RFC 9110, 13.1.1): a weak tag matches no version, not
    even the current one."""
    bootstrap = BootstrapFactory(customer=customer, name="b1", parameters={"v": 1}, version=1)
    api = api_client(admin)
    response = post(api, "b1", '{"v": 2}', **{"If-Match": 'W/"1"'})
    assert response.status_code == 409
    assert response.json()["error"] == "stale_version"
    assert "weak" in response.json()["detail"]
    delete = api.delete(ONE + "?name=b1", headers={"If-Match": 'W/"1"'})
    assert delete.status_code == 409
    bootstrap.refresh_from_db()
    assert (bootstrap.parameters, bootstrap.version) == ({"v": 1}, 1)
    assert not Event.objects.exists()


def test_if_match_any_needs_the_bootstrap_to_exist(admin, customer, api_client):
    api = api_client(admin)
    response = post(api, "gone", '{"v": 1}', **{"If-Match": "*"})
    assert response.status_code == 409
    assert response.json()["error"] == "stale_version"
    assert not Bootstrap.objects.for_customer(customer).exists()
    BootstrapFactory(customer=customer, name="b1", version=7)
    assert api.delete(ONE + "?name=b1", headers={"If-Match": "*"}).status_code == 204


@pytest.mark.parametrize("header", ["abc", '"1', '"1", "2"', "**", "", 'W/"x"'])
def test_malformed_if_match_is_400_naming_it(header, admin, customer, api_client):
    BootstrapFactory(customer=customer, name="b1")
    response = post(api_client(admin), "b1", '{"v": 2}', **{"If-Match": header})
    assert response.status_code == 400
    assert "If-Match" in response.json()
    assert Bootstrap.objects.get(name="b1").version == 1


# --- Roles and tenancy ----------------------------------------------------------------


@pytest.mark.parametrize("role", ["super_admin", "admin", "staff"])
def test_admins_and_staff_write(role, users, customer, api_client):
    query = "&customer=acme" if role == "staff" else ""
    api = api_client(users[role])
    assert post(api, f"b-{role}{query}").status_code == 201
    assert api.delete(f"{ONE}?name=b-{role}{query}").status_code == 204


def test_user_role_reads_but_may_not_write(viewer, customer, api_client):
    BootstrapFactory(customer=customer, name="b1")
    api = api_client(viewer)
    assert api.get(ONE, {"name": "b1"}).status_code == 200
    assert api.get(LIST).status_code == 200
    assert post(api, "b1").status_code == 403
    assert post(api, "b2").status_code == 403
    assert api.delete(ONE + "?name=b1").status_code == 403
    assert Bootstrap.objects.for_customer(customer).get().version == 1
    assert not Bootstrap.objects.filter(name="b2").exists()


def test_anonymous_gets_401(api_client):
    assert api_client().get(LIST).status_code == 401
    assert post(api_client(), "b1").status_code == 401


def test_staff_must_name_the_customer(staff, api_client):
    response = api_client(staff).get(LIST)
    assert response.status_code == 400
    assert "customer" in response.json()


def test_outsider_cannot_see_or_touch_this_customers_bootstrap(
    outsider, customer, other_customer, api_client
):
    BootstrapFactory(customer=customer, name="acme-secret", parameters={"site": "hq"})
    api = api_client(outsider)

    assert api.get(ONE, {"name": "acme-secret"}).status_code == 404
    assert api.delete(ONE + "?name=acme-secret").status_code == 404
    assert all_rows(api.get(LIST, {"q": "acme"})) == []

    # The same name in their customer is their own bootstrap; ours is untouched.
    assert post(api, "acme-secret", '{"mine": 1}').status_code == 201
    ours = Bootstrap.objects.for_customer(customer).get(name="acme-secret")
    assert (ours.parameters, ours.version) == ({"site": "hq"}, 1)
    assert Bootstrap.objects.for_customer(other_customer).get().parameters == {"mine": 1}


# --- List -----------------------------------------------------------------------------


def test_list_is_paged_filtered_and_sorted(viewer, customer, other_customer, api_client):
    for n in range(5):
        BootstrapFactory(customer=customer, name=f"Site-{n}", parameters={"site": f"s{n}"})
    BootstrapFactory(customer=other_customer, name="Site-x")
    api = api_client(viewer)

    page = api.get(LIST, {"pageSize": 2, "ordering": "-name"}).json()
    assert page["count"] == 5
    assert [b["name"] for b in page["results"]] == ["Site-4", "Site-3"]
    assert page["next"]

    found = all_rows(api.get(LIST, {"q": "s3"}))  # searches parameters too
    assert [b["name"] for b in found] == ["Site-3"]
    assert [b["name"] for b in all_rows(api.get(LIST))] == [f"Site-{n}" for n in range(5)]


def test_list_query_count_does_not_grow_with_rows(
    admin, customer, api_client, django_assert_max_num_queries
):
    BootstrapFactory.create_batch(35, customer=customer)
    api = api_client(admin)
    # user (bearer token), customer, COUNT(*), the page.
    with django_assert_max_num_queries(5):
        response = api.get(LIST, {"pageSize": 100})
    assert len(response.json()["results"]) == 35


def test_json_body_is_stored_as_sent(admin, customer, api_client):
    parameters = {"site": "site-1094", "nested": {"list": [1, 2.5, None, "ü"]}, "flag": False}
    response = post(api_client(admin), "b1", json.dumps(parameters))
    assert response.status_code == 201
    assert Bootstrap.objects.for_customer(customer).get().parameters == parameters


def test_a_name_taken_by_a_concurrent_request_is_400_not_500(
    admin, customer, api_client, monkeypatch
):
    # The other request inserts between our existence check and our insert.
    def create(**fields):
        Bootstrap.objects.bulk_create([Bootstrap(**fields)])
        Bootstrap.objects.bulk_create([Bootstrap(**fields)])

    monkeypatch.setattr(Bootstrap.objects, "create", create)
    response = post(api_client(admin), "raced")
    assert response.status_code == 400
    assert "already exists" in response.json()["name"][0]


def test_a_bootstrap_deleted_meanwhile_is_a_quiet_success(admin, customer, api_client, monkeypatch):
    BootstrapFactory(customer=customer, name="b1")
    real_get = views.BootstrapView._get

    def get_then_lose_it(self, name):
        found = real_get(self, name)
        Bootstrap.objects.filter(pk=found.pk).delete()  # another request's delete wins
        return found

    monkeypatch.setattr(views.BootstrapView, "_get", get_then_lose_it)
    # DELETE is idempotent: the other request already did it, and only it is logged.
    assert api_client(admin).delete(ONE + "?name=b1").status_code == 204
    assert not Event.objects.filter(type="BOOTSTRAP_DELETED").exists()
