"""Credentials stay out of logs, Events and stored error texts: the customer's API key at
the vendor (its secret; its ID is shown on the card), the phone file URL's secret, the
HTTP client's own request lines, vendor error bodies that echo what we sent."""

from __future__ import annotations

import base64
import json
import logging

import httpx
import pytest

from core.http import error_text
from phones.files.access import file_secret
from reports.models import Event
from tests.ztp import conftest as ztp_fixtures
from tests.ztp.conftest import BASE_URL, key_of
from ztp.models import ZtpAccount
from ztp.services.card import (
    ztp_check,
    ztp_disable,
    ztp_key_change,
    ztp_onboard,
    ztp_repair,
    ztp_rotate,
)
from ztp.services.common import KeyRefused, VendorFailed
from ztp.services.phones import ztp_phone_lookup, ztp_phone_register, ztp_phone_unregister

URL = "https://pm.example.com/device/api/v1/auto?domain=acme&token=T0k&category=Phones&mac={mac}"
MACS = {"snom": "0004132A3B4C", "gigaset": "7C2F80123456", "yealink": "001565AABBCC"}
WRONG_SECRET = "Wr0ng-Secret-typed-by-hand"

# The ZTP tests' fixtures, as this module is outside tests/ztp (pytest finds fixtures among
# a module's attributes): the fakes wired into the settings, a customer ready to onboard,
# and the autouse ones (no proxy; no vendor answers unless a fake is started).
_no_proxy, _ztp_settings = ztp_fixtures._no_proxy, ztp_fixtures._ztp_settings
ready, sraps, grape, ymcs = (
    ztp_fixtures.ready,
    ztp_fixtures.sraps,
    ztp_fixtures.grape,
    ztp_fixtures.ymcs,
)


def logged(caplog) -> str:
    """Every record as it would be written: message, arguments and traceback."""
    return "\n".join(
        f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records
    )


def stored_texts() -> str:
    """What Events and the accounts' error fields keep, as text."""
    events = [f"{e.info} {json.dumps(e.data)}" for e in Event.objects.all()]
    accounts = [f"{a.last_error} {a.drift}" for a in ZtpAccount.objects.all()]
    return "\n".join(events + accounts)


@pytest.mark.parametrize(
    ("vendor", "fixture"),
    [("snom", "sraps"), ("gigaset", "grape"), ("yealink", "ymcs")],
    ids=["snom", "gigaset", "yealink"],
)
def test_the_api_key_secret_is_never_logged(ready, request, caplog, vendor, fixture):
    fake = request.getfixturevalue(fixture)
    caplog.set_level(logging.DEBUG)
    key = key_of(fake)
    mac = MACS[vendor]
    common = {"customer": ready, "vendor": vendor, "user": None}

    # A mistyped secret first: refused, and not echoed either.
    with pytest.raises(KeyRefused):
        ztp_onboard(**common, base_url=BASE_URL, key_id=key["key_id"], secret=WRONG_SECRET)
    ztp_onboard(**common, base_url=BASE_URL, **key)
    ztp_phone_register(**common, mac=mac)
    ztp_phone_lookup(**common, mac=mac)
    retired = file_secret(ready)
    ztp_rotate(**common)
    ztp_check(**common)
    ztp_repair(**common)
    secrets = [key["secret"], WRONG_SECRET, retired, file_secret(ready)]
    if vendor == "yealink":
        fake.down = True  # a failure's texts too
        with pytest.raises(VendorFailed):
            ztp_check(**common)
        fake.down = False
    else:
        new_id, new_secret = fake.add_key(fake.company)
        ztp_key_change(**common, key_id=new_id, secret=new_secret)
        secrets.append(new_secret)
        fake.delete_key(new_id)  # the stored key stops working: an error to explain
        with pytest.raises(VendorFailed):
            ztp_check(**common)
        fake.add_key(fake.company, key_id=new_id, secret=new_secret)
    ztp_phone_unregister(**common, mac=mac)
    ztp_disable(**common)
    # What a log reader could decode: the HTTP Basic value YMCS's token call sends.
    secrets.append(base64.b64encode(f"{key['key_id']}:{key['secret']}".encode()).decode())

    assert caplog.records, "nothing was logged at all: is the capture working?"
    text, kept = logged(caplog), stored_texts()
    assert [s for s in secrets if s in text] == []
    assert [s for s in secrets if s in kept] == []


def test_the_http_clients_request_lines_are_not_logged(ready, sraps, caplog):
    """httpx logs every request's URL at INFO; vendor URLs carry the API key's ID (SRAPS's
    tokens/{id}). Our client logs what matters itself, at DEBUG."""
    caplog.set_level(logging.INFO)  # LOG_LEVEL in production
    ztp_onboard(customer=ready, vendor="snom", user=None, base_url=BASE_URL, **key_of(sraps))
    ztp_phone_register(customer=ready, vendor="snom", user=None, mac=MACS["snom"])
    ztp_rotate(customer=ready, vendor="snom", user=None)

    assert sraps.calls
    assert [r for r in caplog.records if r.name.startswith(("httpx", "httpcore"))] == []
    leaked = [r.getMessage() for r in caplog.records if sraps.key_id in r.getMessage()]
    assert not leaked, leaked


@pytest.mark.parametrize(
    "body",
    [
        {"error": f"setting_server {URL} is not reachable"},
        {"message": "bad url https://pm.example.com/auto?Token=S3cr3t-value&x=1"},
        f"<html>cannot fetch {URL.replace('&', '%26').replace('=', '%3D')}</html>",
    ],
    ids=["json", "capitalised", "percent-encoded"],
)
def test_a_vendor_error_echoing_our_url_keeps_no_token(body):
    request = httpx.Request("PUT", "https://vendor.example/api")
    kwargs = {"json": body} if isinstance(body, dict) else {"text": body}
    text = error_text(httpx.Response(400, request=request, **kwargs))
    assert "T0k" not in text and "S3cr3t" not in text, text
    assert "token=…" in text.lower() or "token%3d…" in text.lower(), text


def test_a_vendor_error_echoing_our_phone_file_url_keeps_no_secret(ready, sraps, monkeypatch):
    ztp_onboard(customer=ready, vendor="snom", user=None, base_url=BASE_URL, **key_of(sraps))
    answer = sraps.answer

    def echoing(method, raw_path, body, headers):
        # As a vendor may refuse a setting: quoting the URL it was given.
        if method == "PUT":
            url = json.loads(body)["settings_manager"].popitem()[1]["value"]
            return 400, {"detail": f"setting_server {url} is not reachable"}
        return answer(method, raw_path, body, headers)

    monkeypatch.setattr(sraps, "answer", echoing)
    secret = file_secret(ready)

    with pytest.raises(VendorFailed) as caught:
        ztp_phone_register(customer=ready, vendor="snom", user=None, mac=MACS["snom"])

    assert "is not reachable" in caught.value.detail
    assert secret not in caught.value.detail
    assert secret not in stored_texts()
