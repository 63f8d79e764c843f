"""The daily vendor check: our provisioning URL still registered at the vendor (else a
drift on the card, with Repair), the credentials still accepted; run by the beat job on a
real Celery worker."""

from __future__ import annotations

import pytest

from config import celery_app
from phones.files.access import file_secret_rotate, vendor_url
from phones.files.vendors import VENDORS
from reports.models import Event
from ztp import tasks
from ztp.models import Status, Vendor, ZtpAccount
from ztp.services.card import ztp_check, ztp_onboard, ztp_repair
from ztp.views import card_context

from .conftest import BASE_URL

SNOM, YEALINK = Vendor.SNOM.value, Vendor.YEALINK.value


def onboard(customer, vendor):
    ztp_onboard(customer=customer, vendor=vendor, user=None, base_url=BASE_URL)
    return ZtpAccount.objects.get(customer=customer, vendor=vendor)


def ours(customer, vendor):
    return vendor_url(VENDORS[vendor], customer=customer, base_url=BASE_URL)


def srap_value(sraps):
    (profile,) = sraps.profiles.values()
    return profile["settings_manager"][sraps.setting_uuid("setting_server")]["value"]


@pytest.mark.django_db
def test_a_url_changed_at_the_vendor_is_a_drift_that_repair_undoes(ready, sraps, super_admin):
    onboard(ready, SNOM)
    outcome = ztp_check(customer=ready, vendor=SNOM, user=super_admin)
    assert "is ours" in outcome.message and not outcome.account.drift
    with sraps._lock:
        (profile,) = sraps._profiles.values()
        profile["settings_manager"][sraps.setting_uuid()]["value"] = "https://evil.example/x"
    outcome = ztp_check(customer=ready, vendor=SNOM, user=super_admin)
    account = ZtpAccount.objects.get(pk=outcome.account.pk)
    assert account.status == Status.ERROR
    assert "https://evil.example/x" in account.drift and "Repair" in outcome.message
    row = next(r for r in card_context(ready)["ztp_rows"] if r["row"].vendor == SNOM)
    assert row["actions"][0]["name"] == "repair"
    assert Event.objects.filter(type="ZTP_CHECK", data__outcome="drift").count() == 1
    ztp_repair(customer=ready, vendor=SNOM, user=super_admin)
    assert srap_value(sraps) == ours(ready, SNOM)
    account.refresh_from_db()
    assert (account.status, account.drift) == (Status.CONFIGURED, "")
    assert Event.objects.filter(type="ZTP_REPAIR").count() == 1


@pytest.mark.django_db
def test_a_new_phone_file_url_is_a_drift_until_repaired(ready, sraps, super_admin):
    onboard(ready, SNOM)
    old = srap_value(sraps)
    file_secret_rotate(customer=ready, user=super_admin)
    outcome = ztp_check(customer=ready, vendor=SNOM, user=None)
    assert outcome.account.drift and "/phones/…/" in outcome.account.drift
    assert old.split("/phones/")[1].split("/")[0] not in outcome.account.drift  # masked
    ztp_repair(customer=ready, vendor=SNOM, user=super_admin)
    assert srap_value(sraps) == ours(ready, SNOM) != old


@pytest.mark.django_db
def test_a_url_gone_at_the_vendor_is_a_drift(ready, ymcs, super_admin):
    onboard(ready, YEALINK)
    with ymcs._lock:
        ymcs._servers.clear()
    outcome = ztp_check(customer=ready, vendor=YEALINK, user=None)
    assert "no longer holds" in outcome.account.drift
    ztp_repair(customer=ready, vendor=YEALINK, user=super_admin)
    assert ztp_check(customer=ready, vendor=YEALINK, user=None).account.drift == ""
    (server,) = ymcs._servers.values()
    assert server["url"] == ours(ready, YEALINK)


@pytest.mark.django_db(transaction=True)
def test_the_beat_job_checks_every_onboarded_vendor_on_a_worker(worker, ready, sraps, ymcs):
    assert "ztp-check-vendors" in celery_app.conf.beat_schedule
    onboard(ready, SNOM)
    onboard(ready, YEALINK)
    with ymcs._lock:
        ymcs._servers.clear()
    counts = tasks.check_vendors.delay().get(timeout=60)
    assert counts == {"checked": 2, "drift": 1, "failed": 0}
    assert ZtpAccount.objects.get(vendor=YEALINK).drift
    assert not ZtpAccount.objects.get(vendor=SNOM).drift


@pytest.mark.django_db
def test_one_vendor_failing_does_not_stop_the_others(ready, sraps, ymcs):
    onboard(ready, SNOM)
    onboard(ready, YEALINK)
    sraps.down = True
    assert tasks.check_vendors() == {"checked": 1, "drift": 0, "failed": 1}
    failed = ZtpAccount.objects.get(vendor=SNOM)
    assert failed.status == Status.ERROR and "Try again later" in failed.last_error


@pytest.mark.django_db
def test_the_command_checks_all_and_repairs(ready, sraps):
    from io import StringIO

    from django.core.management import call_command

    onboard(ready, SNOM)
    file_secret_rotate(customer=ready, user=None)
    out = StringIO()
    call_command("ztp", "check-all", stdout=out)
    assert out.getvalue().startswith("1 checked, 1 with drift, 0 failed")
    call_command("ztp", "repair", "--customer", ready.slug, "--vendor", SNOM, stdout=out)
    assert "registered again" in out.getvalue()
    assert srap_value(sraps) == ours(ready, SNOM)
