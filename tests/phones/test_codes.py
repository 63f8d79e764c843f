"""Provisioning codes, update jobs and automatic provisioning, from the services and the
device endpoints (`/device/api/v1/code`, `/device/api/v1/auto`)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from io import StringIO
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient

from accounts.models import Role, User
from accounts.services import customer_create
from devices.models import Device, DeviceKind
from phones.files.access import file_secret, files_base_url
from phones.models import Category, JobDelivery, ProvisioningCode
from phones.services.auto import (
    auto_provisioning_disable,
    auto_provisioning_enable,
    auto_provisioning_line,
)
from phones.services.categories import category_save, default_provisioning_category
from phones.services.codes import (
    code_generate,
    expired_codes_delete,
    provisioning_code_issue,
    rollout_create,
)
from phones.services.jobs import config_job_create, software_job_create
from provisioning.services.bootstraps import bootstrap_save
from reports.models import AppId, Event, History, HistoryAction, HistoryResult
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CODE_URL = "/device/api/v1/code"
AUTO_URL = "/device/api/v1/auto"
MAC = "00:90:33:1A:2B:3C"


@pytest.fixture
def globex_phones(other_customer):
    return Category.objects.create(customer=other_customer, name="Phones")


@pytest.fixture
def phones(customer, admin):
    """The customer's phone category with a bootstrap, and a second one."""
    bootstrap, _ = bootstrap_save(
        customer=customer, user=admin, name="Phone-Config", parameters={"pbx": "pbx.acme"}
    )
    category, _ = category_save(
        customer=customer, user=admin, name="acme IP Phone", bootstrap=bootstrap
    )
    return category


def redeem(code, mac=MAC, **fields):
    body = {"code": code, "mac": mac, "model": "IP112", "firmware": "13r1", **fields}
    return APIClient().post(CODE_URL, body, format="json")


# --- Codes ------------------------------------------------------------------------------


def test_codes_are_12_digits_uniform_and_without_structure():
    """100,000 codes: every position uses the ten digits evenly (chi-square, 9 degrees of
    freedom, a false alarm once in a million per position)."""
    codes = [code_generate() for _ in range(100_000)]
    assert all(len(code) == 12 and code.isdigit() for code in codes)
    critical = 46.0  # chi-square(9) at p = 1e-6
    for position in range(12):
        counts = Counter(code[position] for code in codes)
        expected = len(codes) / 10
        chi2 = sum((counts[str(d)] - expected) ** 2 / expected for d in range(10))
        assert chi2 < critical, (position, chi2)
    # No structure between neighbours either: pairs of adjacent digits are uniform too.
    pairs = Counter(code[i : i + 2] for code in codes for i in range(0, 12, 2))
    expected = sum(pairs.values()) / 100
    chi2 = sum((pairs[f"{n:02}"] - expected) ** 2 / expected for n in range(100))
    assert chi2 < 190.0, chi2  # chi-square(99) at p = 1e-6


def test_pending_codes_are_unique_and_a_clash_is_drawn_again(customer, admin, phones, monkeypatch):
    first = provisioning_code_issue(customer=customer, user=admin, category=phones)
    drawn = iter([first.code, "123456789012"])
    monkeypatch.setattr("phones.services.codes.code_generate", lambda: next(drawn))
    second = provisioning_code_issue(customer=customer, user=admin, category=phones)
    assert second.code == "123456789012"
    # A used code's digits may be drawn again: only pending codes are redeemable.
    first.used_at = timezone.now()
    first.save()
    monkeypatch.setattr("phones.services.codes.code_generate", lambda: first.code)
    assert (
        provisioning_code_issue(customer=customer, user=admin, category=phones).code == first.code
    )


def test_a_rollout_gives_every_user_a_distinct_7_day_code(customer, admin, phones):
    members = User.objects.bulk_create(
        User(customer=customer, role=Role.USER, username=f"u{n:05}", email=f"u{n}@acme.example")
        for n in range(3000)
    )
    rollout = rollout_create(
        customer=customer, user=admin, category=phones, users=members, app_id=AppId.VOICE
    )
    codes = list(rollout.codes.values_list("code", "user_id", "expires_at"))
    assert len({code for code, _, _ in codes}) == 3000
    assert {user for _, user, _ in codes} == {u.pk for u in members}
    lifetimes = {expires - rollout.created for _, _, expires in codes}
    assert len(lifetimes) == 1
    assert timedelta(days=7) - lifetimes.pop() < timedelta(seconds=5)
    assert Event.objects.get(type="ROLLOUT_CREATED").data["codes"] == 3000


@pytest.mark.parametrize(
    ("minutes", "rollout", "status"),
    [
        (9.9, False, 200),
        (10.1, False, 410),
        (7 * 24 * 60 - 1, True, 200),
        (7 * 24 * 60 + 1, True, 410),
    ],
)
def test_codes_expire_after_10_minutes_or_7_days(customer, admin, phones, minutes, rollout, status):
    start = timezone.now()
    with freeze_time(start):
        code = provisioning_code_issue(
            customer=customer, user=admin, category=phones, rollout=rollout
        )
    with freeze_time(start + timedelta(minutes=minutes)):
        response = redeem(code.code)
    assert response.status_code == status, response.json()
    if status == 410:
        assert response.json()["error"] == "expired"
        assert not Device.objects.exists()


def test_a_code_works_once_and_the_phone_joins_its_customer_and_category(customer, admin, phones):
    software_job_create(
        customer=customer, user=admin, category=phones, firmware={"version": "13r1 sr4"}
    )
    code = provisioning_code_issue(customer=customer, user=admin, category=phones)
    response = redeem(code.code, localIp="192.168.1.20", bootcode="13r1 boot")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["customer"] == "acme"
    assert body["category"] == "acme IP Phone"
    assert body["config"] == {"pbx": "pbx.acme"}
    assert body["software"] == {"version": "13r1 sr4"}
    assert body["deviceUrl"] == files_base_url(customer=customer, base_url="http://testserver")
    device = Device.objects.get(customer=customer)
    assert (device.device_id, device.kind, device.mac) == (
        "0090331A2B3C",
        DeviceKind.DESK_PHONE,
        MAC,
    )
    assert (device.model, device.firmware, device.bootcode) == ("IP112", "13r1", "13r1 boot")
    assert (device.local_ip, device.entered_code, device.category) == (
        "192.168.1.20",
        code.code,
        "acme IP Phone",
    )
    assert device.first_connect is not None
    code.refresh_from_db()
    assert (code.state, code.device) == ("registered", device)

    again = redeem(code.code, mac="00:90:33:00:00:01")
    assert again.status_code == 410
    assert again.json()["error"] == "used"
    results = list(
        History.objects.filter(action=HistoryAction.CODE)
        .order_by("pk")
        .values_list("result", flat=True)
    )
    assert results == [HistoryResult.OK, HistoryResult.CODE_USED]


def test_unknown_codes_and_bad_input(customer, phones):
    assert redeem("000000000000").status_code == 404
    assert History.objects.get().result == HistoryResult.UNKNOWN_CODE
    for body, field in [
        ({"code": "12345"}, "code"),
        ({"code": "12345678901a"}, "code"),
        ({"code": "\uff11" * 12}, "code"),  # full-width digits are not digits here
        ({"mac": "not-a-mac"}, "mac"),
        ({"localIp": "999.1.1.1"}, "localIp"),
        ({"code": 123456789012}, "code"),
    ]:
        response = APIClient().post(
            CODE_URL, {"code": "000000000000", "mac": MAC, **body}, format="json"
        )
        assert response.status_code == 400, body
        assert response.json()["detail"].startswith(f"{field}:"), body


def test_wrong_customer_or_category_cannot_get_a_code(
    customer, other_customer, admin, phones, globex_phones
):
    theirs = globex_phones
    with pytest.raises(ValidationError, match="your categories"):
        provisioning_code_issue(customer=customer, user=admin, category=theirs)
    plain, _ = category_save(customer=customer, user=admin, name="Spare", is_provisioning=False)
    with pytest.raises(ValidationError, match="not a provisioning category"):
        provisioning_code_issue(customer=customer, user=admin, category=plain)
    with pytest.raises(ValidationError, match="your portal users"):
        provisioning_code_issue(
            customer=customer,
            user=admin,
            category=phones,
            for_user=UserFactory(customer=other_customer),
        )


def test_wrong_codes_from_unknown_networks_share_one_budget(settings, customer, admin, phones):
    settings.CODE_FAILURES_MAX = "3/hour"  # 72 a day, an hour's worth (3) at once
    code = provisioning_code_issue(customer=customer, user=admin, category=phones)
    for n in range(3):
        client = APIClient(REMOTE_ADDR=f"10.0.0.{n}")  # a different address each time
        client.post(CODE_URL, {"code": f"00000000000{n}", "mac": MAC}, format="json")
    response = APIClient(REMOTE_ADDR="10.9.9.9").post(
        CODE_URL, {"code": code.code, "mac": MAC}, format="json"
    )
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    code.refresh_from_db()
    assert code.used_at is None  # refused before it was looked at


def test_one_customers_burst_waits_and_the_code_stays_usable(settings, customer, admin, phones):
    settings.CODE_REDEMPTIONS_PER_CUSTOMER = "1/min"
    first = provisioning_code_issue(customer=customer, user=admin, category=phones)
    second = provisioning_code_issue(customer=customer, user=admin, category=phones)
    assert redeem(first.code).status_code == 200
    response = redeem(second.code, mac="00:90:33:00:00:02")
    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    second.refresh_from_db()
    assert second.used_at is None
    # History is read by every role: a code that still works is not written there.
    (row,) = History.objects.filter(result=HistoryResult.RATE_LIMITED)
    assert second.code not in row.token
    assert not History.objects.filter(token__contains=second.code).exists()


def test_the_expiry_job_deletes_only_expired_unused_codes(customer, admin, phones):
    start = timezone.now()
    with freeze_time(start):
        stale = provisioning_code_issue(customer=customer, user=admin, category=phones)
        used = provisioning_code_issue(customer=customer, user=admin, category=phones)
        assert redeem(used.code).status_code == 200
    with freeze_time(start + timedelta(minutes=5)):
        fresh = provisioning_code_issue(customer=customer, user=admin, category=phones)
    with freeze_time(start + timedelta(minutes=11)):
        assert expired_codes_delete() == 1
        assert expired_codes_delete() == 0
    assert set(ProvisioningCode.objects.values_list("pk", flat=True)) == {used.pk, fresh.pk}
    assert not ProvisioningCode.objects.filter(pk=stale.pk).exists()


# --- Update jobs -------------------------------------------------------------------------


def test_a_phone_gets_the_latest_software_job_and_the_latest_job_of_each_config_type(
    customer, admin, phones
):
    other, _ = category_save(customer=customer, user=admin, name="Lobby")
    start = timezone.now()
    for minutes, firmware in [(0, "13r1 sr1"), (2, "13r1 sr3"), (1, "13r1 sr2")]:
        with freeze_time(start + timedelta(minutes=minutes)):
            software_job_create(
                customer=customer, user=admin, category=phones, firmware={"version": firmware}
            )
    software_job_create(customer=customer, user=admin, category=other, firmware={"version": "x"})
    for minutes, kind, value in [
        (0, "ntp", "a"),
        (3, "ntp", "b"),
        (1, "language", "de"),
        (2, "ntp", "c"),
    ]:
        with freeze_time(start + timedelta(minutes=minutes)):
            config_job_create(
                customer=customer,
                user=admin,
                category=phones,
                config_type=kind,
                parameters={"value": value},
            )
    config_job_create(
        customer=customer, user=admin, category=other, config_type="ntp", parameters={"value": "z"}
    )
    code = provisioning_code_issue(customer=customer, user=admin, category=phones)
    body = redeem(code.code).json()
    assert body["software"] == {"version": "13r1 sr3"}
    assert sorted((j["type"], j["parameters"]["value"]) for j in body["configJobs"]) == [
        ("language", "de"),
        ("ntp", "b"),
    ]
    delivered = JobDelivery.objects.filter(device__device_id="0090331A2B3C")
    assert delivered.count() == 3


def test_jobs_refuse_bad_json_and_foreign_categories(customer, admin, phones, globex_phones):
    with pytest.raises(ValidationError) as error:
        software_job_create(customer=customer, user=admin, category=phones, firmware=["x"])
    assert "firmware" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        config_job_create(
            customer=customer,
            user=admin,
            category=globex_phones,
            config_type="ntp",
            parameters={},
        )
    assert "category" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        config_job_create(
            customer=customer, user=admin, category=phones, config_type="", parameters={"a": 1}
        )
    assert "configType" in error.value.message_dict


# --- Automatic provisioning ---------------------------------------------------------------


# A token people might choose that is strong enough: 26 characters, mixed, '#' and '&'
# included (percent-encoded in the query).
STRONG = "Acme#Phones&Auto-2026-kX9q"


def auto(**params):
    query = {"domain": "acme", "category": "acme IP Phone", "mac": MAC, **params}
    return APIClient().get(AUTO_URL, {k: v for k, v in query.items() if v is not None})


def test_automatic_provisioning_registers_phones_with_the_token(customer, admin, phones):
    token = auto_provisioning_enable(customer=customer, user=admin, token=STRONG)
    assert token == STRONG
    response = auto(token=token)
    assert response.status_code == 200, response.json()
    assert response.json()["category"] == "acme IP Phone"
    device = Device.objects.get(customer=customer)
    assert (device.kind, device.category) == (DeviceKind.DESK_PHONE, "acme IP Phone")
    assert History.objects.get(action=HistoryAction.AUTO).result == HistoryResult.OK
    # Only a keyed hash is kept.
    assert STRONG not in str(list(customer.autoprovisioning_set.values()))


@pytest.mark.parametrize(
    ("params", "status", "error"),
    [
        ({"token": "wrong-token"}, 404, "not_found"),
        ({"domain": "globex"}, 404, "not_found"),
        ({"category": "Lobby"}, 404, "unknown_category"),
        ({"category": "Nowhere"}, 404, "unknown_category"),
        ({"mac": None}, 400, "bad_request"),
        ({"category": None}, 400, "bad_request"),
        ({"mac": "xyz"}, 400, "bad_request"),
    ],
)
def test_automatic_provisioning_refusals(
    customer, other_customer, admin, phones, params, status, error
):
    category_save(customer=customer, user=admin, name="Lobby", is_provisioning=False)
    auto_provisioning_enable(customer=customer, user=admin, token=STRONG)
    auto_provisioning_enable(customer=other_customer, user=admin, token=STRONG + "-globex")
    response = auto(**{"token": STRONG, **params})
    assert response.status_code == status, response.json()
    assert response.json()["error"] == error
    assert not Device.objects.exists()


@pytest.mark.parametrize(
    "weak",
    [
        "abcdef#XYZ",  # too short
        "a" * 40,  # one character
        "password-password-1",  # 19 characters, 9 different
        "abcdefghijklmnopqrst",  # lower case only: about 94 bits
    ],
)
def test_a_weak_automatic_provisioning_token_is_refused(customer, admin, weak):
    with pytest.raises(ValidationError) as refused:
        auto_provisioning_enable(customer=customer, user=admin, token=weak)
    assert set(refused.value.message_dict) == {"token"}
    assert not customer.autoprovisioning_set.exists()


def test_wrong_tokens_for_a_domain_are_limited_whoever_sends_them(
    customer, other_customer, admin, phones, globex_phones, settings
):
    """Domains are public: guessing a domain's token from many addresses meets the
    domain's own limit. Counted and checked in one step; a phone that gets in gives its
    count back, so a fleet registering is never counted."""
    settings.AUTO_FAILURES_PER_DOMAIN = "5/hour"
    auto_provisioning_enable(customer=customer, user=admin, token=STRONG)
    auto_provisioning_enable(customer=other_customer, user=admin, token=STRONG + "-globex")

    def from_address(n, **params):
        query = {"domain": "acme", "category": "acme IP Phone", "mac": MAC, **params}
        return APIClient(REMOTE_ADDR=f"10.1.{n // 250}.{n % 250}").get(AUTO_URL, query)

    for n in range(10):
        assert from_address(n, token=STRONG).status_code == 200
    for n in range(10, 15):
        assert from_address(n, token=f"guess-{n}").status_code == 404
    refused = from_address(20, token=STRONG)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    other = from_address(21, domain="globex", category="Phones", token=STRONG + "-globex")
    assert other.status_code == 200, other.json()


def test_the_automatic_provisioning_token_meets_the_per_token_limit(
    customer, admin, phones, settings
):
    settings.DEVICE_RATE_PER_TOKEN = "3/min"
    auto_provisioning_enable(customer=customer, user=admin, token=STRONG)
    answers = [
        APIClient(REMOTE_ADDR=f"10.2.0.{n}")
        .get(AUTO_URL, {"domain": "acme", "category": "acme IP Phone", "mac": MAC, "token": STRONG})
        .status_code
        for n in range(4)
    ]
    assert answers == [200, 200, 200, 429]


def test_a_rotated_or_disabled_token_stops_working(customer, admin, phones):
    old = auto_provisioning_enable(customer=customer, user=admin)
    new = auto_provisioning_enable(customer=customer, user=admin)
    assert old != new and len(new) >= 24
    assert auto(token=old).status_code == 404
    assert auto(token=new).status_code == 200
    auto_provisioning_disable(customer=customer, user=admin)
    assert auto(token=new).status_code == 404


def test_the_configuration_line_is_encoded_twice_and_round_trips():
    url, line = auto_provisioning_line(
        url="https://pm.example.com/device/api/v1/auto?domain=acme",
        token="abcdef#XYZ",
        category="acme IP Phone",
    )
    assert url == (
        "https://pm.example.com/device/api/v1/auto?domain=acme"
        "&token=abcdef%23XYZ&category=acme%20IP%20Phone"
    )
    prefix = "config change SYSCLIENT /sysadmin "
    assert line.startswith(prefix)
    encoded = line.removeprefix(prefix)
    assert " " not in encoded and "#" not in encoded and "%2523" in encoded
    assert unquote(encoded) == url
    query = parse_qs(urlsplit(unquote(encoded)).query)
    assert query == {"domain": ["acme"], "token": ["abcdef#XYZ"], "category": ["acme IP Phone"]}


# --- Defaults and the command ------------------------------------------------------------


def test_every_new_customer_gets_a_provisioning_category():
    customer = customer_create(name="Initech")
    category = default_provisioning_category(customer)
    assert (category.name, category.is_provisioning) == ("Phones", True)


def test_createprovisioningcode_prints_the_code_alone_on_its_last_line(customer, viewer, phones):
    out = StringIO()
    call_command(
        "createprovisioningcode", "--customer", "acme", "--user", viewer.username, stdout=out
    )
    code = out.getvalue().strip().splitlines()[-1]
    issued = ProvisioningCode.objects.get(code=code)
    assert (issued.category, issued.user) == (default_provisioning_category(customer), viewer)
    assert issued.expires_at - issued.created < timedelta(minutes=11)
    call_command("createprovisioningcode", "--customer", "acme", "--rollout", stdout=out)
    rollout = ProvisioningCode.objects.get(code=out.getvalue().strip().splitlines()[-1])
    assert rollout.expires_at - rollout.created > timedelta(days=6)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--customer", "nobody"], "--customer"),
        (["--customer", "acme", "--category", "Nowhere"], "--category"),
        (["--customer", "acme", "--user", "nobody"], "--user"),
        (["--customer", "globex", "--user", "vic"], "--user"),
    ],
)
def test_createprovisioningcode_errors_name_the_option(
    customer, other_customer, viewer, args, message
):
    with pytest.raises(CommandError, match=message):
        call_command("createprovisioningcode", *args, stdout=StringIO())
    assert not ProvisioningCode.objects.exists()


@pytest.mark.django_db
def test_a_code_redemption_costs_the_same_statements_however_many_jobs_apply(
    customer, admin, phones
):
    def statements(config_types: int, mac: str) -> list[str]:
        for n in range(config_types):
            config_job_create(
                customer=customer,
                user=admin,
                category=phones,
                config_type=f"type-{config_types}-{n}",
                parameters={"value": n},
            )
        # Issued from the phones' network, as a person on site does.
        code = provisioning_code_issue(
            customer=customer, user=admin, category=phones, ip_address="127.0.0.1"
        )
        cache.clear()  # pending codes are counted afresh, as after a code is issued
        with CaptureQueriesContext(connection) as captured:
            response = redeem(code.code, mac=mac)
        assert response.status_code == 200
        assert len(response.json()["configJobs"]) >= config_types
        return [
            q["sql"].split()[0]
            for q in captured.captured_queries
            if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT"))
        ]

    software_job_create(customer=customer, user=admin, category=phones, firmware={"version": "1"})
    file_secret(customer)  # made once, when the customer's phone file URL is first given
    few = statements(1, "009033000001")
    many = statements(8, "009033000002")
    # The customers that know the network, their pending codes (counted once a minute),
    # whether the code is theirs, the code, the device (looked up, then written), the
    # latest software job, the latest job of each config type (one query), the deliveries
    # (one insert), the phone file URL's secret, the file binding released, the code used,
    # the network seen, the History row: never a query per job.
    assert (
        few
        == many
        == [
            "SELECT",
            "SELECT",
            "SELECT",
            "SELECT",
            "SELECT",
            "INSERT",
            "SELECT",
            "SELECT",
            "INSERT",
            "SELECT",
            "DELETE",
            "UPDATE",
            "INSERT",
            "INSERT",
        ]
    )


@pytest.mark.django_db
def test_an_automatic_registration_costs_the_same_statements_however_many_jobs_apply(
    customer, admin, phones
):
    token = auto_provisioning_enable(customer=customer, user=admin, token=STRONG)

    def statements(config_types: int, mac: str) -> list[str]:
        for n in range(config_types):
            config_job_create(
                customer=customer,
                user=admin,
                category=phones,
                config_type=f"auto-{config_types}-{n}",
                parameters={"value": n},
            )
        with CaptureQueriesContext(connection) as captured:
            response = auto(token=token, mac=mac)
        assert response.status_code == 200, response.json()
        assert len(response.json()["configJobs"]) >= config_types
        return [
            q["sql"].split()[0]
            for q in captured.captured_queries
            if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT"))
        ]

    software_job_create(customer=customer, user=admin, category=phones, firmware={"version": "1"})
    file_secret(customer)
    few = statements(1, "009033000011")
    many = statements(8, "009033000012")
    # The domain's setup with its token, the category, the device (looked up, then
    # written), the latest software job, the latest job of each config type (one query),
    # the deliveries (one insert), the phone file URL's secret, the network seen, the
    # History row: never one per job.
    assert (
        few
        == many
        == [
            "SELECT",
            "SELECT",
            "SELECT",
            "INSERT",
            "SELECT",
            "SELECT",
            "INSERT",
            "SELECT",
            "INSERT",
            "INSERT",
        ]
    )
