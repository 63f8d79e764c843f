"""The Tokens page: list with QR codes and intents, add, edit, delete, QR page and downloads."""

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from provisioning.models import Token, token_value_error
from reports.models import AppId, Event
from tests.factories import CustomerFactory, UserFactory
from tests.provisioning.factories import BootstrapFactory, TokenFactory

LIST = reverse("provisioning:token_list")
ADD = reverse("provisioning:token_add")


def url(name, token):
    return reverse(f"provisioning:{name}", args=[token.pk])


@pytest.fixture
def bootstrap(customer):
    return BootstrapFactory(customer=customer, name="Site-1094", parameters={"site": "s-1094"})


def form(chosen, /, **overrides):
    """The token form's POST data, choosing bootstrap `chosen`; None leaves a field out."""
    data = {
        "token": "Acme-PTT-1",
        "app_id": AppId.PTT_PRO,
        "bootstrap": chosen.pk,
        "description": "Warehouse handhelds",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def errors_of(response):
    return response.context["form"].errors


def text_of(markup: str) -> str:
    """What a reader sees: the markup without its tags and entities."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


# --- List ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_shows_only_this_customers_tokens(portal_client, viewer, customer, other_customer):
    TokenFactory(customer=customer, value="Ours-1")
    TokenFactory(customer=other_customer, value="Theirs-1")
    response = portal_client(viewer).get(LIST)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Ours-1" in body
    assert "Theirs-1" not in body
    assert "1 record(s) found" in body


@pytest.mark.django_db
def test_row_shows_token_app_qr_bootstrap_json_and_intent(portal_client, viewer, bootstrap):
    token = TokenFactory(
        customer=bootstrap.customer,
        value="Acme-PTT-7",
        app_id=AppId.PTT_PRO,
        bootstrap=bootstrap,
        description="Dock doors",
        max_redemptions=10,
        redemption_count=3,
        last_redeemed=timezone.now(),
    )
    response = portal_client(viewer).get(LIST)
    body = response.content.decode()
    row = body.split(f'id="token-{token.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "<svg" in row
    assert url("token_qr", token) in row
    text = text_of(row)
    for shown in ("Acme-PTT-7", "WFC_PRO_ANDROID", "Site-1094", "s-1094", "Dock doors", "3 / 10"):
        assert shown in text, shown
    assert "wfctp://Acme-PTT-7" in text
    assert 'adb shell am start -a android.intent.action.VIEW -d "wfctp://Acme-PTT-7"' in text
    # The copy button is ours, served locally, and the page loads no other origin.
    assert "js/copy.js" in body
    assert not re.search(r'(src|href)="(https?:)?//', body)


@pytest.mark.django_db
def test_adb_line_is_exact_for_ptt_pro():
    token = Token(value="TOKEN", app_id=AppId.PTT_PRO)
    assert token.adb_command == (
        'adb shell am start -a android.intent.action.VIEW -d "wfctp://TOKEN"'
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("app_id", "scheme"),
    [
        (AppId.VOICE, "wfcvp"),
        (AppId.PTT_PRO, "wfctp"),
        (AppId.PROFILE_CLIENT, "wfcpp"),
        (AppId.CENTRAL_SERVICE, "wfccs"),
    ],
)
def test_each_android_app_gets_its_intent(portal_client, viewer, customer, app_id, scheme):
    TokenFactory(customer=customer, value="T-1", app_id=app_id)
    text = html.unescape(portal_client(viewer).get(LIST).content.decode())
    assert f'adb shell am start -a android.intent.action.VIEW -d "{scheme}://T-1"' in text


@pytest.mark.django_db
def test_ios_token_has_no_intent(portal_client, viewer, customer):
    token = TokenFactory(customer=customer, value="Ios-1", app_id=AppId.PTT_PRO_IOS)
    body = portal_client(viewer).get(LIST).content.decode()
    row = body.split(f'id="token-{token.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "adb shell" not in row
    assert "://" not in row
    assert "—" in row


@pytest.mark.django_db
def test_list_search_sort_and_page(
    portal_client, admin, customer, other_customer, django_assert_max_num_queries
):
    # A bootstrap per token, so fetching bootstraps row by row would show in the count.
    for i in range(33):
        TokenFactory(
            customer=customer,
            value=f"Bulk-{i:02}",
            description=f"shelf {i:02}",
            redemption_count=i % 5,
        )
    TokenFactory(customer=other_customer, value="Bulk-99")
    client = portal_client(admin)

    found = client.get(LIST, {"q": "shelf 07"}).context["object_list"]
    assert [t.value for t in found] == ["Bulk-07"]
    bootstrap_name = Token.objects.get(value="Bulk-08").bootstrap.name
    by_bootstrap = client.get(LIST, {"q": bootstrap_name}).context["object_list"]
    assert [t.value for t in by_bootstrap] == ["Bulk-08"]

    values = [t.value for t in client.get(LIST, {"ordering": "-token"}).context["object_list"]]
    assert values == sorted(values, reverse=True)
    assert len(values) == 25
    counts = [
        t.redemption_count
        for t in client.get(LIST, {"ordering": "-redemptions"}).context["object_list"]
    ]
    assert counts == sorted(counts, reverse=True)

    # Session, user, customer, count, page with its bootstraps joined: five, whatever the
    # number of rows.
    with django_assert_max_num_queries(5):
        page2 = client.get(LIST, {"ordering": "token", "page": 2})
    assert [t.value for t in page2.context["object_list"]] == [
        f"Bulk-{i:02}" for i in range(25, 33)
    ]
    assert page2.content.decode().count("<svg") == 8


@pytest.mark.django_db
def test_filter_by_app(portal_client, viewer, customer):
    TokenFactory(customer=customer, value="Voice-1", app_id=AppId.VOICE)
    TokenFactory(customer=customer, value="Pro-1", app_id=AppId.PTT_PRO)
    found = portal_client(viewer).get(LIST, {"appId": AppId.PTT_PRO}).context["object_list"]
    assert [t.value for t in found] == ["Pro-1"]


@pytest.mark.django_db
def test_user_sees_no_change_buttons(portal_client, viewer, customer):
    token = TokenFactory(customer=customer)
    body = portal_client(viewer).get(LIST).content.decode()
    assert token.value in body
    assert ADD not in body
    assert url("token_edit", token) not in body
    assert url("token_delete", token) not in body


# --- Add and edit ----------------------------------------------------------------------


@pytest.mark.django_db
def test_add_form_lists_only_this_customers_bootstraps(
    portal_client, admin, bootstrap, other_customer
):
    BootstrapFactory(customer=other_customer, name="Their-Bootstrap")
    response = portal_client(admin).get(ADD)
    body = response.content.decode()
    assert "Site-1094" in body
    assert "Their-Bootstrap" not in body
    # A value nobody can guess is suggested.
    assert response.context["form"]["token"].value().startswith("acme-")


@pytest.mark.django_db
def test_suggested_value_is_a_valid_token_whatever_the_slug(portal_client):
    customer = CustomerFactory(slug="acme_west")
    BootstrapFactory(customer=customer)
    admin = UserFactory(customer=customer, role=Role.ADMIN)
    value = portal_client(admin).get(ADD).context["form"]["token"].value()
    assert token_value_error(value) is None, value
    assert value.startswith("acme-west-")


@pytest.mark.django_db
def test_admin_adds_a_token(portal_client, admin, bootstrap, customer):
    expires = (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    response = portal_client(admin).post(
        ADD, form(bootstrap, expires_at=expires, max_redemptions="5")
    )
    assert response.status_code == 302
    assert response["Location"] == LIST
    token = Token.objects.get()
    assert token.customer == customer
    assert (token.value, token.app_id, token.bootstrap) == ("Acme-PTT-1", AppId.PTT_PRO, bootstrap)
    assert token.description == "Warehouse handhelds"
    assert token.max_redemptions == 5
    assert token.expires_at is not None
    assert Event.objects.filter(type="TOKEN_ADDED", user=admin).exists()


@pytest.mark.django_db
def test_add_does_not_replace_an_existing_token(portal_client, admin, bootstrap, customer):
    existing = TokenFactory(customer=customer, value="Acme-PTT-1", app_id=AppId.VOICE)
    response = portal_client(admin).post(ADD, form(bootstrap, token="acme-ptt-1"))
    assert response.status_code == 200
    assert "already exists" in str(errors_of(response)["token"])
    existing.refresh_from_db()
    assert (existing.value, existing.app_id, existing.version) == ("Acme-PTT-1", AppId.VOICE, 1)


@pytest.mark.django_db
def test_token_of_another_customer_cannot_be_reused(
    portal_client, admin, bootstrap, other_customer
):
    TokenFactory(customer=other_customer, value="Taken-Elsewhere")
    response = portal_client(admin).post(ADD, form(bootstrap, token="taken-elsewhere"))
    assert "already in use" in str(errors_of(response)["token"])
    assert Token.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"token": "x" * 65}, "token", "at most 64 characters"),
        ({"token": "has space"}, "token", "only letters, digits and dashes"),
        ({"token": "hash#tag"}, "token", "only letters, digits and dashes"),
        ({"token": ""}, "token", "required"),
        ({"app_id": "WFC_PRO_WINDOWS"}, "app_id", "valid choice"),
        ({"max_redemptions": "0"}, "max_redemptions", "from 1 to"),
        ({"description": "d" * 256}, "description", "at most 255"),
        ({"bootstrap": None}, "bootstrap", "required"),
    ],
)
def test_invalid_input_shows_on_its_field_and_saves_nothing(
    portal_client, admin, bootstrap, overrides, field, message
):
    response = portal_client(admin).post(ADD, form(bootstrap, **overrides))
    assert response.status_code == 200
    errors = errors_of(response)
    assert field in errors, errors
    assert message in str(errors[field])
    assert not Token.objects.exists()
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_bootstrap_of_another_customer_is_refused(portal_client, admin, bootstrap, other_customer):
    theirs = BootstrapFactory(customer=other_customer, name="Theirs")
    response = portal_client(admin).post(ADD, form(bootstrap, bootstrap=theirs.pk))
    assert response.status_code == 200
    assert "valid choice" in str(errors_of(response)["bootstrap"])
    assert not Token.objects.exists()


@pytest.mark.django_db
def test_admin_edits_a_token(portal_client, admin, bootstrap, customer):
    token = TokenFactory(customer=customer, value="Old-Value", app_id=AppId.VOICE)
    client = portal_client(admin)
    page = client.get(url("token_edit", token))
    assert page.status_code == 200
    assert 'name="version" value="1"' in page.content.decode()

    response = client.post(
        url("token_edit", token),
        form(bootstrap, token="New-Value", revoked="on", version=token.version),
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert (token.value, token.app_id, token.bootstrap, token.revoked, token.version) == (
        "New-Value",
        AppId.PTT_PRO,
        bootstrap,
        True,
        2,
    )


@pytest.mark.django_db
def test_edit_keeps_its_own_value(portal_client, admin, bootstrap, customer):
    token = TokenFactory(customer=customer, value="Same", bootstrap=bootstrap)
    response = portal_client(admin).post(
        url("token_edit", token), form(bootstrap, token="Same", description="new", version=1)
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.description == "new"


@pytest.mark.django_db
def test_stale_version_is_refused(portal_client, admin, super_admin, bootstrap, customer):
    token = TokenFactory(customer=customer, value="Shared", bootstrap=bootstrap)
    portal_client(super_admin).post(
        url("token_edit", token), form(bootstrap, token="Shared", description="first", version=1)
    )
    response = portal_client(admin).post(
        url("token_edit", token), form(bootstrap, token="Shared", description="second", version=1)
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "changed by someone else" in body
    assert "reload" in body.lower()
    token.refresh_from_db()
    assert (token.description, token.version) == ("first", 2)


@pytest.mark.django_db
def test_validation_error_on_edit_changes_nothing(portal_client, admin, bootstrap, customer):
    token = TokenFactory(customer=customer, value="Stays", bootstrap=bootstrap)
    response = portal_client(admin).post(
        url("token_edit", token), form(bootstrap, token="bad value", version=1)
    )
    assert "only letters" in str(errors_of(response)["token"])
    token.refresh_from_db()
    assert (token.value, token.version) == ("Stays", 1)


# --- Delete ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_delete_asks_first(portal_client, admin, customer):
    token = TokenFactory(customer=customer, value="Doomed-1")
    response = portal_client(admin).get(url("token_delete", token))
    assert response.status_code == 200
    assert "Doomed-1" in response.content.decode()
    assert 'name="version" value="1"' in response.content.decode()
    assert Token.objects.filter(pk=token.pk).exists()


@pytest.mark.django_db
def test_admin_deletes_a_token(portal_client, admin, customer):
    token = TokenFactory(customer=customer, value="Doomed-1")
    response = portal_client(admin).post(url("token_delete", token), {"version": 1}, follow=True)
    assert "Token Doomed-1 deleted." in response.content.decode()
    assert not Token.objects.exists()
    assert Event.objects.filter(type="TOKEN_DELETED").exists()


@pytest.mark.django_db
def test_delete_with_stale_version_deletes_nothing(portal_client, admin, customer):
    token = TokenFactory(customer=customer, version=4)
    response = portal_client(admin).post(url("token_delete", token), {"version": 3}, follow=True)
    assert "changed by someone else" in response.content.decode()
    assert Token.objects.filter(pk=token.pk).exists()


# --- QR code ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_qr_page_shows_a_large_svg_and_downloads(portal_client, viewer, customer):
    token = TokenFactory(customer=customer, value="Print-Me", app_id=AppId.VOICE)
    response = portal_client(viewer).get(url("token_qr", token))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<svg" in body
    assert "Print-Me" in body
    assert f"{url('token_qr_download', token)}?format=png" in body
    assert f"{url('token_qr_download', token)}?format=svg" in body
    assert "wfcvp://Print-Me" in body


@pytest.mark.django_db
def test_png_download(portal_client, viewer, customer):
    token = TokenFactory(customer=customer, value="Print-Me")
    response = portal_client(viewer).get(url("token_qr_download", token), {"format": "png"})
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="Print-Me-qr.png"'
    assert response.content.startswith(b"\x89PNG")


@pytest.mark.django_db
def test_svg_download(portal_client, viewer, customer):
    token = TokenFactory(customer=customer, value="Print-Me")
    response = portal_client(viewer).get(url("token_qr_download", token), {"format": "svg"})
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert "attachment" in response["Content-Disposition"]
    assert response.content.lstrip().startswith((b"<?xml", b"<svg"))


@pytest.mark.django_db
def test_unknown_download_format_is_refused(portal_client, viewer, customer):
    token = TokenFactory(customer=customer)
    response = portal_client(viewer).get(url("token_qr_download", token), {"format": "gif"})
    assert response.status_code == 400


# --- Who may ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_user_gets_403_on_changes(portal_client, viewer, bootstrap, customer):
    token = TokenFactory(customer=customer, value="Safe", bootstrap=bootstrap)
    client = portal_client(viewer)
    assert client.get(ADD).status_code == 403
    assert client.post(ADD, form(bootstrap)).status_code == 403
    assert client.get(url("token_edit", token)).status_code == 403
    assert client.post(url("token_edit", token), form(bootstrap, version=1)).status_code == 403
    assert client.get(url("token_delete", token)).status_code == 403
    assert client.post(url("token_delete", token), {"version": 1}).status_code == 403
    assert list(Token.objects.values_list("value", flat=True)) == ["Safe"]


@pytest.mark.django_db
def test_outsider_gets_404_on_this_customers_token(portal_client, outsider, customer):
    token = TokenFactory(customer=customer, value="Private")
    client = portal_client(outsider)
    for name in ("token_edit", "token_delete", "token_qr", "token_qr_download"):
        assert client.get(url(name, token)).status_code == 404, name
    assert client.post(url("token_edit", token), {"token": "Mine", "version": 1}).status_code == 404
    assert client.post(url("token_delete", token), {"version": 1}).status_code == 404
    token.refresh_from_db()
    assert token.value == "Private"
