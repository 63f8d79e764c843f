"""No database lock or transaction is held while PTT Pro is called
(devices.sites.device_site_provision), and runs that overlap still agree with the server.

The first test runs everywhere. The others need PostgreSQL's row locks: they run the
provisioning in a thread with its own connection, on committed data (transaction=True),
against a slow fake server, and are skipped on SQLite (see tests/licensing/test_concurrency.py).
"""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from devices.models import Device, SiteStatus
from devices.ptt import PttClient
from devices.sites import device_site_provision, device_site_request, sites_sync
from tests.devices.factories import DeviceFactory

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row-lock races need PostgreSQL"
)

DEVICE = "TC52_18304522512397"


@pytest.fixture
def pending_device(ptt, customer):
    """A device a redemption asked to put into site North; its task has not run yet."""
    sites_sync(customer=customer)
    device = DeviceFactory(customer=customer, device_id=DEVICE)
    assert device_site_request(customer_id=customer.pk, device_pk=device.pk, site_name="North")
    ptt.requests.clear()
    return device


def provision_in_thread(device_pk: int) -> str:
    try:
        return device_site_provision(device_pk=device_pk)
    finally:
        connections.close_all()  # this thread's connection


def wait_for(condition: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.django_db(transaction=True)
def test_no_transaction_is_open_while_ptt_pro_is_called(ptt, pending_device, monkeypatch):
    seen = []
    send = PttClient._request

    def request(client, method, path, **kwargs):
        seen.append((method, connection.in_atomic_block))
        return send(client, method, path, **kwargs)

    monkeypatch.setattr(PttClient, "_request", request)
    assert device_site_provision(device_pk=pending_device.pk) == "provisioned"
    assert seen == [("GET", False), ("PUT", False)]
    assert ptt.rows == {DEVICE: ("North", "provisioning")}


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_slow_ptt_server_never_holds_up_the_device_row(ptt, pending_device):
    ptt.delay = 1.0  # each answer; the GET and the PUT take two seconds in all
    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(provision_in_thread, pending_device.pk)
        wait_for(lambda: ptt.requests)  # the GET is in flight
        # What a check-in or a redemption does to the row meanwhile. A lock held by the
        # provisioning would make it wait; lock_timeout turns that wait into an error.
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '200ms'")
            updated = Device.objects.filter(
                pk=pending_device.pk, site_status=SiteStatus.PENDING
            ).update(last_checkin=timezone.now())
        assert updated == 1
        assert not running.done()  # the provisioning is still calling the server
        assert running.result(timeout=10) == "provisioned"
    assert Device.objects.get().site_status == SiteStatus.PROVISIONED


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_end_on_the_last_requested_site(ptt, pending_device, customer):
    ptt.delay = 0.3
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(provision_in_thread, pending_device.pk)  # for North
        wait_for(lambda: ptt.requests)
        # The device redeems a South token while North's run calls the server.
        assert device_site_request(
            customer_id=customer.pk, device_pk=pending_device.pk, site_name="South"
        )
        second = pool.submit(provision_in_thread, pending_device.pk)
        answers = [first.result(timeout=30), second.result(timeout=30)]
    assert "provisioned" in answers
    device = Device.objects.select_related("site", "provisioned_site").get()
    assert ptt.rows == {DEVICE: ("South", "provisioning")}
    assert (device.site.name, device.site_status, device.provisioned_site.name) == (
        "South",
        SiteStatus.PROVISIONED,
        "South",
    )
    assert device.site_retry_at is None
