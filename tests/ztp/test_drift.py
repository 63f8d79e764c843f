"""The vendor check: the stored API key still accepted for the same company, our current
phone file URL still what the vendor was given (or holds, for YMCS) and our phones still
listed there; anything else is a drift on the card, with Repair. The daily check runs
every onboarded customer and vendor, on a real Celery worker too."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from config import celery_app
from phones.files.access import file_secret, file_secret_rotate, vendor_url
from phones.files.vendors import VENDORS
from reports.models import Event
from ztp import tasks
from ztp.models import Status, Vendor, ZtpAccount
from ztp.services.card import ztp_check, ztp_check_all, ztp_onboard, ztp_repair
from ztp.services.common import NotOnboarded
from ztp.services.phones import ztp_phone_register
from ztp.views import card_context

from .conftest import BASE_URL, key_of

SNOM, YEALINK, GIGASET = Vendor.SNOM.value, Vendor.YEALINK.value, Vendor.GIGASET.value
MAC, OTHER_MAC = "0004132A3B4C", "0004132A3B4D"


def onboard(customer, fake, vendor=SNOM):
    ztp_onboard(customer=customer, vendor=vendor, user=None, base_url=BASE_URL, **key_of(fake))
    return ZtpAccount.objects.get(customer=customer, vendor=vendor)


def register(customer, *macs, vendor=SNOM):
    for mac in macs:
        ztp_phone_register(customer=customer, vendor=vendor, user=None, mac=mac)


def ours(customer, vendor):
    """The customer's current phone file URL in the vendor's terms."""
    return vendor_url(VENDORS[vendor], customer=customer, base_url=BASE_URL)


@pytest.mark.django_db
def test_a_clean_check_says_so(ready, sraps, super_admin):
    onboard(ready, sraps)
    register(ready, MAC)

    outcome = ztp_check(customer=ready, vendor=SNOM, user=super_admin)

    assert outcome.message == (
        "Snom (SRAPS): the stored API key works and the provisioning URL is ours."
    )
    account = ZtpAccount.objects.get(pk=outcome.account.pk)
    assert (account.status, account.drift, account.last_error) == (Status.CONFIGURED, "", "")
    assert Event.objects.filter(type="ZTP_CHECK", data__outcome="ok").count() == 1


@pytest.mark.django_db
def test_check_before_onboarding_is_refused(ready, sraps):
    with pytest.raises(NotOnboarded, match="Onboard it before you check it"):
        ztp_check(customer=ready, vendor=SNOM, user=None)
    assert sraps.requests == []


@pytest.mark.django_db
def test_a_phone_removed_at_the_vendor_is_a_drift_that_repair_undoes(ready, sraps, super_admin):
    onboard(ready, sraps)
    register(ready, MAC, OTHER_MAC)
    sraps.remove_endpoint(OTHER_MAC)  # in SRAPS's front end

    outcome = ztp_check(customer=ready, vendor=SNOM, user=super_admin)

    account = ZtpAccount.objects.get(pk=outcome.account.pk)
    assert account.status == Status.ERROR
    assert account.drift == (
        "1 phone(s) registered here are gone at Snom SRAPS: 00:04:13:2A:3B:4D."
    )
    assert outcome.message == f"Snom (SRAPS): {account.drift} Repair registers it again."
    row = next(r for r in card_context(ready)["ztp_rows"] if r["row"].vendor == SNOM)
    assert row["actions"][0]["name"] == "repair"
    assert Event.objects.filter(type="ZTP_CHECK", data__outcome="drift").count() == 1

    ztp_repair(customer=ready, vendor=SNOM, user=super_admin)

    assert sraps.url_of(OTHER_MAC) == ours(ready, SNOM)  # back at the vendor
    assert sraps.url_of(MAC) == ours(ready, SNOM)
    account.refresh_from_db()
    assert (account.status, account.drift) == (Status.CONFIGURED, "")
    assert Event.objects.filter(type="ZTP_REPAIR").count() == 1
    assert ztp_check(customer=ready, vendor=SNOM, user=None).account.drift == ""


@pytest.mark.django_db
def test_a_new_phone_file_url_is_a_drift_until_repaired(ready, sraps, super_admin):
    onboard(ready, sraps)
    register(ready, MAC)
    old, old_secret = sraps.url_of(MAC), file_secret(ready)

    file_secret_rotate(customer=ready, user=super_admin)  # not through the card's Rotate
    outcome = ztp_check(customer=ready, vendor=SNOM, user=None)

    drift = outcome.account.drift
    assert drift == (
        "Snom SRAPS was given http://testserver/phones/…/snom/{mac}.xml, not the current "
        "phone file URL."
    )
    assert old_secret not in drift  # masked
    assert outcome.account.status == Status.ERROR

    ztp_repair(customer=ready, vendor=SNOM, user=super_admin)

    assert sraps.url_of(MAC) == ours(ready, SNOM) != old
    assert ztp_check(customer=ready, vendor=SNOM, user=None).account.drift == ""


@pytest.mark.django_db
def test_repair_mends_a_removed_phone_and_a_new_url_at_once(ready, grape):
    onboard(ready, grape, GIGASET)
    register(ready, MAC, OTHER_MAC, vendor=GIGASET)
    grape.remove_endpoint(MAC)
    file_secret_rotate(customer=ready, user=None)

    drift = ztp_check(customer=ready, vendor=GIGASET, user=None).account.drift
    assert "was given" in drift and "1 phone(s) registered here are gone" in drift

    ztp_repair(customer=ready, vendor=GIGASET, user=None)

    # Both phones hold the new URL: the removed one registered again, the other updated.
    assert {grape.url_of(MAC), grape.url_of(OTHER_MAC)} == {ours(ready, GIGASET)}
    assert ztp_check(customer=ready, vendor=GIGASET, user=None).account.drift == ""


@pytest.mark.django_db
def test_a_url_gone_at_the_vendor_is_a_drift(ready, ymcs, super_admin):
    onboard(ready, ymcs, YEALINK)
    with ymcs._lock:  # as deleted in the YMCS portal
        ymcs._servers.clear()
    outcome = ztp_check(customer=ready, vendor=YEALINK, user=None)
    assert "no longer holds" in outcome.account.drift
    ztp_repair(customer=ready, vendor=YEALINK, user=super_admin)
    assert ztp_check(customer=ready, vendor=YEALINK, user=None).account.drift == ""
    (server,) = ymcs.servers.values()
    assert server["url"] == ours(ready, YEALINK)


@pytest.mark.django_db
def test_a_url_changed_at_the_vendor_is_a_drift_that_repair_undoes(ready, ymcs, super_admin):
    onboard(ready, ymcs, YEALINK)
    with ymcs._lock:  # as changed in the YMCS portal
        (server,) = ymcs._servers.values()
        server["url"] = "https://evil.example/x"

    outcome = ztp_check(customer=ready, vendor=YEALINK, user=super_admin)

    account = ZtpAccount.objects.get(pk=outcome.account.pk)
    assert account.status == Status.ERROR
    assert account.drift == (
        "Yealink YMCS sends this customer's phones to https://evil.example/x, not the current "
        "phone file URL."
    )
    assert "Repair" in outcome.message
    ztp_repair(customer=ready, vendor=YEALINK, user=super_admin)
    assert [s["url"] for s in ymcs.servers.values()] == [ours(ready, YEALINK)]
    account.refresh_from_db()
    assert (account.status, account.drift) == (Status.CONFIGURED, "")


@pytest.mark.django_db
def test_check_all_checks_every_onboarded_vendor(ready, sraps, grape):
    onboard(ready, sraps, SNOM)
    onboard(ready, grape, GIGASET)
    register(ready, MAC, vendor=GIGASET)
    grape.remove_endpoint(MAC)

    assert ztp_check_all() == {"checked": 2, "drift": 1, "failed": 0}
    assert ZtpAccount.objects.get(vendor=GIGASET).drift
    assert not ZtpAccount.objects.get(vendor=SNOM).drift
    # A vendor never onboarded is not checked.
    assert not ZtpAccount.objects.filter(vendor=YEALINK).exists()


@pytest.mark.django_db(transaction=True)
def test_the_beat_job_checks_every_onboarded_vendor_on_a_worker(worker, ready, sraps, ymcs):
    assert "ztp-check-vendors" in celery_app.conf.beat_schedule
    onboard(ready, sraps, SNOM)
    onboard(ready, ymcs, YEALINK)
    with ymcs._lock:
        ymcs._servers.clear()
    counts = tasks.check_vendors.delay().get(timeout=60)
    assert counts == {"checked": 2, "drift": 1, "failed": 0}
    assert ZtpAccount.objects.get(vendor=YEALINK).drift
    assert not ZtpAccount.objects.get(vendor=SNOM).drift


@pytest.mark.django_db
def test_one_vendor_failing_does_not_stop_the_others(ready, sraps, ymcs):
    onboard(ready, sraps, SNOM)
    onboard(ready, ymcs, YEALINK)
    sraps.down = True
    assert tasks.check_vendors() == {"checked": 1, "drift": 0, "failed": 1}
    failed = ZtpAccount.objects.get(vendor=SNOM)
    assert failed.status == Status.ERROR and "Try again later" in failed.last_error
    assert ZtpAccount.objects.get(vendor=YEALINK).status == Status.CONFIGURED


@pytest.mark.django_db
def test_the_command_checks_all_and_repairs(ready, sraps):
    onboard(ready, sraps)
    register(ready, MAC)
    file_secret_rotate(customer=ready, user=None)
    out = StringIO()
    call_command("ztp", "check-all", stdout=out)
    assert out.getvalue().startswith("1 checked, 1 with drift, 0 failed")
    call_command("ztp", "repair", "--customer", ready.slug, "--vendor", SNOM, stdout=out)
    assert "registered again" in out.getvalue()
    assert sraps.url_of(MAC) == ours(ready, SNOM)
