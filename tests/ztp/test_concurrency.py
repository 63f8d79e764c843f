"""Two actions at once on one customer and vendor: the lease lets one run and refuses the
other, with no database transaction or lock held while the vendor is called. These run on
committed data (transaction=True) with the first action in a thread of its own, against a
slow fake vendor."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from core import crypto
from tests.devices.test_locks import wait_for
from ztp.models import Status, Vendor, ZtpAccount
from ztp.services.card import ztp_disable, ztp_onboard, ztp_rotate
from ztp.services.common import ActionInProgress
from ztp.services.phones import ztp_phone_register
from ztp.vendor_http import VendorHttp

from .conftest import BASE_URL

SNOM = Vendor.SNOM.value


def in_thread(function, **kwargs):
    try:
        return function(**kwargs)
    finally:
        connections.close_all()  # this thread's connection


@pytest.mark.django_db(transaction=True)
def test_concurrent_double_action_one_runs_one_is_refused(ready, sraps):
    ztp_onboard(customer=ready, vendor=SNOM, user=None, base_url=BASE_URL)
    before = crypto.unseal(ZtpAccount.objects.get().secrets)["key_id"]
    sraps.requests.clear()
    sraps.delay = 0.4  # each answer: the rotation's four calls take over a second
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(in_thread, ztp_rotate, customer=ready, vendor=SNOM, user=None)
        wait_for(lambda: sraps.requests)  # the rotation is calling the vendor
        with pytest.raises(ActionInProgress, match="Rotate is already running"):
            ztp_rotate(customer=ready, vendor=SNOM, user=None)
        with pytest.raises(ActionInProgress):
            ztp_disable(customer=ready, vendor=SNOM, user=None)
        assert first.result(timeout=30).message.startswith("Snom (SRAPS): Credentials rotated")
    account = ZtpAccount.objects.get()
    after = crypto.unseal(account.secrets)["key_id"]
    assert after != before
    assert sraps.keys_of(account.company_id) == [after]  # one rotation happened, not two
    assert (account.status, account.lease) == (Status.CONFIGURED, "")


@pytest.mark.django_db(transaction=True)
def test_no_transaction_is_open_while_the_vendor_is_called(ready, sraps, monkeypatch):
    seen = []
    send = VendorHttp._once

    def once(client, method, url, body, ok):
        seen.append(connection.in_atomic_block)
        return send(client, method, url, body, ok)

    monkeypatch.setattr(VendorHttp, "_once", once)
    ztp_onboard(customer=ready, vendor=SNOM, user=None, base_url=BASE_URL)
    ztp_phone_register(customer=ready, vendor=SNOM, user=None, mac="0004132A3B4C")
    ztp_rotate(customer=ready, vendor=SNOM, user=None)
    ztp_disable(customer=ready, vendor=SNOM, user=None)

    assert len(seen) > 10
    assert not any(seen)
