"""The customer page and its ZTP card, the card's actions and the phone list, by role."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from phones.files.access import files_base_url
from ztp.models import Status, Vendor, ZtpAccount, ZtpPhone
from ztp.services.card import ztp_onboard

from .conftest import BASE_URL

PAGE = "/admin/system/customer/"
PHONES = "/admin/system/customer/ztp/phones/"


def action_url(vendor: str, name: str) -> str:
    return reverse("ztp:action", kwargs={"vendor": vendor, "name": name})


def test_urls():
    assert reverse("ztp:customer_detail") == PAGE
    assert reverse("ztp:phone_list") == PHONES


@pytest.mark.parametrize("who", ["super_admin", "staff"])
def test_super_admins_and_staff_see_the_customer_and_its_card(who, users, ready, portal_client):
    response = portal_client(users[who]).get(PAGE)

    assert response.status_code == 200
    body = response.content.decode()
    assert "Acme Logistics" in body and "Pat Contact" in body
    assert files_base_url(customer=ready, base_url="http://testserver") in body
    assert "Zero Touch Provisioning" in body
    assert body.count('class="ztp-vendor"') == 2
    assert "Not configured" in body
    assert f'action="{action_url("snom", "onboard")}"' in body


@pytest.mark.parametrize("who", ["admin", "viewer"])
def test_admins_and_users_see_the_customer_but_not_the_card(who, users, ready, portal_client):
    client = portal_client(users[who])

    response = client.get(PAGE)

    assert response.status_code == 200
    assert "Acme Logistics" in response.content.decode()
    assert "Zero Touch Provisioning" not in response.content.decode()
    # The ZTP area is refused with a page that says so.
    assert client.post(action_url("snom", "onboard"), {"confirmed": "1"}).status_code == 403
    assert client.get(PHONES).status_code == 403
    assert client.post(reverse("ztp:phone_add"), {"vendor": "snom", "mac": "x"}).status_code == 403
    assert not ZtpAccount.objects.exists()


def test_the_outsider_sees_their_own_customer_and_acts_on_it_only(
    users, ready, sraps, portal_client, other_customer
):
    client = portal_client(users["outsider"])

    body = client.get(PAGE).content.decode()
    assert "Globex" in body and "Acme Logistics" not in body
    client.post(action_url("snom", "check"), {"confirmed": "1"})

    assert list(ZtpAccount.objects.values_list("customer__slug", flat=True)) == ["globex"]


def test_the_page_renders_from_stored_state(
    users, ready, sraps, portal_client, django_assert_num_queries
):
    ztp_onboard(customer=ready, vendor="snom", user=None, base_url=BASE_URL)
    client = portal_client(users["super_admin"])
    requests_before = len(sraps.requests)

    # 1. session, 2. user, 3. acting customer, 4. its phone file URL's secret, 5. its ZTP
    # accounts, 6. phone counts per vendor, 7. the month's direct additions (base.html);
    # no vendor call.
    with django_assert_num_queries(7):
        response = client.get(PAGE)

    body = response.content.decode()
    company = ZtpAccount.objects.get().company_id
    assert f"<code>{company}</code>" in body
    assert "Configured" in body and "Rotate" in body and "Disable" in body
    assert len(sraps.requests) == requests_before


def test_onboard_from_the_card_with_the_script(users, ready, sraps, portal_client):
    client = portal_client(users["super_admin"])

    response = client.post(
        action_url("snom", "onboard"), {"confirmed": "1"}, HTTP_X_REQUESTED_WITH="fetch"
    )

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    body = response.content.decode()
    assert body.lstrip().startswith('<section class="card wide ztp-card"')
    company = ZtpAccount.objects.get(vendor="snom").company_id
    assert f"Snom (SRAPS): Onboarded (company {company})." in body
    assert 'data-field="status">Configured<' in body


def test_without_the_script_an_action_asks_for_confirmation_first(
    users, ready, sraps, portal_client
):
    client = portal_client(users["super_admin"])

    asked = client.post(action_url("snom", "onboard"))

    assert asked.status_code == 200
    assert "Confirm onboard" in asked.content.decode()
    assert not ZtpAccount.objects.exists()
    done = client.post(action_url("snom", "onboard"), {"confirmed": "1"}, follow=True)
    assert done.redirect_chain == [(PAGE + "#ztp", 302)]
    assert "Snom (SRAPS): Onboarded" in done.content.decode()
    assert ZtpAccount.objects.get().status == Status.CONFIGURED


def test_a_failure_shows_inline_on_the_card(users, ready, portal_client):
    client = portal_client(users["super_admin"])  # no fake: no reseller credentials

    response = client.post(
        action_url("snom", "onboard"), {"confirmed": "1"}, HTTP_X_REQUESTED_WITH="fetch"
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-field="status">Error<' in body
    assert "Reseller credentials not configured in this environment" in body
    assert 'role="alert" data-field="error"' in body


def test_check_now_needs_no_confirmation(users, ready, sraps, portal_client):
    response = portal_client(users["staff"]).post(action_url("snom", "check"), follow=True)

    assert "the reseller credentials work; ready to onboard" in response.content.decode()
    assert ZtpAccount.objects.get().checked_at is not None


def test_unknown_vendor_or_action_is_404(users, ready, portal_client):
    client = portal_client(users["super_admin"])
    assert client.post(action_url("cisco", "onboard"), {"confirmed": "1"}).status_code == 404
    assert client.post(action_url("snom", "explode"), {"confirmed": "1"}).status_code == 404


def test_actions_are_post_only(users, portal_client, client):
    assert client.get(action_url("snom", "onboard")).status_code == 405
    assert portal_client(users["super_admin"]).get(action_url("snom", "onboard")).status_code == 405


# --- the phone list -----------------------------------------------------------------------


def test_phone_list_add_look_up_remove_and_import(users, ready, sraps, portal_client):
    ztp_onboard(customer=ready, vendor="snom", user=None, base_url=BASE_URL)
    client = portal_client(users["super_admin"])

    added = client.post(
        reverse("ztp:phone_add"), {"vendor": "snom", "mac": "00:04:13:2a:3b:4c"}, follow=True
    )
    assert "Snom (SRAPS): 00:04:13:2A:3B:4C registered." in added.content.decode()
    assert "<code>00:04:13:2A:3B:4C</code>" in added.content.decode()

    looked = client.post(
        reverse("ztp:phone_lookup"), {"vendor": "snom", "mac": "0004132A3B4C"}, follow=True
    )
    assert "is sent to this customer&#x27;s provisioning URL" in looked.content.decode()

    upload = SimpleUploadedFile("phones.csv", b"mac\n000413000001\nbad\n", "text/csv")
    imported = client.post(
        reverse("ztp:phone_import"), {"vendor": "snom", "file": upload}, follow=True
    )
    body = imported.content.decode()
    assert "Snom (SRAPS): import: 1 phone(s) registered, 1 failed." in body
    assert "line 3: &#x27;bad&#x27; is not a MAC address" in body

    removed = client.post(
        reverse("ztp:phone_remove"), {"vendor": "snom", "mac": "0004132A3B4C"}, follow=True
    )
    assert "00:04:13:2A:3B:4C removed" in removed.content.decode()
    assert list(ZtpPhone.objects.values_list("mac", flat=True)) == ["000413000001"]


def test_phone_list_is_per_vendor_and_paged(users, ready, portal_client, django_assert_num_queries):
    for n in range(3):
        ZtpPhone.objects.create(
            customer=ready,
            vendor=Vendor.YEALINK,
            mac=f"00156500000{n}",
            registered_at="2026-01-01T00:00Z",
        )
    client = portal_client(users["super_admin"])

    snom = client.get(PHONES).content.decode()
    # 1. session, 2. user, 3. customer, 4. count, 5. the page's rows, 6. counts per vendor
    # (the tabs), 7. the vendor's account, 8. direct additions (base.html).
    with django_assert_num_queries(8):
        yealink = client.get(PHONES + "?vendor=yealink&q=00:15:65:00:00:01").content.decode()

    assert not ZtpAccount.objects.exists()  # looking writes nothing
    assert "No phones registered" in snom
    assert "is not configured for Acme Logistics" in snom
    assert "00:15:65:00:00:01" in yealink and "00:15:65:00:00:02" not in yealink
    assert client.get(PHONES + "?vendor=cisco").status_code == 404


def test_a_bad_mac_is_reported(users, ready, sraps, portal_client):
    ztp_onboard(customer=ready, vendor="snom", user=None, base_url=BASE_URL)

    response = portal_client(users["super_admin"]).post(
        reverse("ztp:phone_add"), {"vendor": "snom", "mac": "00:04"}, follow=True
    )

    assert "mac: &#x27;00:04&#x27; is not a MAC address" in response.content.decode()


def test_the_menu_has_the_customer_page_for_every_role(users, portal_client):
    for who in ("super_admin", "admin", "viewer"):
        body = portal_client(users[who]).get(PAGE).content.decode()
        assert f'<a href="{PAGE}" aria-current="page">Customer</a>' in body
