"""The admin API login, as existing scripts and Swagger UI call it."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import PASSWORD

LOGIN = "/admin/api/v1/auth/admin"
ME = "/admin/api/v1/me"
REFRESH = "/admin/api/v1/auth/refresh"
LOGOUT = "/admin/api/v1/auth/logout"


def login(username, password=PASSWORD, **kwargs):
    return APIClient().post(LOGIN, {"username": username, "password": password}, **kwargs)


def test_urls_are_the_documented_ones(db):
    assert reverse("api:auth_login") == LOGIN
    assert reverse("api:me") == ME


@pytest.mark.django_db
def test_json_login_answers_bearer_token_that_opens_me(admin, customer):
    response = login(admin.username, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["tokenType"] == "Bearer"
    assert body["expiresIn"] == 15 * 60
    assert body["refreshToken"]
    assert "access_token" not in body

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {body['accessToken']}")
    me = api.get(ME)
    assert me.status_code == 200
    assert me.json() == {
        "username": admin.username,
        "name": admin.name,
        "email": admin.email,
        "role": "admin",
        "isStaff": False,
        "customer": {"name": customer.name, "slug": customer.slug},
    }


@pytest.mark.django_db
def test_lowercase_authorization_header_as_in_the_guide(admin):
    token = login(admin.username, format="json").json()["accessToken"]
    response = APIClient().get(ME, headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200


@pytest.mark.django_db
def test_form_login_answers_oauth2_names_too(admin):
    # What Swagger UI's OAuth2 password flow sends.
    response = APIClient().post(
        LOGIN,
        "grant_type=password&username=ada&password=" + PASSWORD,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["access_token"] == body["accessToken"]
    assert body["token_type"] == "Bearer"


@pytest.mark.django_db
def test_me_without_or_with_bad_token_is_401(admin):
    assert APIClient().get(ME).status_code == 401
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert api.get(ME).status_code == 401


@pytest.mark.django_db
def test_wrong_password_is_401_and_missing_field_is_400_naming_it(admin):
    assert login(admin.username, "wrong", format="json").status_code == 401
    response = APIClient().post(LOGIN, {"username": admin.username}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()


@pytest.mark.django_db
def test_malformed_json_is_400_not_500(admin):
    response = APIClient().post(LOGIN, "{not json", content_type="application/json")
    assert response.status_code == 400


@pytest.mark.django_db
def test_refresh_rotates_and_old_refresh_token_stops_working(admin):
    first = login(admin.username, format="json").json()
    api = APIClient()
    rotated = api.post(REFRESH, {"refreshToken": first["refreshToken"]}, format="json")
    assert rotated.status_code == 200
    assert rotated.json()["refreshToken"] != first["refreshToken"]
    again = api.post(REFRESH, {"refreshToken": first["refreshToken"]}, format="json")
    assert again.status_code == 401


@pytest.mark.django_db
def test_logout_blacklists_the_refresh_token(admin):
    tokens = login(admin.username, format="json").json()
    api = APIClient()
    assert (
        api.post(LOGOUT, {"refreshToken": tokens["refreshToken"]}, format="json").status_code == 204
    )
    response = api.post(REFRESH, {"refreshToken": tokens["refreshToken"]}, format="json")
    assert response.status_code == 401
    assert api.post(LOGOUT, {"refreshToken": "garbage"}, format="json").status_code == 401


@pytest.mark.django_db
def test_deactivated_customer_cannot_log_in_and_its_tokens_stop_working(admin, customer):
    token = login(admin.username, format="json").json()["accessToken"]
    customer.is_active = False
    customer.save()
    assert login(admin.username, format="json").status_code == 401
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get(ME).status_code == 401


@pytest.mark.django_db
def test_api_login_locks_out_after_repeated_failures(admin, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(admin.username, "wrong", format="json").status_code == 401
    # The failure that reaches the limit locks the account ...
    assert login(admin.username, "wrong", format="json").status_code == 429
    # ... and while locked even the right password is refused.
    response = login(admin.username, format="json")
    assert response.status_code == 429
    assert "Too many failed logins" in response.json()["detail"]


@pytest.mark.django_db
def test_lockout_is_per_user(admin, viewer, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(admin.username, "wrong", format="json")
    assert login(viewer.username, format="json").status_code == 200


@pytest.mark.django_db
def test_staff_api_names_the_customer(staff, customer, api_client):
    api = api_client(staff)
    response = api.get("/admin/api/v1/users")
    assert response.status_code == 400
    assert "customer" in response.json()
    assert api.get("/admin/api/v1/users?customer=nope").status_code == 400
    assert api.get(f"/admin/api/v1/users?customer={customer.slug}").status_code == 200
    assert api.get(ME).json()["customer"] is None
