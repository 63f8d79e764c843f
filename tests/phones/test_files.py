"""The phone file endpoint (`/phones/<secret>/<vendor>/<file>`): each vendor's files
fetched over HTTP from a live server as the firmware would (phones.files.simulator, which
follows the vendors' documentation, not our writer), read with strict parsers; escaping
per format; binding; the secret's rotation; hostile input."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from defusedxml import ElementTree as ET
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from devices.models import Device, DeviceKind
from gateway.services.files import file_read
from phones.files.access import (
    file_secret,
    file_secret_rotate,
    files_base_url,
    secret_lookup,
    vendor_url,
)
from phones.files.render import clean
from phones.files.simulator import PhoneRefused, parse_cfg, simulate
from phones.files.vendors import GIGASET, SNOM, YEALINK
from phones.models import PhoneBinding
from phones.services.auto import auto_provisioning_enable
from phones.services.categories import category_save
from phones.services.jobs import config_job_create, software_job_create
from phones.services.lines import phone_binding_release, phone_line_set
from provisioning.services.bootstraps import bootstrap_save
from reports.models import History, HistoryAction, HistoryResult

pytestmark = pytest.mark.django_db

MAC = "000413ABCDEF"
HOSTILE_NAME = 'Zoë "O\'Brien" & Co <desk> #1'
HOSTILE_PASSWORD = "p#ss w<rd&\"'ü"


@pytest.fixture
def desk(customer, admin):
    bootstrap, _ = bootstrap_save(
        customer=customer,
        user=admin,
        name="Desk phones",
        parameters={
            "sipServer": "sip.acme.example",
            "sipPort": 5060,
            "ntpServer": "ntp.acme.example",
            "timeZone": "Europe/Berlin",
            "language": "de",
            "yealink": {"features.dnd.enable": 1},
        },
    )
    category, _ = category_save(customer=customer, user=admin, name="Desk", bootstrap=bootstrap)
    return category


@pytest.fixture
def phone(customer, admin, desk):
    device = Device.objects.create(
        customer=customer,
        device_id=MAC,
        kind=DeviceKind.DESK_PHONE,
        mac="00:04:13:AB:CD:EF",
        category=desk.name,
    )
    phone_line_set(
        device=device,
        user=admin,
        position=1,
        extension="201",
        display_name=HOSTILE_NAME,
        auth_user="201",
        password=HOSTILE_PASSWORD,
    )
    return device


def fetch(client, path, agent="", address="203.0.113.7"):
    return client.get(path, HTTP_USER_AGENT=agent, REMOTE_ADDR=address)


# --- Over HTTP, as each firmware fetches ----------------------------------------------


@pytest.mark.parametrize(
    "vendor, model", [(SNOM, "D785"), (YEALINK, "T46S"), (GIGASET, "Maxwell 3")]
)
def test_each_vendor_fetches_and_parses_its_files(
    live_server, customer, admin, desk, phone, vendor, model
):
    software_job_create(
        customer=customer,
        user=admin,
        category=desk,
        firmware={"version": "10.1.33", "url": "https://files.acme.example/fw.bin"},
    )
    url = vendor_url(vendor, customer=customer, base_url=live_server.url)
    applied = simulate(vendor=vendor.key, mac=MAC, url=url, model=model).settings
    if vendor is SNOM:
        assert applied["user_realname[1]"] == HOSTILE_NAME
        assert applied["user_pass[1]"] == HOSTILE_PASSWORD
        assert applied["user_host[1]"] == "sip.acme.example:5060"
        assert applied["ntp_server"] == "ntp.acme.example"
        assert applied["language"] == "Deutsch"
        assert applied["utc_offset"] in {"3600", "7200"}
        assert applied["setting_server"] == url
        assert applied["firmware"] == "https://files.acme.example/fw.bin"
    elif vendor is YEALINK:
        assert applied["account.1.display_name"] == HOSTILE_NAME
        assert applied["account.1.password"] == HOSTILE_PASSWORD
        assert applied["account.1.sip_server.1.address"] == "sip.acme.example"
        assert applied["static.auto_provision.server.url"] == url
        assert applied["static.firmware.url"] == "https://files.acme.example/fw.bin"
        assert applied["lang.gui"] == "German"
        assert applied["features.dnd.enable"] == "1"
    else:
        assert applied["SIP.Account.0.DisplayName"] == HOSTILE_NAME
        assert applied["SIP.Account.0.AuthPassword"] == HOSTILE_PASSWORD
        assert applied["System.Provision.ProvisioningServer"] == url
        assert applied["firmware"] == "https://files.acme.example/fw.bin"
        assert applied["firmware.version"] == "10.1.33"
    binding = PhoneBinding.objects.get(device=phone)
    assert (binding.vendor, binding.network) == (vendor.key, "127.0.0.0/24")
    rows = History.objects.filter(action=HistoryAction.FILE)
    assert set(rows.values_list("result", flat=True)) == {HistoryResult.OK}
    assert rows.filter(device_id=MAC).exists()


def test_the_command_prints_what_the_phone_applies_with_passwords_masked(
    live_server, customer, phone
):
    out = StringIO()
    url = vendor_url(YEALINK, customer=customer, base_url=live_server.url)
    call_command("simulate_phone", "--vendor", "yealink", "--mac", MAC, "--url", url, stdout=out)
    text = out.getvalue()
    assert "account.1.user_name = 201" in text
    assert "account.1.password = ********" in text
    assert HOSTILE_PASSWORD not in text
    assert file_secret(customer) not in text  # the fetched URLs are shown masked
    with pytest.raises(CommandError, match="HTTP 404"):
        call_command("simulate_phone", "--vendor", "yealink", "--mac", "001565000001", "--url", url)


# --- Each format's escaping ---------------------------------------------------------


def test_xml_files_escape_every_hostile_value_and_drop_control_characters(
    customer, admin, desk, phone
):
    phone_line_set(device=phone, user=admin, position=2, extension="202", password="x]]>y")
    # Lines refuse control characters; a category's settings are any JSON, so the file
    # drops them.
    config_job_create(
        customer=customer,
        user=admin,
        category=desk,
        config_type="ntp",
        parameters={"ntpServer": "a\x01b\x1bc"},
    )
    base = files_base_url(customer=customer, base_url="http://testserver")
    answer = fetch(Client(), f"{base}snom/{MAC}.xml", "snomD785-SIP 10.1.33.33")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/xml")
    root = ET.fromstring(answer.content)
    values = {(e.tag, e.get("idx")): e.text for e in root.find("phone-settings")}
    assert values[("user_realname", "1")] == HOSTILE_NAME
    assert values[("user_pass", "1")] == HOSTILE_PASSWORD
    assert values[("user_pass", "2")] == "x]]>y"
    assert values[("ntp_server", None)] == "a b c"
    phone_binding_release(device=phone, user=admin)  # the same MAC, now as a Gigaset
    gigaset = fetch(Client(), f"{base}gigaset/{MAC}.xml", "Gigaset Maxwell 3/2.50")
    assert gigaset.status_code == 200
    params = {p.get("name"): p.get("value") for p in ET.fromstring(gigaset.content).iter("param")}
    assert params["SIP.Account.0.DisplayName"] == HOSTILE_NAME
    assert params["System.DateAndTime.TimeServer"] == "a b c"


def test_cfg_files_keep_each_value_on_its_own_line(customer, admin, desk, phone):
    config_job_create(
        customer=customer,
        user=admin,
        category=desk,
        config_type="ntp",
        parameters={"ntpServer": "evil\nstatic.firmware.url = http://evil", "sipPort": 99999},
    )
    base = files_base_url(customer=customer, base_url="http://testserver")
    answer = fetch(Client(), f"{base}yealink/{MAC.lower()}.cfg", "Yealink SIP-T46S 66.86.0.15")
    assert answer.status_code == 200
    settings = parse_cfg(answer.content.decode())
    assert settings["account.1.display_name"] == HOSTILE_NAME
    assert settings["account.1.password"] == HOSTILE_PASSWORD
    assert settings["local_time.ntp_server1"] == "evil static.firmware.url = http://evil"
    assert "static.firmware.url" not in settings
    assert "account.1.sip_server.1.port" not in settings  # not a port: left out
    common = fetch(Client(), f"{base}yealink/y000000000066.cfg", "Yealink SIP-T46S 66.86.0.15")
    assert parse_cfg(common.content.decode())["static.auto_provision.server.url"] == (
        vendor_url(YEALINK, customer=customer, base_url="http://testserver")
    )


def test_values_no_file_can_carry_are_dropped():
    assert clean(10**5000) == ""  # too long to write out (Python refuses)
    assert clean({"a": 1}) == "" and clean(["x"]) == "" and clean(None) == ""
    assert clean(True) == "1" and clean("  a\r\nb\t ") == "a  b"


def test_the_strict_cfg_parser_rejects_what_a_phone_would():
    with pytest.raises(PhoneRefused, match="first line"):
        parse_cfg("account.1.enable = 1\n")
    with pytest.raises(PhoneRefused, match="line 2"):
        parse_cfg("#!version:1.0.0.1\nnot a setting\n")


# --- Binding and the secret --------------------------------------------------------


def test_a_bound_mac_is_refused_from_another_network_or_model_until_released(
    customer, admin, phone
):
    path = files_base_url(customer=customer, base_url="http://testserver") + f"snom/{MAC}.xml"
    assert fetch(Client(), path, "snomD785-SIP 10").status_code == 200
    assert fetch(Client(), path, "snomD785-SIP 10", address="203.0.113.99").status_code == 200
    other = fetch(Client(), path, "snomD785-SIP 10", address="198.51.100.5")
    assert other.status_code == 403 and other.json()["error"] == "bound_elsewhere"
    assert fetch(Client(), path, "snomD765-SIP 10").status_code == 403
    assert History.objects.filter(result=HistoryResult.BOUND_ELSEWHERE, device_id=MAC).count() == 2
    assert phone_binding_release(device=phone, user=admin)
    assert fetch(Client(), path, "snomD785-SIP 10", address="198.51.100.5").status_code == 200


def test_an_unknown_mac_joins_only_with_automatic_provisioning(customer, admin, desk):
    path = files_base_url(customer=customer, base_url="http://testserver") + "snom/0004130000AA.xml"
    refused = fetch(Client(), path, "snomD785-SIP 10")
    assert refused.status_code == 404 and refused.json()["error"] == "unknown_device"
    auto_provisioning_enable(customer=customer, user=admin)
    assert fetch(Client(), path, "snomD785-SIP 10").status_code == 200
    device = Device.objects.get(customer=customer, device_id="0004130000AA")
    assert device.category == desk.name
    assert device.file_binding.joined_by == "file URL"


def test_a_rotated_secret_keeps_working_for_the_grace_period(customer, admin, phone):
    old = file_secret(customer)
    new = file_secret_rotate(customer=customer, user=admin)
    assert new != old and file_secret(customer) == new
    for secret in (old, new):
        answer = fetch(Client(), f"/phones/{secret}/snom/{MAC}.xml", "snomD785-SIP 10")
        assert answer.status_code == 200
        # The file moves the phone to the new URL.
        assert f"/phones/{new}/snom/" in answer.content.decode()
    with freeze_time(timezone.now() + timedelta(days=31)):
        gone = fetch(Client(), f"/phones/{old}/snom/{MAC}.xml", "snomD785-SIP 10")
        assert gone.status_code == 404
        assert (
            fetch(Client(), f"/phones/{new}/snom/{MAC}.xml", "snomD785-SIP 10").status_code == 200
        )


def test_another_customers_secret_never_reaches_this_customers_phone(
    customer, other_customer, phone
):
    theirs = file_secret(other_customer)
    answer = fetch(Client(), f"/phones/{theirs}/snom/{MAC}.xml", "snomD785-SIP 10")
    assert answer.status_code == 404 and answer.json()["error"] == "unknown_device"


# --- Hostile input ------------------------------------------------------------------


@pytest.mark.parametrize(
    "tail, agent, status",
    [
        ("snom/00-04-13-AB-CD-EF.xml", "snomD785-SIP 10", 404),
        ("snom/000413ABCDEF.xml.bak", "snomD785-SIP 10", 404),
        ("snom/../yealink/000413abcdef.cfg", "snomD785-SIP 10", 404),
        ("snom/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "snomD785-SIP 10", 404),
        ("snom/000413ABCDEF%00.xml", "snomD785-SIP 10", 404),
        ("polycom/000413abcdef.cfg", "", 404),
        ("yealink/y000000000099.cfg", "Yealink SIP-T99 1", 404),
        ("yealink/y66.cfg", "Yealink SIP-T46S 1", 404),
        ("snom/000413ABCDEF.xml", "snomX999-SIP 10", 404),
        ("snom/000413ABCDEF.xml", "x" * 60000, 404),
        ("snom/000413ABCDEF-firmware.xml", "snomD785-SIP 10", 404),
    ],
)
def test_hostile_requests_get_4xx_and_a_history_row(customer, phone, tail, agent, status, caplog):
    secret = file_secret(customer)
    before = History.objects.filter(action=HistoryAction.FILE).count()
    with caplog.at_level(logging.DEBUG):
        answer = fetch(Client(), f"/phones/{secret}/{tail}", agent)
    assert answer.status_code == status, answer.content
    assert answer.json()["error"]
    assert History.objects.filter(action=HistoryAction.FILE).count() == before + 1
    assert secret not in caplog.text
    assert not History.objects.filter(token__contains=secret).exists()


@pytest.mark.parametrize("secret", ["0" * 32, "not-a-secret", "A" * 4000, "%00" * 3])
def test_a_wrong_secret_is_404_with_a_history_row(phone, secret):
    answer = fetch(Client(), f"/phones/{secret}/snom/{MAC}.xml", "snomD785-SIP 10")
    assert answer.status_code == 404
    row = History.objects.get(action=HistoryAction.FILE)
    assert row.result == HistoryResult.UNKNOWN_TOKEN and row.customer_id is None


def test_plain_http_is_refused_when_https_only(customer, phone, settings):
    settings.PHONE_FILES_HTTPS_ONLY = True
    path = files_base_url(customer=customer, base_url="http://testserver") + f"snom/{MAC}.xml"
    answer = fetch(Client(), path, "snomD785-SIP 10")
    assert answer.status_code == 403 and answer.json()["error"] == "https_required"
    assert History.objects.get(action=HistoryAction.FILE).result == HistoryResult.HTTPS_REQUIRED
    assert Client().get(path, HTTP_USER_AGENT="snomD785-SIP 10", secure=True).status_code == 200


def test_the_database_down_is_a_503(customer, phone, monkeypatch):
    from django.db import OperationalError

    path = files_base_url(customer=customer, base_url="http://testserver") + f"snom/{MAC}.xml"

    def down(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("gateway.api.files.phone_file", down)
    answer = fetch(Client(), path, "snomD785-SIP 10")
    assert answer.status_code == 503 and answer["Retry-After"]


def test_line_input_is_checked_field_by_field(phone, admin):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        phone_line_set(
            device=phone,
            user=admin,
            position=10**4000,
            extension="20 1",
            display_name="x" * 65,
            password=" padded ",
        )
    assert set(refused.value.message_dict) == {"position", "extension", "displayName", "password"}
    assert phone.lines.count() == 1


def test_the_file_names_vendors_document_are_the_ones_read():
    assert SNOM.request("000413ABCDEF.xml").mac == MAC
    assert SNOM.request("000413abcdef-firmware.xml").kind == "firmware"
    assert YEALINK.request("y000000000066.cfg").family == "66"
    assert YEALINK.request("y000000000108.cfg").family == "108"
    assert YEALINK.request("001565aabbcc.cfg").mac == "001565AABBCC"
    assert GIGASET.request("7C2F80208402.xml").mac == "7C2F80208402"
    assert YEALINK.model_of("Yealink SIP-T46S 66.86.0.15 00:15:65:aa:bb:cc") == (
        "T46S",
        "66.86.0.15",
    )
    assert SNOM.model_of("Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33)")[0] == "D785"
    assert GIGASET.model_of("Gigaset Maxwell-3/2.50")[0] == "MAXWELL3"
    assert re.fullmatch(r"[0-9a-f]{32}", "0" * 32)


def test_the_phone_page_shows_what_it_receives_with_secrets_hidden(
    customer, phone, portal_client, viewer
):
    path = files_base_url(customer=customer, base_url="http://testserver") + f"snom/{MAC}.xml"
    assert fetch(Client(), path, "snomD785-SIP 10").status_code == 200
    page = portal_client(viewer).get(f"/admin/system/devices/{phone.pk}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "What this phone receives" in text and f"snom/{MAC}.xml" in text
    assert "&lt;user_name idx=&quot;1&quot; perm=&quot;R&quot;&gt;201&lt;/user_name&gt;" in text
    assert "********" in text
    assert "203.0.113.0/24" in text  # bound to the network of its first fetch
    for secret in (file_secret(customer), HOSTILE_PASSWORD):
        assert secret not in text
        assert secret.replace("&", "&amp;") not in text


def test_an_admin_sets_a_line_and_releases_the_binding_from_the_phone_page(
    customer, phone, portal_client, admin, viewer
):
    path = files_base_url(customer=customer, base_url="http://testserver") + f"snom/{MAC}.xml"
    assert fetch(Client(), path, "snomD785-SIP 10").status_code == 200
    page = f"/admin/system/devices/{phone.pk}/"
    # A User sees the phone but not the buttons, and cannot post.
    assert "Set a line" not in portal_client(viewer).get(page).content.decode()
    assert portal_client(viewer).post(page + "lines", {"position": 2}).status_code == 403
    client = portal_client(admin)
    assert "Set a line" in client.get(page).content.decode()
    answer = client.post(
        page + "lines",
        {"position": 2, "extension": "202", "display_name": "Front desk", "password": "pw-202"},
        follow=True,
    )
    assert "Line 2 set to 202." in answer.content.decode()
    assert phone.lines.get(position=2).display_name == "Front desk"
    # Bad input names the field and changes nothing.
    refused = client.post(
        page + "lines", {"position": "9" * 5000, "extension": "2 2"}, follow=True
    ).content.decode()
    assert "Line not saved." in refused and "position" in refused
    assert phone.lines.count() == 2
    client.post(page + "binding/release")
    assert not PhoneBinding.objects.filter(device=phone).exists()
    moved = fetch(Client(), path, "snomD785-SIP 10", address="198.51.100.5")
    assert moved.status_code == 200


def test_a_fetch_costs_a_fixed_number_of_statements_however_many_lines_and_jobs(
    customer, admin, desk, phone, django_assert_num_queries
):
    path = files_base_url(customer=customer, base_url="http://testserver") + f"snom/{MAC}.xml"
    assert fetch(Client(), path, "snomD785-SIP 10").status_code == 200  # binds
    for n in range(2, 6):
        phone_line_set(device=phone, user=admin, position=n, extension=f"20{n}")
        config_job_create(
            customer=customer, user=admin, category=desk, config_type=f"t{n}", parameters={}
        )
    # One read (gateway.services.files.file_read) and the History row.
    with django_assert_num_queries(2):
        assert fetch(Client(), path, "snomD785-SIP 10").status_code == 200


def test_the_read_gives_the_latest_jobs_as_jobs_for_does(customer, admin, desk, phone):
    """The one statement of a fetch (SQL) and phones.services.jobs.jobs_for (ORM) pick the
    same latest software job and the same latest job of each config type, ties on the
    timestamp broken by id, oldest first."""
    from phones.models import ConfigJob, SoftwareJob
    from phones.services.jobs import jobs_for

    stamp = timezone.now() - timedelta(days=1)
    for n, (kind, offset) in enumerate(
        [("ntp", 0), ("ntp", 5), ("ntp", 5), ("lang", 9), ("lang", 2), ("tz", 1)]
    ):
        job = config_job_create(
            customer=customer,
            user=admin,
            category=desk,
            config_type=kind,
            parameters={"n": n, "nested": {"k": [1, "ü"]}},
        )
        ConfigJob.objects.filter(pk=job.pk).update(created=stamp + timedelta(seconds=offset))
    for n, offset in enumerate([3, 7, 7]):
        job = software_job_create(
            customer=customer, user=admin, category=desk, firmware={"url": f"https://f/{n}"}
        )
        SoftwareJob.objects.filter(pk=job.pk).update(created=stamp + timedelta(seconds=offset))
    software, latest = jobs_for(desk)
    read = file_read(
        lookup=secret_lookup(file_secret(customer)), vendor=SNOM, mac=MAC, now=timezone.now()
    )
    assert read.firmware == software.firmware == {"url": "https://f/2"}
    expected = tuple(j.parameters for j in sorted(latest, key=lambda j: (j.created, j.pk)))
    assert read.config_jobs == expected
    assert [job["n"] for job in read.config_jobs] == [5, 2, 3]
    assert read.settings["sipServer"] == "sip.acme.example"
    assert [line[:2] for line in read.lines] == [(1, "201")]


def test_the_read_refuses_a_retired_secret_and_an_inactive_customer(customer, admin, phone):
    old = file_secret(customer)
    file_secret_rotate(customer=customer, user=admin)
    now = timezone.now()
    assert file_read(lookup=secret_lookup(old), vendor=SNOM, mac=MAC, now=now) is not None
    later = now + timedelta(days=31)
    assert file_read(lookup=secret_lookup(old), vendor=SNOM, mac=MAC, now=later) is None
    customer.is_active = False
    customer.save()
    current = secret_lookup(file_secret(customer))
    assert file_read(lookup=current, vendor=SNOM, mac=MAC, now=now) is None


def test_a_customers_own_template_is_what_the_phone_and_the_page_get(
    customer, admin, phone, portal_client
):
    from phones.models import FileTemplate

    FileTemplate.objects.create(
        customer=customer,
        vendor="snom",
        kind="settings",
        body='<?xml version="1.0"?>\n<settings><phone-settings>'
        '<ntp_server perm="RW">own.{{ customer }}</ntp_server></phone-settings></settings>',
    )
    path = files_base_url(customer=customer, base_url="http://testserver") + f"snom/{MAC}.xml"
    answer = fetch(Client(), path, "snomD785-SIP 10")
    assert answer.status_code == 200
    assert ET.fromstring(answer.content).find("phone-settings/ntp_server").text == (
        f"own.{customer.name}"
    )
    page = portal_client(admin).get(f"/admin/system/devices/{phone.pk}/")
    assert f"own.{customer.name}" in page.content.decode()


def test_a_line_that_cannot_be_decrypted_is_a_503(customer, phone, settings):
    path = files_base_url(customer=customer, base_url="http://testserver") + f"snom/{MAC}.xml"
    settings.ZTP_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # not the one it used
    answer = fetch(Client(), path, "snomD785-SIP 10")
    assert answer.status_code == 503 and answer.json()["error"] == "unavailable"


def test_a_software_job_without_a_file_for_the_phone_gives_no_firmware_file(
    customer, admin, desk, phone
):
    software_job_create(customer=customer, user=admin, category=desk, firmware={"v": "10.1"})
    base = files_base_url(customer=customer, base_url="http://testserver") + "snom/"
    settings_file = fetch(Client(), f"{base}{MAC}.xml", "snomD785-SIP 10")
    assert "firmware_status" not in settings_file.content.decode()
    answer = fetch(Client(), f"{base}{MAC}-firmware.xml", "snomD785-SIP 10")
    assert answer.status_code == 404 and answer.json()["error"] == "no_software"
    assert History.objects.filter(result=HistoryResult.NO_SOFTWARE).count() == 1


@pytest.mark.parametrize("source", ["code", "rollout"])
def test_a_phone_redeems_a_code_then_fetches_its_files_from_the_device_url(
    live_server, customer, admin, viewer, desk, source
):
    """As a person would: the code's answer gives the phone file URL; set on a Yealink
    phone (its folder), the phone fetches and applies its files."""
    import httpx

    from phones.services.codes import provisioning_code_issue, rollout_create

    if source == "code":
        code = provisioning_code_issue(customer=customer, user=admin, category=desk)
    else:
        rollout = rollout_create(customer=customer, user=admin, category=desk, users=[viewer])
        code = rollout.codes.get()
    answer = httpx.post(
        f"{live_server.url}/device/api/v1/code",
        json={"code": code.code, "mac": "00:15:65:12:34:56", "model": "T46S"},
    )
    assert answer.status_code == 200, answer.text
    device_url = answer.json()["deviceUrl"]
    phone = Device.objects.get(device_id="001565123456")
    phone_line_set(device=phone, user=admin, position=1, extension="301", password="pw#1")
    applied = simulate(
        vendor="yealink", mac="00:15:65:12:34:56", url=device_url + "yealink/", model="T46S"
    ).settings
    assert applied["account.1.user_name"] == "301"
    assert applied["account.1.password"] == "pw#1"
    assert applied["account.1.sip_server.1.address"] == "sip.acme.example"
    assert applied["static.auto_provision.server.url"] == device_url + "yealink/"
    assert PhoneBinding.objects.get(device=phone).joined_by.startswith("code ")
