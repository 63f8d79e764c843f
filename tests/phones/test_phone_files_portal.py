"""Phone files on the portal and the API: the Phone files page (URL, rotation, the
customer's templates), the category page's preview, a phone's lines (page and
/devices/{deviceId}/lines)."""

from __future__ import annotations

import pytest
from django.test import Client

from devices.models import Device, DeviceKind
from phones.files.access import file_secret, files_base_url
from phones.files.vendors import VENDORS
from phones.models import FileTemplate, PhoneLine
from phones.services.categories import category_save
from phones.services.lines import phone_line_set
from phones.services.templates import KINDS, file_template_save, shipped_source
from provisioning.services.bootstraps import bootstrap_save
from reports.models import Event, EventType

pytestmark = pytest.mark.django_db

API = "/admin/api/v1"
MAC = "000413ABCDEF"
FILES = "/admin/phones/files/"


@pytest.fixture
def desk(customer, admin):
    bootstrap, _ = bootstrap_save(
        customer=customer,
        user=admin,
        name="Desk phones",
        parameters={"sipServer": "sip.acme.example", "ntpServer": "ntp.acme.example"},
    )
    category, _ = category_save(customer=customer, user=admin, name="Desk", bootstrap=bootstrap)
    return category


@pytest.fixture
def phone(customer, desk):
    return Device.objects.create(
        customer=customer, device_id=MAC, kind=DeviceKind.DESK_PHONE, category=desk.name
    )


def snom_settings(client, customer):
    path = files_base_url(customer=customer, base_url="http://testserver") + f"snom/{MAC}.xml"
    return client.get(path, HTTP_USER_AGENT="snomD785-SIP 10", REMOTE_ADDR="203.0.113.7")


# --- The Phone files page -------------------------------------------------------------


def test_admins_see_the_whole_url_users_see_it_masked(customer, admin, viewer, portal_client):
    secret = file_secret(customer)
    page = portal_client(admin).get(FILES).content.decode()
    assert f"/phones/{secret}/snom/{{mac}}.xml" in page and "Change the URL" in page
    assert "Edit" in page
    shown = portal_client(viewer).get(FILES)
    assert shown.status_code == 200
    text = shown.content.decode()
    assert secret not in text and "/phones/…/" in text
    assert "Change the URL" not in text and "/templates/" not in text


def test_rotating_from_the_page_asks_first_and_keeps_the_old_url_working(
    customer, admin, viewer, phone, portal_client
):
    old = file_secret(customer)
    assert portal_client(viewer).post(f"{FILES}rotate").status_code in (403, 404)
    assert file_secret(customer) == old
    client = portal_client(admin)
    confirm = client.get(f"{FILES}rotate")
    assert confirm.status_code == 200 and "30 days" in confirm.content.decode()
    assert file_secret(customer) == old  # GET changes nothing
    done = client.post(f"{FILES}rotate", follow=True)
    assert "The phone file URL changed" in done.content.decode()
    new = file_secret(customer)
    assert new != old
    answer = Client().get(f"/phones/{old}/snom/{MAC}.xml", HTTP_USER_AGENT="snomD785-SIP 10")
    assert answer.status_code == 200 and f"/phones/{new}/" in answer.content.decode()
    assert Event.objects.filter(type=EventType.PHONE_FILE_SECRET_ROTATED).count() == 1


def test_every_shipped_template_passes_its_own_check(customer, admin):
    for vendor_key, kind in KINDS:
        body = shipped_source(VENDORS[vendor_key], kind)
        file_template_save(
            customer=customer, user=admin, vendor_key=vendor_key, kind=kind, body=body
        )
    assert FileTemplate.objects.filter(customer=customer).count() == len(KINDS)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("<settings>\n<phone-settings>\n{% if %}</phone-settings></settings>", "line 3"),
        ('<settings>{% include "/etc/passwd" %}</settings>', "cannot include"),
        ('<settings>{% include "../../../config/settings.py" %}</settings>', "cannot include"),
        ("<settings><phone-settings><a>{{ customer }}</a></phone-settings></settings>", "perm"),
        ("<settings><phone-settings>", "not well-formed"),
        ("", "required"),
        ("<settings/>" + " " * 70000, "64 KB"),
    ],
)
def test_a_template_that_does_not_give_a_readable_file_is_refused_with_the_reason(
    customer, admin, portal_client, body, says
):
    client = portal_client(admin)
    answer = client.post(f"{FILES}templates/snom/settings/", {"body": body})
    assert answer.status_code == 200
    assert says in answer.content.decode()
    assert not FileTemplate.objects.exists()
    assert not Event.objects.filter(type=EventType.PHONE_TEMPLATE_SAVED).exists()


def test_an_admin_previews_saves_and_resets_a_template_and_phones_follow(
    customer, admin, phone, portal_client
):
    client = portal_client(admin)
    editor = client.get(f"{FILES}templates/snom/settings/")
    assert editor.status_code == 200 and "phone-settings" in editor.content.decode()
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n<settings><phone-settings>'
        '<ntp_server perm="RW">own.example</ntp_server>'
        '<setting_server perm="RW">{{ provisioning_url }}</setting_server>'
        "</phone-settings></settings>"
    )
    preview = client.post(f"{FILES}templates/snom/settings/", {"body": body, "preview": "1"})
    text = preview.content.decode()
    assert "own.example" in text and "/phones/…/" in text
    assert file_secret(customer) not in text
    assert not FileTemplate.objects.exists()  # a preview saves nothing
    saved = client.post(f"{FILES}templates/snom/settings/", {"body": body})
    assert saved.status_code == 302
    assert "own.example" in snom_settings(Client(), customer).content.decode()
    listing = client.get(FILES).content.decode()
    assert "Your own, changed" in listing and "Use the shipped one" in listing
    assert client.get(f"{FILES}templates/snom/settings/reset").status_code == 200
    assert FileTemplate.objects.exists()  # GET asks first
    client.post(f"{FILES}templates/snom/settings/reset")
    assert not FileTemplate.objects.exists()
    assert "own.example" not in snom_settings(Client(), customer).content.decode()
    types = list(Event.objects.values_list("type", flat=True))
    assert EventType.PHONE_TEMPLATE_SAVED in types and EventType.PHONE_TEMPLATE_DELETED in types


@pytest.mark.parametrize("tail", ["polycom/settings/", "snom/common/", "yealink/firmware/"])
def test_a_file_no_vendor_has_is_404(admin, portal_client, tail):
    assert portal_client(admin).get(f"{FILES}templates/{tail}").status_code == 404


def test_users_cannot_change_templates(customer, viewer, portal_client):
    client = portal_client(viewer)
    body = shipped_source(VENDORS["snom"], "settings")
    assert client.post(f"{FILES}templates/snom/settings/", {"body": body}).status_code in (
        403,
        404,
    )
    assert not FileTemplate.objects.exists()


def test_another_customers_template_is_never_used_or_shown(
    customer, other_customer, admin, phone, portal_client
):
    body = (
        '<settings><phone-settings><ntp_server perm="RW">theirs.example</ntp_server>'
        "</phone-settings></settings>"
    )
    file_template_save(
        customer=other_customer, user=None, vendor_key="snom", kind="settings", body=body
    )
    assert "theirs.example" not in snom_settings(Client(), customer).content.decode()
    client = portal_client(admin)
    assert "Your own, changed" not in client.get(FILES).content.decode()
    assert "theirs.example" not in client.get(f"{FILES}templates/snom/settings/").content.decode()


# --- The category page ----------------------------------------------------------------


def test_the_category_page_previews_each_vendors_file(customer, admin, desk, portal_client):
    page = portal_client(admin).get(f"/admin/system/categories/{desk.pk}/edit")
    text = page.content.decode()
    assert page.status_code == 200
    assert "What phones of this category receive" in text
    for label in ("Snom D785", "Yealink T46S", "Gigaset MAXWELL3"):
        assert label in text
    assert text.count("ntp.acme.example") == 3
    assert file_secret(customer) not in text


# --- A phone's lines ------------------------------------------------------------------


def test_an_admin_deletes_a_line_after_confirming(customer, admin, viewer, phone, portal_client):
    phone_line_set(device=phone, user=admin, position=2, extension="202", password="pw")
    url = f"/admin/system/devices/{phone.pk}/lines/2/delete"
    assert portal_client(viewer).post(url).status_code in (403, 404)
    client = portal_client(admin)
    assert "Delete line 2" in client.get(url).content.decode()
    assert PhoneLine.objects.count() == 1
    assert client.get(f"/admin/system/devices/{phone.pk}/lines/3/delete").status_code == 404
    client.post(url)
    assert not PhoneLine.objects.exists()
    assert Event.objects.filter(type=EventType.PHONE_LINE_DELETED).count() == 1


def test_the_lines_api_sets_reads_and_deletes_a_line(api_client, admin, viewer, phone):
    api = api_client(admin)
    base = f"{API}/devices/{MAC}/lines"
    put = api.put(
        f"{base}/1",
        {"extension": "201", "displayName": "Zoë & Co", "password": "s3cret#1"},
        format="json",
    )
    assert put.status_code == 200, put.json()
    assert put.json() == {
        **put.json(),
        "position": 1,
        "extension": "201",
        "displayName": "Zoë & Co",
        "hasPassword": True,
    }
    assert "password" not in put.json()
    # Left out, the password is kept.
    api.put(f"{base}/1", {"extension": "201", "displayName": "Desk"}, format="json")
    assert api_client(viewer).get(base).json()[0]["hasPassword"] is True
    assert "s3cret" not in api.get(f"{base}/1").content.decode()
    assert api_client(viewer).put(f"{base}/2", {"extension": "2"}, format="json").status_code == 403
    assert api.delete(f"{base}/1").status_code == 204
    assert api.get(base).json() == []


@pytest.mark.parametrize(
    ("position", "body", "status", "field"),
    [
        ("1", {"extension": ""}, 400, "extension"),
        ("1", {"extension": 201}, 400, "extension"),
        ("1", {"extension": "201", "password": " pad "}, 400, "password"),
        ("1", {"extension": "201", "displayName": "a\nb"}, 400, "displayName"),
        ("13", {"extension": "201"}, 400, "position"),
        ("0", {"extension": "201"}, 400, "position"),
        ("9" * 4000, {"extension": "201"}, 404, None),
        ("-1", {"extension": "201"}, 404, None),
    ],
)
def test_bad_line_input_names_the_field_and_changes_nothing(
    api_client, admin, phone, position, body, status, field
):
    answer = api_client(admin).put(f"{API}/devices/{MAC}/lines/{position}", body, format="json")
    assert answer.status_code == status, answer.content
    if field:
        assert field in answer.json()
    assert not PhoneLine.objects.exists()


def test_another_customers_phone_has_no_lines_here(
    api_client, admin, outsider, other_customer, phone
):
    phone_line_set(device=phone, user=admin, position=1, extension="201")
    theirs = api_client(outsider)
    assert theirs.get(f"{API}/devices/{MAC}/lines").status_code == 404
    assert (
        theirs.put(f"{API}/devices/{MAC}/lines/1", {"extension": "666"}, format="json").status_code
        == 404
    )
    assert theirs.delete(f"{API}/devices/{MAC}/lines/1").status_code == 404
    assert PhoneLine.objects.get().extension == "201"


def test_an_own_template_that_fails_for_a_phone_falls_back_to_the_shipped_one(
    customer, phone, caplog
):
    # Saved directly: it renders for the sample phone (one line) but not for this one,
    # which has none (a division by zero).
    FileTemplate.objects.create(
        customer=customer,
        vendor="snom",
        kind="settings",
        body="<settings>{% with n=lines|length %}{{ 6|divisibleby:n }}{% endwith %}</settings>",
    )
    answer = snom_settings(Client(), customer)
    assert answer.status_code == 200
    assert "<phone-settings>" in answer.content.decode()
    assert "own snom settings template failed" in caplog.text


def _count(django_assert_max_num_queries, request):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = request()
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_lists_cost_the_same_however_many_rows(
    api_client, admin, super_admin, customer, phone, portal_client, django_assert_max_num_queries
):
    """The lines API, the Phone files page and the ZTP phone list: a fixed number of
    statements for one row and for many."""
    from django.utils import timezone

    from ztp.models import ZtpPhone

    api = api_client(admin)
    lines = f"{API}/devices/{MAC}/lines"
    page = portal_client(admin)
    phone_line_set(device=phone, user=admin, position=1, extension="201")
    ZtpPhone.objects.create(
        customer=customer, vendor="snom", mac="000413000001", registered_at=timezone.now()
    )
    ztp = api_client(super_admin)
    page.get(FILES)  # the customer's phone file secret is made on first use
    few = [
        _count(None, lambda: api.get(lines)),
        _count(None, lambda: page.get(FILES)),
        _count(None, lambda: ztp.get(f"{API}/ztp/snom/phones")),
    ]
    for n in range(2, 12):
        phone_line_set(device=phone, user=admin, position=n, extension=f"2{n:02}")
        ZtpPhone.objects.create(
            customer=customer, vendor="snom", mac=f"0004130000{n:02}", registered_at=timezone.now()
        )
    for vendor_key, kind in KINDS:
        FileTemplate.objects.create(
            customer=customer,
            vendor=vendor_key,
            kind=kind,
            body=shipped_source(VENDORS[vendor_key], kind),
        )
    many = [
        _count(None, lambda: api.get(lines)),
        _count(None, lambda: page.get(FILES)),
        _count(None, lambda: ztp.get(f"{API}/ztp/snom/phones")),
    ]
    assert many == few
