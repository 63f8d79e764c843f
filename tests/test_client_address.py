"""One client address everywhere (core.client): the rate limits, History and the login
lock-out all read it the same way, and X-Forwarded-For counts only behind the trusted
proxies NUM_PROXIES names. Guessing tokens is cut short per address, and new token
values are long enough not to be guessed."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient

from core.client import client_ip
from provisioning.models import Bootstrap, Token
from provisioning.services.tokens import new_token_value, token_save
from reports.models import AppId, History, HistoryResult
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

URL = "/device/api/v1/bootstrap"


@pytest.fixture
def token(customer):
    bootstrap = Bootstrap.objects.create(customer=customer, name="B", parameters={})
    return Token.objects.create(
        customer=customer, value="acme-token", app_id=AppId.VOICE, bootstrap=bootstrap
    )


def redeem(token="acme-token", device="TC52_1", **headers):
    return APIClient().post(
        URL, {"token": token, "deviceId": device, "appId": AppId.VOICE}, format="json", **headers
    )


@pytest.mark.parametrize(
    ("proxies", "forwarded", "remote", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.1", "10.0.0.1"),  # no proxy: the header is the client's
        (1, "203.0.113.9", "10.0.0.1", "203.0.113.9"),
        (1, "1.1.1.1, 203.0.113.9", "10.0.0.1", "203.0.113.9"),  # spoofed entry ignored
        (2, "1.1.1.1, 203.0.113.9, 10.0.0.2", "10.0.0.1", "203.0.113.9"),
        (2, "203.0.113.9", "10.0.0.1", "10.0.0.1"),  # fewer entries than proxies
        (1, "not-an-address", "10.0.0.1", "10.0.0.1"),
        (1, "", "10.0.0.1", "10.0.0.1"),
    ],
)
def test_client_ip(settings, proxies, forwarded, remote, expected):
    settings.NUM_PROXIES = proxies
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR=remote)
    assert client_ip(request) == expected


def test_a_forged_header_does_not_escape_the_per_address_limit(settings, token):
    settings.DEVICE_RATE_PER_IP = "3/min"
    answers = [
        redeem(device=f"TC52_{n}", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
        for n in range(5)
    ]
    assert answers == [200, 200, 200, 429, 429]
    # History records the connection's address, not the forged one.
    assert set(History.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}


def test_behind_a_proxy_each_client_has_its_own_limit(settings, token):
    settings.NUM_PROXIES = 1
    settings.DEVICE_RATE_PER_IP = "1/min"
    first = redeem(HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.1")
    second = redeem(device="TC52_2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.2")
    again = redeem(device="TC52_3", HTTP_X_FORWARDED_FOR="7.7.7.7, 203.0.113.1")
    assert [first.status_code, second.status_code, again.status_code] == [200, 200, 429]
    assert (
        History.objects.filter(result=HistoryResult.OK)
        .order_by("pk")
        .values_list("ip_address", flat=True)[0]
        == "203.0.113.1"
    )


def test_the_login_lock_out_uses_the_same_address(settings, admin):
    """Behind a proxy, five bad passwords from one client lock that client out, not
    everyone behind the proxy."""
    settings.NUM_PROXIES = 1

    def login(password, ip):
        return APIClient().post(
            "/admin/api/v1/auth/admin",
            {"username": admin.username, "password": password},
            format="json",
            HTTP_X_FORWARDED_FOR=ip,
        )

    for _ in range(settings.AXES_FAILURE_LIMIT):
        login("wrong", "203.0.113.66")
    assert login(PASSWORD, "203.0.113.66").status_code == 429
    assert login(PASSWORD, "203.0.113.77").status_code == 200


def test_refused_tokens_are_limited_per_address(settings, token):
    settings.DEVICE_FAILURES_PER_IP = "5/hour"
    for n in range(5):
        assert redeem(token=f"guess-{n:04}").status_code == 404
    # The guesser is stopped, even with the right token now ...
    response = redeem()
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    # ... while another address (another device of the fleet) is not.
    assert redeem(REMOTE_ADDR="10.1.2.3").status_code == 200


def test_a_fleets_good_redemptions_do_not_count_as_failures(settings, token):
    settings.DEVICE_FAILURES_PER_IP = "2/hour"
    assert all(redeem(device=f"TC52_{n}").status_code == 200 for n in range(10))


def test_new_token_values_need_six_characters_old_ones_keep_working(customer, admin, token):
    with pytest.raises(Exception, match="at least 6 characters"):
        token_save(customer=customer, user=admin, value="abc12", app_id=AppId.VOICE, bootstrap="B")
    old = Token.objects.create(
        customer=customer, value="ab1", app_id=AppId.VOICE, bootstrap=token.bootstrap
    )
    assert redeem(token="ab1").status_code == 200
    # Editing the old token without changing its value is allowed.
    token_save(
        customer=customer,
        user=admin,
        value="AB1",
        app_id=AppId.VOICE,
        bootstrap="B",
        description="kept",
        instance=old,
    )
    old.refresh_from_db()
    assert old.description == "kept"


def test_generated_values_are_long_and_random():
    values = {new_token_value("acme") for _ in range(100)}
    assert len(values) == 100
    assert all(v.startswith("acme-") and len(v) == len("acme-") + 24 for v in values)
    assert len(new_token_value("x" * 100)) <= 64
