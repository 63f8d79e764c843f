"""The portal as people meet it: its own error pages (DEBUG on and off), safe edits of
portal users (versions, logins unique ignoring case, one account per e-mail), a second
delete answered on the list page, the favicon, the sign-out message and the page title.
(Remembered list filters and the menu drawer are browser tests: tests/browser.)"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import path, reverse

from accounts import services
from accounts.models import Role, User
from config import urls as project_urls
from tests.provisioning.factories import TokenFactory

pytestmark = pytest.mark.django_db

MENU = 'aria-label="Navigation menu"'


def _boom(request):
    raise RuntimeError("kaboom")


# The project's URLs plus one page that fails, for the 500 page.
urlpatterns = [*project_urls.urlpatterns, path("admin/boom", _boom)]
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def _page(response) -> str:
    return response.content.decode()


def test_404_is_the_portal_page_with_menu_and_way_back(debug, portal_client, admin):
    response = portal_client(admin).get("/admin/no-such-page")
    assert response.status_code == 404
    body = _page(response)
    assert "Page not found" in body and MENU in body
    assert f'href="{reverse("reports:dashboard")}"' in body
    # Not Django's technical page listing the URL patterns.
    assert "URLconf" not in body


def test_404_for_an_anonymous_visitor_offers_the_login(debug, client):
    body = _page(client.get("/admin/no-such-page"))
    assert "Page not found" in body
    assert f'href="{reverse("accounts:login")}"' in body
    assert "Log out" not in body


def test_an_area_the_role_may_not_open_is_a_403_page_that_says_so(debug, portal_client, admin):
    response = portal_client(admin).get(reverse("licensing:summary"))
    assert response.status_code == 403
    body = _page(response)
    assert "Your role (Admin) may not open Licenses" in body
    assert MENU in body


def test_a_change_the_role_may_not_make_is_a_403_page(debug, portal_client, viewer):
    response = portal_client(viewer).get(reverse("provisioning:token_add"))
    assert response.status_code == 403
    assert "may look at Tokens but not change it" in _page(response)


def test_another_customers_object_is_still_404(debug, portal_client, outsider, customer):
    token = TokenFactory(customer=customer)
    response = portal_client(outsider).get(reverse("provisioning:token_edit", args=[token.pk]))
    assert response.status_code == 404
    assert "Page not found" in _page(response)


def test_405_is_a_page_too(debug, portal_client, admin):
    response = portal_client(admin).get(reverse("accounts:logout"))
    assert response.status_code == 405
    assert "does not take a GET request" in _page(response)
    assert response["Allow"] == "POST, OPTIONS"


@pytest.mark.urls(__name__)
def test_500_is_the_portal_page(debug, admin):
    client = Client(raise_request_exception=False)
    client.force_login(admin)
    response = client.get("/admin/boom")
    assert response.status_code == 500
    body = _page(response)
    assert "Something went wrong" in body
    assert "kaboom" not in body and "Traceback" not in body


def test_technical_pages_stay_available_for_developers(settings, portal_client, admin):
    settings.DEBUG = True
    settings.TECHNICAL_ERROR_PAGES = True
    response = portal_client(admin).get("/admin/no-such-page")
    assert response.status_code == 404
    assert "URLconf" in _page(response)


def test_api_errors_stay_json(debug, api_client, admin):
    response = api_client(admin).get("/admin/api/v1/no-such-endpoint")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


# --- Portal users ------------------------------------------------------------------------


def _edit_form(user, **changes):
    return {
        "name": user.name,
        "email": user.email,
        "role": user.role,
        "version": user.version,
        **changes,
    }


def test_a_stale_user_edit_is_a_conflict_and_changes_nothing(portal_client, super_admin, viewer):
    client = portal_client(super_admin)
    url = reverse("accounts:user_edit", args=[viewer.pk])
    first_tab = _edit_form(viewer, name="From tab one")
    second_tab = _edit_form(viewer, name="From tab two", role=Role.ADMIN)

    assert client.post(url, first_tab).status_code == 302
    response = client.post(url, second_tab)

    assert response.status_code == 409
    assert "changed by someone else" in _page(response)
    viewer.refresh_from_db()
    assert (viewer.name, viewer.role, viewer.version) == ("From tab one", Role.USER, 2)


def test_a_stale_user_delete_shows_the_user_again(portal_client, super_admin, viewer):
    client = portal_client(super_admin)
    services.portal_user_update(
        user=viewer, email=viewer.email, role=Role.ADMIN, name="Promoted", acting_user=None
    )
    response = client.post(reverse("accounts:user_delete", args=[viewer.pk]), {"version": 1})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:user_delete", args=[viewer.pk])
    assert User.objects.filter(pk=viewer.pk).exists()


def _add_form(**changes):
    return {
        "username": "newbie",
        "name": "New Bie",
        "email": "newbie@acme.example",
        "role": Role.USER,
        "password": "Str0ng-enough-pass",
        "password_confirm": "Str0ng-enough-pass",
        **changes,
    }


def test_a_login_differing_only_in_case_is_refused(portal_client, super_admin, admin):
    response = portal_client(super_admin).post(
        reverse("accounts:user_add"), _add_form(username=admin.username.upper())
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "already exists (ignoring case)" in " ".join(errors["username"])
    assert User.objects.filter(username__iexact=admin.username).count() == 1


def test_an_email_another_account_uses_is_refused_across_customers(
    portal_client, super_admin, outsider
):
    response = portal_client(super_admin).post(
        reverse("accounts:user_add"), _add_form(email=outsider.email.upper())
    )
    assert response.status_code == 200
    assert "Another account uses this e-mail" in " ".join(response.context["form"].errors["email"])
    assert not User.objects.filter(username="newbie").exists()


def test_an_edit_to_an_email_in_use_is_refused(portal_client, super_admin, viewer, admin):
    url = reverse("accounts:user_edit", args=[viewer.pk])
    response = portal_client(super_admin).post(url, _edit_form(viewer, email=admin.email))
    assert response.status_code == 200
    assert 'aria-invalid="true"' in _page(response)
    viewer.refresh_from_db()
    assert viewer.email != admin.email


def test_the_form_errors_are_summarised_and_tied_to_their_fields(portal_client, super_admin):
    response = portal_client(super_admin).post(reverse("accounts:user_add"), {})
    body = _page(response)
    assert 'class="error-summary"' in body
    # Each error in the summary links to its field, and the field names its error text.
    assert '<a href="#id_username">Login name: This field is required.</a>' in body
    assert 'aria-describedby="id_username_error"' in body
    assert 'id="id_username_error"' in body


def test_the_user_list_shows_the_last_sign_in(portal_client, super_admin, viewer):
    body = _page(portal_client(super_admin).get(reverse("accounts:user_list")))
    assert "Last sign-in" in body
    assert "never" in body  # the viewer has not signed in


# --- Something already gone --------------------------------------------------------------


def test_a_second_delete_says_so_on_the_list_page(portal_client, super_admin, customer):
    token = TokenFactory(customer=customer)
    client = portal_client(super_admin)
    url = reverse("provisioning:token_delete", args=[token.pk])
    assert client.post(url, {"version": token.version}).status_code == 302

    response = client.post(url, {"version": token.version}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("provisioning:token_list")
    assert "This token no longer exists" in _page(response)


def test_a_second_user_delete_says_so_too(portal_client, super_admin, viewer):
    client = portal_client(super_admin)
    url = reverse("accounts:user_delete", args=[viewer.pk])
    client.post(url)
    response = client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("accounts:user_list")
    assert "This portal user no longer exists" in _page(response)


def test_an_outsiders_post_to_an_existing_object_is_still_404(portal_client, outsider, customer):
    token = TokenFactory(customer=customer)
    url = reverse("provisioning:token_delete", args=[token.pk])
    assert portal_client(outsider).post(url, {"version": token.version}).status_code == 404


# --- Small comforts ----------------------------------------------------------------------


def test_favicon_ico_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"


def test_after_logout_the_login_page_says_you_have_signed_out(client, admin):
    client.force_login(admin)
    response = client.post(reverse("accounts:logout"), follow=True)
    assert "You have signed out." in _page(response)
    assert not response.wsgi_request.user.is_authenticated


def test_the_page_title_names_the_page_and_the_customer(portal_client, admin, customer):
    body = _page(portal_client(admin).get(reverse("provisioning:token_list")))
    assert f"<title>Tokens · {customer.name} · Provisioning Manager</title>" in body
