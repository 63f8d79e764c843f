"""The admin API's refresh tokens: revoked by a password change, deactivation or deletion
whichever way it happens, refused JWT_REFRESH_MAX_DAYS after the login however often they
rotate, and rotated exactly once when two requests race with the same one."""

import io
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.contrib.auth.management.commands import changepassword
from django.core import mail
from django.core.management import call_command
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import RefreshToken, UntypedToken

from accounts import services
from accounts.models import Role, User
from tests.factories import PASSWORD, StaffFactory
from tests.test_settings import configuration_error, manage, print_settings

LOGIN = "/admin/api/v1/auth/admin"
REFRESH = "/admin/api/v1/auth/refresh"
ME = "/admin/api/v1/me"
NEW_PASSWORD = "N3w-pass-phrase-42"


def login(user, password=PASSWORD) -> dict:
    response = APIClient().post(
        LOGIN, {"username": user.username, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def refresh(refresh_token: str):
    return APIClient().post(REFRESH, {"refreshToken": refresh_token}, format="json")


def me(access_token: str):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    return api.get(ME)


def error_code(response) -> str:
    # {"error": code, "detail": text} in the body; the code is also on the detail.
    return response.data["detail"].code


def is_blacklisted(refresh_token: str) -> bool:
    jti = UntypedToken(refresh_token, verify=False)["jti"]
    return BlacklistedToken.objects.filter(token__jti=jti).exists()


def assert_revoked(tokens: dict) -> None:
    """The refresh token is refused, and blacklisted."""
    response = refresh(tokens["refreshToken"])
    assert response.status_code == 401, response.content
    assert error_code(response) in {"token_not_valid", "no_active_account"}
    assert is_blacklisted(tokens["refreshToken"])


# --- Password changes, every way they happen --------------------------------------------


@pytest.mark.django_db
def test_password_change_in_the_portal_users_form(portal_client, super_admin, admin):
    tokens = login(admin)
    other = login(admin)  # a second login (another script) is revoked too
    response = portal_client(super_admin).post(
        reverse("accounts:user_edit", args=[admin.pk]),
        {
            "name": admin.name,
            "email": admin.email,
            "role": Role.ADMIN,
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
            "version": admin.version,
        },
    )
    assert response.status_code == 302
    assert_revoked(tokens)
    assert_revoked(other)
    # The new password logs in, and the new tokens work at once.
    fresh = login(admin, NEW_PASSWORD)
    assert me(fresh["accessToken"]).status_code == 200
    assert refresh(fresh["refreshToken"]).status_code == 200


@pytest.mark.django_db
def test_portal_users_form_without_a_password_keeps_the_tokens(portal_client, super_admin, admin):
    tokens = login(admin)
    portal_client(super_admin).post(
        reverse("accounts:user_edit", args=[admin.pk]),
        {"name": "Renamed", "email": admin.email, "role": Role.ADMIN},
    )
    assert not is_blacklisted(tokens["refreshToken"])
    assert refresh(tokens["refreshToken"]).status_code == 200


@pytest.mark.django_db
def test_password_change_through_the_users_api(api_client, super_admin, admin):
    tokens = login(admin)
    response = api_client(super_admin).put(
        f"/admin/api/v1/users/{admin.pk}",
        {
            "username": admin.username,
            "email": admin.email,
            "role": "admin",
            "password": NEW_PASSWORD,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert_revoked(tokens)


@pytest.mark.django_db
def test_password_change_through_djangos_password_reset(client, viewer):
    tokens = login(viewer)
    client.post(reverse("accounts:password_reset"), {"email": viewer.email})
    link = re.search(r"http://testserver(\S+)", mail.outbox[0].body).group(1)
    set_url = client.get(link, follow=True).redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert_revoked(tokens)


@pytest.mark.django_db
def test_password_change_through_the_changepassword_command(monkeypatch, admin):
    tokens = login(admin)
    monkeypatch.setattr(changepassword.Command, "_get_pass", lambda self, prompt="": NEW_PASSWORD)
    call_command("changepassword", admin.username, stdout=io.StringIO())
    admin.refresh_from_db()
    assert admin.check_password(NEW_PASSWORD)
    assert_revoked(tokens)


@pytest.mark.django_db
def test_password_change_on_the_staff_admin_password_page(client, staff):
    colleague = StaffFactory(username="colleague")
    tokens = login(colleague)
    client.force_login(staff)
    response = client.post(
        reverse("admin:auth_user_password_change", args=[colleague.pk]),
        {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert_revoked(tokens)


@pytest.mark.django_db
def test_password_change_of_a_portal_user_on_the_staff_admin_password_page(client, staff, viewer):
    tokens = login(viewer)
    client.force_login(staff)
    response = client.post(
        reverse("admin:auth_user_password_change", args=[viewer.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert_revoked(tokens)


@pytest.mark.django_db
def test_staff_admin_switching_password_login_off_revokes_too(client, staff):
    colleague = StaffFactory(username="colleague")
    tokens = login(colleague)
    client.force_login(staff)
    response = client.post(
        reverse("admin:auth_user_password_change", args=[colleague.pk]),
        {"usable_password": "false", "unset-password": "1"},
    )
    assert response.status_code == 302
    colleague.refresh_from_db()
    assert not colleague.has_usable_password()
    assert_revoked(tokens)


@pytest.mark.django_db
def test_access_tokens_issued_before_a_password_change_are_refused(admin):
    start = timezone.now() + timedelta(minutes=1)
    with freeze_time(start) as clock:
        tokens = login(admin)
        assert me(tokens["accessToken"]).status_code == 200
        clock.tick(timedelta(seconds=30))
        services.portal_user_update(
            user=admin, email=admin.email, role=admin.role, name=admin.name, password=NEW_PASSWORD
        )
        response = me(tokens["accessToken"])
        assert response.status_code == 401
        assert "log in again" in response.json()["detail"]
        # A login in the very second of the change is not caught by it.
        assert me(login(admin, NEW_PASSWORD)["accessToken"]).status_code == 200


@pytest.mark.django_db
def test_a_password_hash_upgrade_on_login_is_no_password_change(admin, settings):
    # Django re-hashes a password on login when the hasher's settings changed; that is
    # not a new password and must not log anyone out.
    tokens = login(admin)
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.ScryptPasswordHasher",
        *settings.PASSWORD_HASHERS,
    ]
    login(admin)
    admin.refresh_from_db()
    assert admin.password.startswith("scrypt$")
    assert not is_blacklisted(tokens["refreshToken"])
    assert refresh(tokens["refreshToken"]).status_code == 200


# --- Deactivation and deletion -------------------------------------------------------------


@pytest.mark.django_db
def test_deactivating_a_user_revokes_for_good(client, staff):
    colleague = StaffFactory(username="colleague")
    tokens = login(colleague)
    client.force_login(staff)
    change = reverse("admin:accounts_user_change", args=[colleague.pk])
    data = {"username": "colleague", "name": "", "email": colleague.email, "is_staff": "on"}
    assert client.post(change, data).status_code == 302  # is_active left unticked
    assert refresh(tokens["refreshToken"]).status_code == 401
    # Switched on again, the account starts over: the old token stays revoked.
    assert client.post(change, {**data, "is_active": "on"}).status_code == 302
    assert_revoked(tokens)
    assert refresh(login(colleague)["refreshToken"]).status_code == 200


@pytest.mark.django_db
def test_deactivating_the_customer_revokes_its_users_tokens(admin, viewer, outsider, customer):
    tokens, viewer_tokens, outsider_tokens = login(admin), login(viewer), login(outsider)
    services.customer_update(customer=customer, user=None, is_active=False)
    assert_revoked(tokens)
    # Switched on again, the customer's users log in afresh: old tokens stay revoked.
    services.customer_update(customer=customer, user=None, is_active=True)
    assert_revoked(tokens)
    assert_revoked(viewer_tokens)
    assert refresh(outsider_tokens["refreshToken"]).status_code == 200


@pytest.mark.django_db
def test_user_of_a_deactivated_customer_cannot_refresh(admin, customer):
    tokens = login(admin)
    # Even when the row is changed behind the services' back.
    type(customer).objects.filter(pk=customer.pk).update(is_active=False)
    response = refresh(tokens["refreshToken"])
    assert response.status_code == 401
    assert error_code(response) == "no_active_account"


@pytest.mark.django_db
def test_deleting_a_user_through_the_api_revokes(api_client, super_admin, admin):
    tokens = login(admin)
    assert api_client(super_admin).delete(f"/admin/api/v1/users/{admin.pk}").status_code == 204
    assert_revoked(tokens)


@pytest.mark.django_db
def test_deleting_a_staff_user_in_the_staff_admin_revokes(client, staff):
    colleague = StaffFactory(username="colleague")
    tokens = login(colleague)
    client.force_login(staff)
    delete = reverse("admin:accounts_user_delete", args=[colleague.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not User.objects.filter(pk=colleague.pk).exists()
    assert_revoked(tokens)


@pytest.mark.django_db
def test_refresh_of_a_deleted_user_is_401_not_500(admin):
    tokens = login(admin)
    # Removed behind the services' back: nothing was blacklisted.
    User.objects.filter(pk=admin.pk).delete()
    response = refresh(tokens["refreshToken"])
    assert response.status_code == 401
    assert error_code(response) == "no_active_account"
    assert me(tokens["accessToken"]).status_code == 401


# --- The absolute lifetime ---------------------------------------------------------------


def refresh_chain(clock, token: str, *, until: timedelta, start, step=timedelta(hours=20)):
    """Refresh every `step` (inside the 24-hour refresh lifetime) until `until` after
    `start`; every refresh must succeed. Answers the last refresh token."""
    moment = start + step
    while moment <= start + until:
        clock.move_to(moment)
        response = refresh(token)
        assert response.status_code == 200, (moment - start, response.content)
        token = response.json()["refreshToken"]
        moment += step
    return token


@pytest.mark.django_db
def test_refresh_chain_ends_jwt_refresh_max_days_after_the_login(admin, settings):
    assert settings.JWT_REFRESH_MAX_DAYS == 7
    start = timezone.now().replace(microsecond=0) + timedelta(minutes=1)
    with freeze_time(start) as clock:
        first = login(admin)["refreshToken"]
        login_time = UntypedToken(first)["auth_time"]
        token = refresh_chain(clock, first, until=timedelta(days=6), start=start)
        # The rotated token still names the original login.
        assert UntypedToken(token)["auth_time"] == login_time

        # One day before the end, and a little later, refreshing still works.
        for moment in (timedelta(days=6), timedelta(days=6, hours=20)):
            clock.move_to(start + moment)
            response = refresh(token)
            assert response.status_code == 200
            token = response.json()["refreshToken"]

        clock.move_to(start + timedelta(days=7, seconds=1))
        response = refresh(token)
        assert response.status_code == 401
        assert error_code(response) == "token_not_valid"
        assert "log in again" in response.json()["detail"]
        # A new login starts a new chain.
        assert refresh(login(admin)["refreshToken"]).status_code == 200


@pytest.mark.django_db
def test_jwt_refresh_max_days_is_read_at_each_refresh(admin, settings):
    settings.JWT_REFRESH_MAX_DAYS = 1
    start = timezone.now().replace(microsecond=0) + timedelta(minutes=1)
    with freeze_time(start) as clock:
        token = login(admin)["refreshToken"]
        token = refresh_chain(clock, token, until=timedelta(hours=20), start=start)
        clock.move_to(start + timedelta(days=1, seconds=1))
        response = refresh(token)
        assert response.status_code == 401
        assert "log in again" in response.json()["detail"]


@pytest.mark.django_db
def test_refresh_token_from_before_auth_time_existed_still_rotates_into_a_bounded_chain(admin):
    # A refresh token issued before this release has no auth_time: its chain is bounded
    # from the refresh that meets it.
    legacy = RefreshToken.for_user(admin)
    assert "auth_time" not in legacy
    response = refresh(str(legacy))
    assert response.status_code == 200
    assert UntypedToken(response.json()["refreshToken"])["auth_time"] == legacy["iat"]


def test_jwt_refresh_max_days_is_configured_from_the_environment(tmp_path):
    read = print_settings(tmp_path, "JWT_REFRESH_MAX_DAYS", DEBUG="true")
    assert read == {"JWT_REFRESH_MAX_DAYS": 7}
    assert print_settings(
        tmp_path, "JWT_REFRESH_MAX_DAYS", DEBUG="true", JWT_REFRESH_MAX_DAYS="30"
    ) == {"JWT_REFRESH_MAX_DAYS": 30}
    result = manage(tmp_path, "check", DEBUG="true", JWT_REFRESH_MAX_DAYS="0")
    assert result.returncode != 0
    assert configuration_error(result.stderr).startswith("JWT_REFRESH_MAX_DAYS:")


# --- Two refreshes of one token at once ----------------------------------------------------

ROUNDS = 5
RACERS = 6  # requests sharing one refresh token in each round


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row-lock races need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_token_rotate_it_once(admin):
    for _ in range(ROUNDS):
        token = login(admin)["refreshToken"]
        start = threading.Barrier(RACERS)

        def request(_: int, token=token, start=start) -> tuple[int, str]:
            try:
                start.wait()
                response = refresh(token)
                return response.status_code, response.json().get("refreshToken", "")
            finally:
                connections.close_all()

        with ThreadPoolExecutor(max_workers=RACERS) as pool:
            results = list(pool.map(request, range(RACERS)))

        statuses = sorted(status for status, _ in results)
        assert statuses == [200] + [401] * (RACERS - 1), statuses
        # The one new token is the only live descendant, and it works.
        new_token = next(new for status, new in results if status == 200)
        assert refresh(new_token).status_code == 200
