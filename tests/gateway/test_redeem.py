"""POST /device/api/v1/bootstrap: a device redeems a token."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from devices.models import Device, Site
from provisioning.models import Token
from provisioning.services.bootstraps import bootstrap_save
from provisioning.services.tokens import token_save
from reports.models import AppId, History, HistoryResult

URL = "/device/api/v1/bootstrap"


@pytest.fixture
def token(customer, admin):
    bootstrap, _ = bootstrap_save(
        customer=customer, user=admin, name="Site 1094", parameters={"site": "site-1094"}
    )
    token, _ = token_save(
        customer=customer, user=admin, value="Acme-PTT", app_id=AppId.PTT_PRO, bootstrap=bootstrap
    )
    return token


def redeem(**overrides):
    body = {
        "token": "Acme-PTT",
        "deviceId": "TC52_18304522512397",
        "appId": AppId.PTT_PRO,
        "model": "TC52",
        "os": "Android 11",
        "appVersion": "3.3.10200",
    }
    body.update(overrides)
    body = {k: v for k, v in body.items() if v is not None}
    return APIClient().post(URL, body, format="json")


@pytest.mark.django_db
def test_valid_token_returns_bootstrap_creates_device_and_history(token, customer):
    response = redeem()
    assert response.status_code == 200
    assert response.json() == {"bootstrap": {"site": "site-1094"}}

    device = Device.objects.get()
    assert (device.customer, device.device_id, device.model) == (
        customer,
        "TC52_18304522512397",
        "TC52",
    )
    assert device.last_checkin is not None
    row = History.objects.get()
    assert (row.customer, row.action, row.result, row.token, row.app_id, row.device_id) == (
        customer,
        "TOKEN",
        "OK",
        "Acme-PTT",
        AppId.PTT_PRO,
        "TC52_18304522512397",
    )
    token.refresh_from_db()
    assert token.redemption_count == 1
    assert token.last_redeemed is not None


@pytest.mark.django_db
def test_token_matches_case_insensitively_and_device_is_refreshed(token):
    redeem()
    response = redeem(token="acme-ptt", os="Android 13", appVersion="3.3.10300")
    assert response.status_code == 200
    device = Device.objects.get()
    assert (device.os, device.app_version) == ("Android 13", "3.3.10300")
    assert History.objects.filter(result=HistoryResult.OK).count() == 2


@pytest.mark.django_db(transaction=True)
def test_success_takes_one_statement_on_postgresql(customer, admin, django_assert_num_queries):
    bootstrap_save(customer=customer, user=admin, name="Voice", parameters={"var_x": "1"})
    token_save(customer=customer, user=admin, value="Acme-V", app_id=AppId.VOICE, bootstrap="Voice")
    if connection.vendor == "postgresql":
        # UPDATE token … RETURNING bootstrap, the device upsert and the History insert in
        # one data-modifying WITH, committed on its own (no BEGIN/COMMIT round trips).
        expected, shape = 1, ["WITH"]
    else:
        # BEGIN; UPDATE token … RETURNING bootstrap; device upsert; History insert; COMMIT.
        # SQLite begins IMMEDIATE (config.settings: writers queue instead of failing).
        expected, shape = 5, ["BEGIN", "UPDATE", "INSERT", "INSERT", "COMMIT"]
    with django_assert_num_queries(expected) as captured:
        response = redeem(token="Acme-V", appId=AppId.VOICE)
    assert response.status_code == 200
    assert response.json() == {"bootstrap": {"var_x": "1"}}
    assert [q["sql"].split()[0] for q in captured.captured_queries] == shape
    device = Device.objects.get()
    assert (device.customer, device.device_id, device.state, device.model) == (
        customer,
        "TC52_18304522512397",
        "active",
        "TC52",
    )
    row = History.objects.get()
    assert (row.customer, row.result, row.token, row.device_id) == (
        customer,
        HistoryResult.OK,
        "Acme-V",
        "TC52_18304522512397",
    )
    assert Token.objects.get(value="Acme-V").redemption_count == 1


@pytest.mark.django_db(transaction=True)
def test_site_redemption_adds_two_queries(token, customer, django_assert_num_queries):
    Site.objects.create(customer=customer, name="site-1094", server_name="ptt1")
    # The redemption, plus the site lookup and one conditional device UPDATE.
    if connection.vendor == "postgresql":
        expected, shape = 3, ["WITH", "SELECT", "UPDATE"]
    else:
        expected, shape = 7, ["BEGIN", "UPDATE", "INSERT", "INSERT", "SELECT", "UPDATE", "COMMIT"]
    with django_assert_num_queries(expected) as captured:
        assert redeem().status_code == 200
    assert [q["sql"].split()[0] for q in captured.captured_queries] == shape
    assert Device.objects.get().site.name == "site-1094"
    # Redeeming the same site again changes nothing and schedules nothing.
    with django_assert_num_queries(expected):
        assert redeem().status_code == 200


@pytest.mark.django_db
def test_unknown_token_is_404_and_recorded_without_customer(token):
    response = redeem(token="nope")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert "token" in response.json()["detail"]
    row = History.objects.get()
    assert (row.customer, row.result) == (None, HistoryResult.UNKNOWN_TOKEN)
    assert not Device.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "result"),
    [
        ({"revoked": True}, HistoryResult.REVOKED),
        ({"expires_at": timezone.now() - timedelta(seconds=1)}, HistoryResult.EXPIRED),
    ],
)
def test_revoked_or_expired_token_is_410(token, customer, change, result):
    Token.objects.filter(pk=token.pk).update(**change)
    response = redeem()
    assert response.status_code == 410
    assert response.json()["error"] == result.lower()
    row = History.objects.get()
    assert (row.customer, row.result) == (customer, result)
    assert not Device.objects.exists()
    token.refresh_from_db()
    assert token.redemption_count == 0


@pytest.mark.django_db
def test_used_up_token_is_410(token):
    Token.objects.filter(pk=token.pk).update(max_redemptions=1)
    assert redeem().status_code == 200
    response = redeem(deviceId="TC52_OTHER")
    assert response.status_code == 410
    assert response.json()["error"] == "used_up"
    assert Device.objects.count() == 1


@pytest.mark.django_db
def test_token_of_an_inactive_customer_is_410(token, customer):
    customer.is_active = False
    customer.save()
    assert redeem().status_code == 410


@pytest.mark.django_db
def test_wrong_app_is_400_naming_app_id(token):
    response = redeem(appId=AppId.VOICE)
    assert response.status_code == 400
    assert response.json()["error"] == "app_mismatch"
    assert response.json()["detail"].startswith("appId:")
    assert History.objects.get().result == HistoryResult.APP_MISMATCH


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"deviceId": None}, "deviceId"),
        ({"deviceId": ""}, "deviceId"),
        ({"deviceId": "x" * 129}, "deviceId"),
        ({"token": None}, "token"),
        ({"token": "has space"}, "token"),
        ({"token": "hash#"}, "token"),
        ({"token": "x" * 65}, "token"),
        ({"appId": "WFC_UNKNOWN"}, "appId"),
        ({"appId": None}, "appId"),
        ({"model": ["not", "text"]}, "model"),
    ],
)
def test_bad_input_is_400_naming_the_field(token, overrides, field):
    response = redeem(**overrides)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "bad_request"
    assert body["detail"].startswith(f"{field}:"), body
    assert History.objects.get().result == HistoryResult.BAD_REQUEST
    assert not Device.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"', ""])
def test_malformed_body_is_400_not_500(token, raw):
    response = APIClient().post(URL, raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert History.objects.get().result == HistoryResult.BAD_REQUEST


@pytest.mark.django_db
def test_form_data_is_refused_with_415(token):
    response = APIClient().post(URL, {"token": "Acme-PTT"})
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"


@pytest.mark.django_db
def test_get_is_405(token):
    response = APIClient().get(URL)
    assert response.status_code == 405
    assert not History.objects.exists()


@pytest.mark.django_db
def test_per_token_rate_limit_answers_429_with_retry_after(token, settings):
    settings.DEVICE_RATE_PER_TOKEN = "2/min"
    assert redeem().status_code == 200
    assert redeem(token="ACME-ptt", deviceId="B").status_code == 200
    response = redeem(deviceId="C")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"] == "rate_limited"
    assert History.objects.filter(result=HistoryResult.RATE_LIMITED).count() == 1
    # Another token is not affected.
    assert redeem(token="other").status_code == 404


@pytest.mark.django_db
def test_per_ip_rate_limit(token, settings):
    settings.DEVICE_RATE_PER_IP = "1/min"
    assert redeem().status_code == 200
    assert redeem(token="other").status_code == 429
