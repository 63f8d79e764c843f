"""The Portal Users page and the users API: Super-Admins manage their customer's users."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role, User
from tests.factories import PASSWORD, UserFactory

LIST = reverse("accounts:user_list")
ADD = reverse("accounts:user_add")


def add_form(**overrides):
    data = {
        "username": "newbie",
        "name": "New Person",
        "email": "newbie@example.com",
        "role": Role.ADMIN,
        "password": "Str0ng-enough-pass",
        "password_confirm": "Str0ng-enough-pass",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_list_shows_only_this_customers_users(portal_client, super_admin, viewer, outsider):
    response = portal_client(super_admin).get(LIST)
    body = response.content.decode()
    assert viewer.email in body
    assert outsider.email not in body
    assert "2 record(s) found" in body


@pytest.mark.django_db
def test_list_search_sort_and_page(
    portal_client, super_admin, customer, django_assert_max_num_queries
):
    for i in range(30):
        UserFactory(
            customer=customer, username=f"bulk{i:02}", name=f"Bulk {i:02}", email=f"b{i:02}@x.io"
        )
    client = portal_client(super_admin)

    found = client.get(LIST, {"q": "b07@x"}).context["object_list"]
    assert [u.username for u in found] == ["bulk07"]

    by_name_desc = client.get(LIST, {"ordering": "-name"}).context["object_list"]
    names = [u.name for u in by_name_desc]
    assert names == sorted(names, reverse=True)

    # Session + user + customer + count + page: constant, whatever the page size.
    with django_assert_max_num_queries(6):
        page2 = client.get(LIST, {"ordering": "username", "page": 2})
    assert page2.context["page_obj"].number == 2
    first_page = {u.pk for u in client.get(LIST, {"ordering": "username"}).context["object_list"]}
    assert first_page.isdisjoint({u.pk for u in page2.context["object_list"]})


@pytest.mark.django_db
def test_bad_sort_field_is_reported_not_a_500(portal_client, super_admin):
    response = portal_client(super_admin).get(LIST, {"ordering": "password"})
    assert response.status_code == 200
    assert "ordering" in response.content.decode()
    assert list(response.context["object_list"]) == []


@pytest.mark.django_db
def test_super_admin_adds_a_user(portal_client, super_admin, customer):
    response = portal_client(super_admin).post(ADD, add_form())
    assert response.status_code == 302
    user = User.objects.get(username="newbie")
    assert user.customer == customer
    assert user.role == Role.ADMIN
    assert user.check_password("Str0ng-enough-pass")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"username": "sam"}, "username", "already exists"),
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"role": "god"}, "role", "valid choice"),
        ({"password": "123", "password_confirm": "123"}, "password", "too short"),
        ({"password_confirm": "different-Pass-9"}, "password_confirm", "differ"),
        ({"username": ""}, "username", "required"),
    ],
)
def test_add_rejects_bad_input_naming_the_field(
    portal_client, super_admin, overrides, field, message
):
    before = User.objects.count()
    response = portal_client(super_admin).post(ADD, add_form(**overrides))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert User.objects.count() == before


@pytest.mark.django_db
def test_edit_changes_role_and_keeps_password_when_blank(portal_client, super_admin, viewer):
    url = reverse("accounts:user_edit", args=[viewer.pk])
    response = portal_client(super_admin).post(
        url,
        {
            "username": "ignored",
            "name": "Vic",
            "email": "vic@new.io",
            "role": Role.ADMIN,
            "version": viewer.version,
        },
    )
    assert response.status_code == 302
    viewer.refresh_from_db()
    assert (viewer.username, viewer.email, viewer.role) == ("vic", "vic@new.io", Role.ADMIN)
    assert viewer.check_password(PASSWORD)


@pytest.mark.django_db
def test_last_super_admin_cannot_be_demoted_or_deleted(portal_client, super_admin, admin):
    client = portal_client(super_admin)
    response = client.post(
        reverse("accounts:user_edit", args=[super_admin.pk]),
        {"name": "", "email": super_admin.email, "role": Role.ADMIN, "version": 1},
    )
    assert response.status_code == 200
    assert "last Super-Admin" in " ".join(response.context["form"].errors["role"])
    super_admin.refresh_from_db()
    assert super_admin.role == Role.SUPER_ADMIN

    # A second Super-Admin tries to delete the first one: only then is it allowed.
    second = UserFactory(customer=super_admin.customer, role=Role.SUPER_ADMIN)
    other = Client()
    other.force_login(second)
    other.post(reverse("accounts:user_delete", args=[super_admin.pk]))
    assert not User.objects.filter(pk=super_admin.pk).exists()
    # second is now the last one and cannot delete themselves nor be deleted.
    response = other.post(reverse("accounts:user_delete", args=[second.pk]), follow=True)
    assert "cannot delete your own account" in response.content.decode()
    assert User.objects.filter(pk=second.pk).exists()


@pytest.mark.django_db
def test_delete_asks_for_confirmation_first(portal_client, super_admin, viewer):
    url = reverse("accounts:user_delete", args=[viewer.pk])
    client = portal_client(super_admin)
    page = client.get(url)
    assert page.status_code == 200
    assert "Delete portal user" in page.content.decode()
    assert User.objects.filter(pk=viewer.pk).exists()
    client.post(url)
    assert not User.objects.filter(pk=viewer.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin", "viewer", "outsider"])
def test_writes_by_others_change_nothing(who, users, portal_client, viewer):
    client = portal_client(users[who])
    edit = client.post(
        reverse("accounts:user_edit", args=[viewer.pk]),
        {"email": "hijack@x.io", "role": Role.SUPER_ADMIN},
    )
    delete = client.post(reverse("accounts:user_delete", args=[viewer.pk]))
    add = client.post(ADD, add_form())
    # The outsider is a Super-Admin elsewhere: this customer's users do not exist for them,
    # and the add lands in their own customer. The Admin and the User may not open Portal
    # Users at all: a 403 page that says so.
    if who == "outsider":
        assert (edit.status_code, delete.status_code) == (404, 404)
        assert User.objects.get(username="newbie").customer == users["outsider"].customer
    else:
        assert (edit.status_code, delete.status_code, add.status_code) == (403, 403, 403)
        assert "may not open Portal Users" in add.content.decode()
    viewer.refresh_from_db()
    assert viewer.email != "hijack@x.io"


@pytest.mark.django_db
def test_forms_require_csrf(super_admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(super_admin)
    assert client.post(ADD, add_form()).status_code == 403
    assert not User.objects.filter(username="newbie").exists()


# --- API -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_crud(api_client, super_admin, customer):
    api = api_client(super_admin)
    created = api.post(
        "/admin/api/v1/users",
        {
            "username": "scripted",
            "email": "s@x.io",
            "role": "user",
            "password": "Str0ng-enough-pass",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert "password" not in created.json()
    pk = created.json()["id"]
    assert User.objects.get(pk=pk).customer == customer

    updated = api.put(
        f"/admin/api/v1/users/{pk}",
        {"username": "scripted", "email": "s2@x.io", "role": "admin"},
        format="json",
    )
    assert updated.status_code == 200
    assert updated.json()["role"] == "admin"

    listed = api.get("/admin/api/v1/users", {"q": "s2@"}).json()
    assert [u["username"] for u in listed["results"]] == ["scripted"]

    assert api.delete(f"/admin/api/v1/users/{pk}").status_code == 204
    assert not User.objects.filter(pk=pk).exists()


@pytest.mark.django_db
def test_api_edits_with_if_match_refuse_a_stale_version(api_client, super_admin, viewer):
    api = api_client(super_admin)
    url = f"/admin/api/v1/users/{viewer.pk}"
    read = api.get(url)
    assert read.headers["ETag"] == '"1"' and read.json()["version"] == 1
    body = {"username": viewer.username, "email": "first@x.io", "role": "user"}
    first = api.put(url, body, format="json", HTTP_IF_MATCH='"1"')
    assert first.status_code == 200 and first.headers["ETag"] == '"2"'

    # A second script still holding version 1 is refused and changes nothing.
    second = api.put(url, {**body, "email": "second@x.io"}, format="json", HTTP_IF_MATCH='"1"')
    assert second.status_code == 409
    assert second.json()["error"] == "stale_version"
    assert api.delete(url, HTTP_IF_MATCH='"1"').status_code == 409
    viewer.refresh_from_db()
    assert (viewer.email, viewer.version) == ("first@x.io", 2)

    bad = api.put(url, body, format="json", HTTP_IF_MATCH="yesterday")
    assert bad.status_code == 400 and "If-Match" in bad.json()
    # Compared strongly: a weak tag matches nothing; * matches whatever is stored.
    weak = api.put(url, body, format="json", HTTP_IF_MATCH='W/"2"')
    assert weak.status_code == 409 and weak.json()["error"] == "stale_version"
    assert api.put(url, body, format="json", HTTP_IF_MATCH="*").status_code == 200
    # Without If-Match the last write wins, as scripts that never read first expect.
    assert api.put(url, body, format="json").status_code == 200
    assert api.delete(url, HTTP_IF_MATCH='"4"').status_code == 204
    assert not User.objects.filter(pk=viewer.pk).exists()


@pytest.mark.django_db
def test_api_rejects_bad_input_naming_the_field(api_client, super_admin):
    api = api_client(super_admin)
    response = api.post(
        "/admin/api/v1/users", {"username": "x", "email": "nope", "role": "god"}, format="json"
    )
    assert response.status_code == 400
    assert {"email", "role"} <= set(response.json())
    response = api.post(
        "/admin/api/v1/users",
        {"username": "x", "email": "x@x.io", "role": "user", "password": "1"},
        format="json",
    )
    assert response.status_code == 400
    assert "password" in response.json()
    assert not User.objects.filter(username="x").exists()


@pytest.mark.django_db
def test_api_last_super_admin_delete_is_400(api_client, super_admin, admin):
    response = api_client(admin).delete(f"/admin/api/v1/users/{super_admin.pk}")
    assert response.status_code == 404  # Admins have no Portal Users area at all
    second = UserFactory(customer=super_admin.customer, role=Role.SUPER_ADMIN)
    api = api_client(second)
    assert api.delete(f"/admin/api/v1/users/{super_admin.pk}").status_code == 204
    response = api.delete(f"/admin/api/v1/users/{second.pk}")
    assert response.status_code == 400


@pytest.mark.django_db
def test_api_outsider_cannot_reach_or_change_this_customers_users(api_client, outsider, viewer):
    api = api_client(outsider)
    assert api.get(f"/admin/api/v1/users/{viewer.pk}").status_code == 404
    put = api.put(
        f"/admin/api/v1/users/{viewer.pk}",
        {"username": viewer.username, "email": "x@x.io", "role": "super_admin"},
        format="json",
    )
    assert put.status_code == 404
    assert api.delete(f"/admin/api/v1/users/{viewer.pk}").status_code == 404
    listed = api.get("/admin/api/v1/users").json()["results"]
    assert viewer.username not in {u["username"] for u in listed}
    viewer.refresh_from_db()
    assert viewer.role == Role.USER


@pytest.mark.django_db
def test_api_page_size_is_capped(api_client, super_admin, settings):
    response = api_client(super_admin).get("/admin/api/v1/users", {"pageSize": 100000})
    assert response.status_code == 200
    assert response.json()["count"] == 1


@pytest.mark.django_db
def test_api_list_query_count_does_not_grow_with_rows(
    api_client, super_admin, customer, django_assert_num_queries
):
    api = api_client(super_admin)
    # the token's user, its customer (still active?), count, page
    with django_assert_num_queries(4):
        assert api.get("/admin/api/v1/users").status_code == 200
    for i in range(40):
        UserFactory(customer=customer, username=f"many{i}")
    with django_assert_num_queries(4):
        assert len(api.get("/admin/api/v1/users").json()["results"]) == 41
