"""Two actions at once on one customer and vendor: the lease lets one run and refuses the
other, with no database transaction or lock held while the vendor is called. These run on
committed data (transaction=True) with the first action in a thread of its own, against a
slow fake vendor."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from core import crypto
from phones.files.access import file_secret, vendor_url
from phones.files.vendors import VENDORS
from phones.models import FileSecret
from tests.devices.test_locks import wait_for
from ztp.models import Status, Vendor, ZtpAccount
from ztp.services.card import (
    ztp_check,
    ztp_disable,
    ztp_key_change,
    ztp_onboard,
    ztp_repair,
    ztp_rotate,
)
from ztp.services.common import ActionInProgress
from ztp.services.phones import ztp_phone_register
from ztp.vendor_http import VendorHttp

from .conftest import BASE_URL, key_of

SNOM = Vendor.SNOM.value
MACS = ("0004132A3B4C", "0004132A3B4D")


def onboard(customer, fake):
    ztp_onboard(customer=customer, vendor=SNOM, user=None, base_url=BASE_URL, **key_of(fake))


def in_thread(function, **kwargs):
    try:
        return function(**kwargs)
    finally:
        connections.close_all()  # this thread's connection


@pytest.mark.django_db(transaction=True)
def test_concurrent_double_action_one_runs_one_is_refused(ready, sraps):
    onboard(ready, sraps)
    for mac in MACS:
        ztp_phone_register(customer=ready, vendor=SNOM, user=None, mac=mac)
    before = file_secret(ready)
    sraps.requests.clear()
    sraps.calls.clear()
    sraps.delay = 0.4  # each answer: the rotation's list and two PUTs take over a second
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(in_thread, ztp_rotate, customer=ready, vendor=SNOM, user=None)
        wait_for(lambda: sraps.requests)  # the rotation is calling the vendor
        with pytest.raises(ActionInProgress, match="Rotate is already running"):
            ztp_rotate(customer=ready, vendor=SNOM, user=None)
        with pytest.raises(ActionInProgress):
            ztp_disable(customer=ready, vendor=SNOM, user=None)
        assert first.result(timeout=30).message.startswith(
            "Snom (SRAPS): a new phone file URL is registered"
        )
    account = ZtpAccount.objects.get()
    # One rotation happened, not two: one new secret, each phone given it once.
    assert file_secret(ready) != before
    assert FileSecret.objects.filter(customer=ready).count() == 2
    assert sorted(p for m, p, _b in sraps.calls if m == "PUT") == [
        f"/api/v1/companies/{sraps.company}/endpoints/{mac.lower()}" for mac in MACS
    ]
    url = vendor_url(VENDORS[SNOM], customer=ready, base_url=BASE_URL)
    assert crypto.unseal(account.secrets)["url"] == url
    assert {sraps.url_of(mac) for mac in MACS} == {url}
    assert (account.status, account.lease) == (Status.CONFIGURED, "")


@pytest.mark.django_db(transaction=True)
def test_no_transaction_is_open_while_the_vendor_is_called(ready, sraps, monkeypatch):
    seen = []
    send = VendorHttp._once

    def once(client, method, url, body, ok):
        seen.append(connection.in_atomic_block)
        return send(client, method, url, body, ok)

    monkeypatch.setattr(VendorHttp, "_once", once)
    onboard(ready, sraps)
    ztp_phone_register(customer=ready, vendor=SNOM, user=None, mac=MACS[0])
    key_id, secret = sraps.add_key(sraps.company)
    ztp_key_change(customer=ready, vendor=SNOM, user=None, key_id=key_id, secret=secret)
    ztp_rotate(customer=ready, vendor=SNOM, user=None)
    ztp_check(customer=ready, vendor=SNOM, user=None)
    ztp_repair(customer=ready, vendor=SNOM, user=None)
    ztp_disable(customer=ready, vendor=SNOM, user=None)

    assert len(seen) > 10
    assert not any(seen)
