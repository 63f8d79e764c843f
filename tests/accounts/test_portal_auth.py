"""Portal sign-in, sign-out, password reset, lockout and the staff customer switcher."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.tenancy import SESSION_KEY
from tests.factories import PASSWORD, CustomerFactory

LOGIN = reverse("accounts:login")
DASHBOARD = reverse("reports:dashboard")


@pytest.mark.django_db
def test_login_lands_on_dashboard_and_logout_needs_post(client, admin):
    response = client.post(LOGIN, {"username": admin.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == DASHBOARD
    page = client.get(DASHBOARD)
    assert page.status_code == 200
    assert admin.customer.name in page.content.decode()

    assert client.get(reverse("accounts:logout")).status_code == 405
    client.post(reverse("accounts:logout"))
    assert client.get(DASHBOARD)["Location"].startswith(LOGIN)


@pytest.mark.django_db
def test_wrong_password_shows_an_error_on_the_form(client, admin):
    response = client.post(LOGIN, {"username": admin.username, "password": "nope"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_portal_lockout_after_repeated_failures(client, admin, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(LOGIN, {"username": admin.username, "password": "nope"})
    response = client.post(LOGIN, {"username": admin.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_inactive_customer_cannot_sign_in_and_open_sessions_end(client, admin, customer):
    client.post(LOGIN, {"username": admin.username, "password": PASSWORD})
    assert client.get(DASHBOARD).status_code == 200
    customer.is_active = False
    customer.save()
    assert client.get(DASHBOARD).status_code == 302
    response = client.post(LOGIN, {"username": admin.username, "password": PASSWORD})
    assert response.status_code == 200
    assert client.get(DASHBOARD).status_code == 302


@pytest.mark.django_db
def test_password_reset_by_email(client, viewer):
    response = client.post(reverse("accounts:password_reset"), {"email": viewer.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(\S+)", mail.outbox[0].body).group(1)

    form = client.get(link, follow=True)
    assert form.status_code == 200
    set_url = form.redirect_chain[-1][0]
    done = client.post(
        set_url, {"new_password1": "N3w-pass-phrase", "new_password2": "N3w-pass-phrase"}
    )
    assert done.status_code == 302
    viewer.refresh_from_db()
    assert viewer.check_password("N3w-pass-phrase")
    # The link works once.
    assert "Link expired" in client.get(link, follow=True).content.decode()


@pytest.mark.django_db
def test_password_reset_does_not_reveal_unknown_addresses(client):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@nowhere.io"})
    assert response.status_code == 302
    assert mail.outbox == []


@pytest.mark.django_db
def test_menu_hides_what_the_role_cannot_use(portal_client, admin, super_admin):
    body = portal_client(admin).get(DASHBOARD).content.decode()
    assert reverse("provisioning:token_list") in body
    assert reverse("licensing:summary") not in body
    assert reverse("accounts:user_list") not in body
    assert reverse("accounts:customer_switch") not in body
    body = portal_client(super_admin).get(DASHBOARD).content.decode()
    assert reverse("licensing:summary") in body
    assert reverse("accounts:user_list") in body


@pytest.mark.django_db
def test_toolbar_shows_user_customer_swagger_and_version(portal_client, super_admin, customer):
    body = portal_client(super_admin).get(DASHBOARD).content.decode()
    assert super_admin.username in body
    assert customer.contact_email in body
    assert reverse("swagger_ui") in body
    import core

    assert f"v{core.__version__}" in body


@pytest.mark.django_db
def test_staff_pick_a_customer_before_tenant_pages(client, staff, customer):
    other = CustomerFactory(name="Initech")
    client.force_login(staff)
    response = client.get(reverse("accounts:user_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:customer_switch"))

    picker = client.get(response["Location"])
    assert customer.name in picker.content.decode()
    assert other.name in picker.content.decode()

    next_url = reverse("accounts:user_list")
    chosen = client.post(
        reverse("accounts:customer_switch"), {"customer": other.pk, "next": next_url}
    )
    assert chosen["Location"] == next_url
    assert client.session[SESSION_KEY] == other.pk
    assert "Initech" in client.get(next_url).content.decode()


@pytest.mark.django_db
def test_switch_refuses_unknown_customer_and_foreign_redirects(client, staff, customer):
    client.force_login(staff)
    url = reverse("accounts:customer_switch")
    response = client.post(url, {"customer": "999999"}, follow=True)
    assert "customer: choose one of the listed customers" in response.content.decode()
    assert SESSION_KEY not in client.session
    response = client.post(url, {"customer": customer.pk, "next": "https://evil.example/"})
    assert response["Location"] == DASHBOARD
    response = client.post(url, {"customer": "abc"}, follow=True)
    assert "customer: choose one of the listed customers" in response.content.decode()


@pytest.mark.django_db
def test_menu_marks_the_section_of_sub_pages(portal_client, super_admin):
    body = portal_client(super_admin).get(reverse("accounts:user_add")).content.decode()
    assert f'<a href="{reverse("accounts:user_list")}" aria-current="page">' in body
    assert body.count('aria-current="page"') == 1
