"""The admin API in a browser signed in to the portal (Swagger UI's "Try it out"): the
portal's session authenticates with the same checks, roles and customer scoping as a
bearer token, writes need the CSRF token, and the device endpoints never take it."""

import re

import pytest
from django.test import Client

from accounts.models import User
from reports.models import Event

pytestmark = pytest.mark.django_db

USERS = "/admin/api/v1/users"
TOKEN = "/admin/api/v1/token"
NEW_USER = {"username": "tried", "email": "tried@x.io", "role": "user", "password": "Str0ng-enough"}


def signed_in(user) -> tuple[Client, str]:
    """A browser signed in to the portal that opened Swagger UI: the client (checking
    CSRF as a browser's requests are checked) and the CSRF token the page sends."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    page = browser.get("/admin/api/docs/")
    assert page.status_code == 200
    found = re.search(rb'request\.headers\["X-CSRFTOKEN"\] = "(\w+)"', page.content)
    assert found, "the Swagger UI page does not send the CSRF token"
    return browser, found.group(1).decode()


def test_a_session_lists_only_its_customers_rows(super_admin, viewer, outsider):
    browser, _ = signed_in(super_admin)
    response = browser.get(USERS)
    assert response.status_code == 200
    assert {row["username"] for row in response.json()["results"]} == {"sam", "vic"}


def test_a_session_write_needs_the_csrf_token(super_admin):
    browser, csrf = signed_in(super_admin)
    refused = browser.post(USERS, NEW_USER, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert not super_admin.customer.users.filter(username="tried").exists()

    created = browser.post(
        USERS, NEW_USER, content_type="application/json", headers={"X-CSRFToken": csrf}
    )
    assert created.status_code == 201, created.json()
    assert super_admin.customer.users.filter(username="tried").exists()


def test_another_customers_object_is_404_through_a_session(super_admin, outsider):
    browser, csrf = signed_in(super_admin)
    assert browser.get(f"{USERS}/{outsider.pk}").status_code == 404
    response = browser.delete(f"{USERS}/{outsider.pk}", headers={"X-CSRFToken": csrf})
    assert response.status_code == 404
    assert User.objects.filter(pk=outsider.pk).exists()


@pytest.mark.parametrize(
    ("who", "method", "path", "expected"),
    [
        ("viewer", "get", USERS, 404),  # users is not an area of a User
        ("admin", "get", USERS, 404),  # nor of an Admin
        ("viewer", "delete", f"{USERS}/0", 404),
        ("viewer", "post", f"{TOKEN}?name=t-1&appId=voice&bootstrap=x", 403),  # tokens: read-only
        ("viewer", "get", "/admin/api/v1/tokens", 200),
        ("admin", "get", "/admin/api/v1/licenses/summary", 404),
    ],
)
def test_a_session_gets_the_same_answer_as_a_bearer_token(
    who, method, path, expected, users, api_client
):
    user = users[who]
    # The same request both ways: no body (as Swagger UI sends these).
    bearer = api_client(user).generic(method.upper(), path)
    browser, csrf = signed_in(user)
    session = browser.generic(method.upper(), path, headers={"X-CSRFToken": csrf})
    assert (bearer.status_code, session.status_code) == (expected, expected)


def test_a_deactivated_customer_ends_session_and_token_alike(admin, customer, api_client):
    browser, _ = signed_in(admin)
    api = api_client(admin)
    customer.is_active = False
    customer.save()
    assert browser.get("/admin/api/v1/me").status_code == 401
    assert api.get("/admin/api/v1/me").status_code == 401


def test_staff_name_the_customer_in_the_api_even_when_the_portal_has_one(staff, customer):
    # The portal's pick (the session's acting customer) does not carry over to the API:
    # the same request means the same customer whichever way it authenticates.
    browser, _ = signed_in(staff)
    session = browser.session
    session["acting_customer_id"] = customer.pk
    session.save()
    missing = browser.get(USERS)
    assert missing.status_code == 400
    assert "customer" in missing.json()
    for _ in range(3):
        assert browser.get(f"{USERS}?customer=acme").status_code == 200
    # One entry per session and customer, as per access token.
    assert Event.objects.filter(type="STAFF_ACTING", customer=customer).count() == 1


def test_a_bearer_token_wins_over_the_session(viewer, super_admin, api_client):
    browser, _ = signed_in(viewer)
    token = api_client(super_admin)._credentials["HTTP_AUTHORIZATION"]
    response = browser.get("/admin/api/v1/me", headers={"Authorization": token})
    assert response.json()["username"] == "sam"
    bad = browser.get("/admin/api/v1/me", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401


def test_the_device_endpoints_ignore_the_portal_session(super_admin):
    browser, _ = signed_in(super_admin)
    # No CSRF token: a session would refuse this with 403; the device endpoint answers
    # it as it answers any device (the token in the body is the credential).
    response = browser.post(
        "/device/api/v1/checkin",
        {"token": "no-such-token", "deviceId": "abc", "appVersion": "1"},
        content_type="application/json",
    )
    assert response.status_code not in {401, 403}, response.content
    assert response.json()["error"] != "forbidden"


def test_swagger_ui_lists_both_ways_in(client):
    schema = client.get("/admin/api/schema/?format=json").json()
    assert set(schema["components"]["securitySchemes"]) == {"oauth2", "cookieAuth"}
    me = schema["paths"]["/admin/api/v1/me"]["get"]
    assert me["security"] == [{"oauth2": []}, {"cookieAuth": []}]
    device = schema["paths"]["/device/api/v1/checkin"]["post"]
    assert "cookieAuth" not in str(device.get("security", []))
