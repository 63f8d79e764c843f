"""The ZTP card's rules (ztp.services) against the fake vendors: onboarding once, atomic
rotation, disabling one vendor, the prerequisites in plain words, the lease, the Events."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from core import crypto
from core.errors import Missing, Unavailable
from devices.models import Device
from phones.files.access import vendor_url
from phones.files.simulator import parse_snom
from phones.files.vendors import SNOM as SNOM_FILES
from phones.models import AutoProvisioningKey
from reports.models import Event, Severity
from ztp.models import Action, Status, Vendor, ZtpAccount, ZtpPhone
from ztp.services.card import ztp_card, ztp_check, ztp_disable, ztp_onboard, ztp_rotate
from ztp.services.common import (
    IMPORT_MAX,
    LEASE,
    ActionInProgress,
    MacRegisteredElsewhere,
    NotOnboarded,
    VendorFailed,
    ztp_account,
)
from ztp.services.phones import (
    ztp_phone_import,
    ztp_phone_lookup,
    ztp_phone_register,
    ztp_phone_unregister,
)

from .conftest import BASE_URL

SNOM, YEALINK = Vendor.SNOM.value, Vendor.YEALINK.value
MAC = "0004132A3B4C"


def onboard(customer, vendor=SNOM, user=None):
    return ztp_onboard(customer=customer, vendor=vendor, user=user, base_url=BASE_URL)


def account_of(customer, vendor=SNOM) -> ZtpAccount:
    return ZtpAccount.objects.get(customer=customer, vendor=vendor)


def events(customer, type_: str) -> list[Event]:
    return list(Event.objects.for_customer(customer).filter(type=type_).order_by("pk"))


# --- Onboard ------------------------------------------------------------------------------


def test_onboard_configures_the_vendor_and_stores_the_credentials_encrypted(
    ready, sraps, super_admin
):
    outcome = onboard(ready, user=super_admin)

    account = account_of(ready)
    (company,) = sraps.companies
    assert outcome.message == f"Snom (SRAPS): Onboarded (company {company})."
    assert (account.status, account.company_id) == (Status.CONFIGURED, company)
    assert account.credentials_set_at is not None and account.checked_at is not None
    stored = crypto.unseal(account.secrets)
    assert sraps.keys_of(company) == [stored["key_id"]]
    # The customer's phone file URL, as Snom's setting_server: the phone fills in {mac}.
    assert stored["url"] == vendor_url(SNOM_FILES, customer=ready, base_url=BASE_URL)
    assert stored["url"].endswith("/snom/{mac}.xml")
    # The provisioning URL is registered in the company's profile at the vendor.
    (profile,) = sraps.profiles.values()
    assert next(iter(profile["settings_manager"].values()))["value"] == stored["url"]
    (event,) = events(ready, "ZTP_ONBOARD")
    assert (event.severity, event.user, event.data["outcome"]) == (Severity.INFO, super_admin, "ok")


def test_the_registered_url_provisions_a_phone(ready, sraps, client):
    onboard(ready)
    url = crypto.unseal(account_of(ready).secrets)["url"].replace("{mac}", MAC)

    # The phone's first fetch, as a Snom D785 sends it: it joins the first category.
    answer = client.get(
        urlsplit(url).path, HTTP_USER_AGENT="Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33)"
    )

    assert answer.status_code == 200, answer.content
    assert (
        parse_snom(answer.content.decode())["setting_server"]
        == crypto.unseal(account_of(ready).secrets)["url"]
    )
    assert Device.objects.get(customer=ready, device_id=MAC).category == "Phones"


def test_onboard_twice_says_already_onboarded_and_makes_nothing(ready, sraps):
    onboard(ready)
    requests_before = len(sraps.requests)

    outcome = onboard(ready)

    assert outcome.changed is False
    assert outcome.message.startswith("Snom (SRAPS): Already onboarded (company ")
    assert len(sraps.companies) == 1
    assert len(sraps.requests) == requests_before  # not even a vendor call
    assert [e.data["outcome"] for e in events(ready, "ZTP_ONBOARD")] == ["ok", "already"]


def test_onboard_after_disable_reuses_the_vendor_company(ready, sraps):
    first = onboard(ready).account.company_id
    ztp_disable(customer=ready, vendor=SNOM, user=None)

    second = onboard(ready).account.company_id

    assert first == second
    assert len(sraps.companies) == 1


def test_missing_reseller_credentials_are_an_error_on_the_card(ready, super_admin):
    with pytest.raises(Unavailable) as caught:
        onboard(ready, user=super_admin)

    assert caught.value.detail.startswith(
        "Reseller credentials not configured in this environment: Snom SRAPS needs "
        "ZTP_SNOM_RESELLER_KEY_ID and ZTP_SNOM_RESELLER_SECRET"
    )
    assert "Seed them, restart, and try again." in caught.value.detail
    account = account_of(ready)
    assert (account.status, account.last_error) == (Status.ERROR, caught.value.detail)
    assert account.secrets == ""
    # Nothing was issued for a vendor that was never called.
    assert not AutoProvisioningKey.objects.filter(customer=ready).exists()
    (event,) = events(ready, "ZTP_ONBOARD")
    assert (event.severity, event.data["outcome"]) == (Severity.ERROR, "failed")


def test_no_provisioning_token_is_a_prerequisite_named_on_the_card(customer, sraps):
    from phones.services.categories import customer_phone_defaults_create

    customer_phone_defaults_create(customer=customer)  # automatic provisioning off

    with pytest.raises(Missing) as caught:
        onboard(customer)

    assert caught.value.detail == (
        "Customer has no provisioning token: enable automatic provisioning for Acme Logistics "
        "under Phones > Automatic provisioning, then try again."
    )
    assert account_of(customer).last_error == caught.value.detail
    assert sraps.requests == []
    assert sraps.companies == {}


def test_no_provisioning_category_is_named(customer, sraps):
    with pytest.raises(Missing, match="Customer has no provisioning category"):
        onboard(customer)


def test_a_vendor_outage_during_onboarding_leaves_nothing_behind(ready, sraps):
    sraps.fail("POST", "/provisioning-profiles/", 503)

    with pytest.raises(VendorFailed, match=r"answered 503 .*Try again later\.$"):
        onboard(ready)

    account = account_of(ready)
    assert (account.status, account.secrets) == (Status.ERROR, "")
    (company,) = sraps.companies
    assert sraps.keys_of(company) == []  # the half-made key was revoked again
    assert not AutoProvisioningKey.objects.filter(customer=ready).exists()
    # The next attempt completes, with the same company.
    onboard(ready)
    assert account_of(ready).status == Status.CONFIGURED
    assert list(sraps.companies) == [company]


def test_missing_encryption_keys_refuse_before_the_vendor_is_called(ready, sraps, settings):
    settings.ZTP_ENCRYPTION_KEYS = []

    with pytest.raises(Unavailable, match="Encryption keys not configured in this environment"):
        onboard(ready)
    assert sraps.companies == {}


# --- Rotate -------------------------------------------------------------------------------


def test_rotate_replaces_the_credentials_and_registrations_keep_working(ready, sraps):
    onboard(ready)
    ztp_phone_register(customer=ready, vendor=SNOM, user=None, mac=MAC)
    before = account_of(ready)
    old = crypto.unseal(before.secrets)

    outcome = ztp_rotate(customer=ready, vendor=SNOM, user=None)

    after = account_of(ready)
    new = crypto.unseal(after.secrets)
    assert outcome.message.startswith("Snom (SRAPS): Credentials rotated")
    assert new["key_id"] != old["key_id"]
    assert (new["token"], new["url"], new["extra"]) == (old["token"], old["url"], old["extra"])
    assert after.credentials_set_at > before.credentials_set_at
    assert sraps.keys_of(after.company_id) == [new["key_id"]]
    # The phone registered before is still sent to the same URL, and looked up with the new key.
    assert MAC.lower() in sraps.endpoints
    found = ztp_phone_lookup(customer=ready, vendor=SNOM, user=None, mac=MAC)
    assert "is sent to this customer's provisioning URL" in found.message


@pytest.mark.parametrize(
    ("method", "fragment", "times"),
    [("POST", "/access-keys/", 1), ("GET", "/tokens/", 2), ("DELETE", "/access-keys/", 1)],
    ids=["making-new-key", "checking-new-key", "revoking-old-key"],
)
def test_rotate_with_a_vendor_failure_midway_keeps_the_old_credentials(
    ready, sraps, method, fragment, times
):
    onboard(ready)
    before = account_of(ready)
    old = crypto.unseal(before.secrets)
    for _ in range(times):
        sraps.fail(method, fragment, 503)

    with pytest.raises(VendorFailed) as caught:
        ztp_rotate(customer=ready, vendor=SNOM, user=None)

    assert caught.value.detail.endswith("The previous credentials are still in place.")
    after = account_of(ready)
    assert after.secrets == before.secrets  # not a byte changed
    assert after.credentials_set_at == before.credentials_set_at
    assert (after.status, after.last_error) == (Status.ERROR, caught.value.detail)
    # Intact and still valid at the vendor; the half-made new key is gone again.
    assert sraps.keys_of(before.company_id) == [old["key_id"]]
    assert "still stored" not in after.last_error
    ztp_check(customer=ready, vendor=SNOM, user=None)
    assert account_of(ready).status == Status.CONFIGURED


def test_rotate_before_onboarding_is_refused(ready, sraps):
    with pytest.raises(NotOnboarded, match="Onboard it before you rotate its credentials"):
        ztp_rotate(customer=ready, vendor=SNOM, user=None)
    (event,) = events(ready, "ZTP_ROTATE")
    assert event.data["outcome"] == "refused"


# --- Disable ------------------------------------------------------------------------------


def test_disable_one_vendor_leaves_the_other(ready, sraps, ymcs):
    onboard(ready, SNOM)
    onboard(ready, YEALINK)
    ztp_phone_register(customer=ready, vendor=SNOM, user=None, mac=MAC)
    ztp_phone_register(customer=ready, vendor=YEALINK, user=None, mac="001565AABBCC")
    snom_before, yealink_before = account_of(ready, SNOM), account_of(ready, YEALINK)
    snom_key = crypto.unseal(snom_before.secrets)["key_id"]

    outcome = ztp_disable(customer=ready, vendor=SNOM, user=None)

    assert outcome.message == (
        "Snom (SRAPS): Disabled; credentials revoked and cleared, 1 phone(s) removed."
    )
    snom = account_of(ready, SNOM)
    assert (snom.status, snom.secrets, snom.company_id) == (Status.NOT_CONFIGURED, "", "")
    assert not sraps.key_works(snom_key)
    assert sraps.endpoints == {}
    assert not ZtpPhone.objects.filter(customer=ready, vendor=SNOM).exists()
    # Yealink: untouched, still working.
    yealink = account_of(ready, YEALINK)
    assert (yealink.status, yealink.secrets) == (Status.CONFIGURED, yealink_before.secrets)
    assert ymcs.key_works(crypto.unseal(yealink.secrets)["key_id"])
    assert "001565aabbcc" in ymcs.devices
    assert ZtpPhone.objects.filter(customer=ready, vendor=YEALINK).count() == 1
    purposes = set(
        AutoProvisioningKey.objects.filter(customer=ready).values_list("purpose", flat=True)
    )
    assert purposes == {"ztp:yealink"}  # Snom's provisioning token is revoked


def test_disable_when_the_vendor_is_down_keeps_the_credentials(ready, sraps):
    onboard(ready)
    before = account_of(ready)
    sraps.down = True

    with pytest.raises(VendorFailed, match="The credentials are still stored; try Disable again"):
        ztp_disable(customer=ready, vendor=SNOM, user=None)

    assert account_of(ready).secrets == before.secrets
    assert AutoProvisioningKey.objects.filter(customer=ready, purpose="ztp:snom").exists()


def test_disable_before_onboarding_changes_nothing(ready, sraps):
    outcome = ztp_disable(customer=ready, vendor=SNOM, user=None)

    assert (outcome.changed, outcome.message) == (
        False,
        "Snom (SRAPS): Not configured; nothing to disable.",
    )


# --- Check --------------------------------------------------------------------------------


def test_check_notices_credentials_revoked_behind_our_back(ready, sraps):
    onboard(ready)
    account = account_of(ready)
    key = crypto.unseal(account.secrets)["key_id"]
    with sraps._lock:
        del sraps._keys[key]

    with pytest.raises(VendorFailed, match="The stored credentials no longer work: Rotate them"):
        ztp_check(customer=ready, vendor=SNOM, user=None)

    assert account_of(ready).status == Status.ERROR


def test_check_before_onboarding_checks_the_reseller_credentials(ready, sraps):
    outcome = ztp_check(customer=ready, vendor=SNOM, user=None)

    account = account_of(ready)
    assert outcome.message == "Snom (SRAPS): the reseller credentials work; ready to onboard."
    assert (account.status, account.last_error) == (Status.NOT_CONFIGURED, "")
    assert account.checked_at is not None


# --- The lease ----------------------------------------------------------------------------


def test_a_second_action_while_one_runs_is_refused(ready, sraps, super_admin):
    onboard(ready)
    account = account_of(ready)
    # What the first action's conditional UPDATE leaves while it calls the vendor.
    ZtpAccount.objects.filter(pk=account.pk).update(
        action=Action.ROTATE, action_started_at=timezone.now(), lease="first"
    )
    requests_before = len(sraps.requests)

    with pytest.raises(ActionInProgress) as caught:
        ztp_disable(customer=ready, vendor=SNOM, user=super_admin)

    assert "Rotate is already running for Acme Logistics" in caught.value.detail
    assert len(sraps.requests) == requests_before
    assert account_of(ready).lease == "first"  # the first action's lease is untouched
    (event,) = events(ready, "ZTP_DISABLE")
    assert (event.severity, event.data["outcome"]) == (Severity.WARNING, "refused")


def test_the_lease_is_per_customer_and_vendor(ready, sraps, ymcs):
    account = ztp_account(ready, SNOM)
    ZtpAccount.objects.filter(pk=account.pk).update(
        action=Action.ONBOARD, action_started_at=timezone.now(), lease="other"
    )

    onboard(ready, YEALINK)  # another vendor of the same customer is free

    assert account_of(ready, YEALINK).status == Status.CONFIGURED


def test_a_lease_left_by_a_dead_process_expires(ready, sraps):
    account = ztp_account(ready, SNOM)
    ZtpAccount.objects.filter(pk=account.pk).update(
        action=Action.ONBOARD,
        action_started_at=timezone.now() - LEASE - timedelta(seconds=1),
        lease="dead",
    )

    onboard(ready)

    account = account_of(ready)
    assert (account.status, account.lease, account.action_started_at) == (
        Status.CONFIGURED,
        "",
        None,
    )


def test_the_lease_ends_with_the_action_even_when_it_fails(ready):
    with pytest.raises(Unavailable):
        onboard(ready)

    account = account_of(ready)
    assert (account.action, account.action_started_at, account.lease) == ("", None, "")


# --- Phones -------------------------------------------------------------------------------


def test_register_and_unregister_phones(ready, sraps, admin):
    onboard(ready)

    ztp_phone_register(customer=ready, vendor=SNOM, user=admin, mac="00:04:13:2a:3b:4c")

    phone = ZtpPhone.objects.get()
    assert (phone.mac, phone.registered_by) == (MAC, "ada")
    assert MAC.lower() in sraps.endpoints
    ztp_phone_unregister(customer=ready, vendor=SNOM, user=admin, mac=MAC)
    assert not ZtpPhone.objects.exists()
    assert sraps.endpoints == {}
    assert [e.data["outcome"] for e in events(ready, "ZTP_REGISTER")] == ["ok"]
    assert [e.data["outcome"] for e in events(ready, "ZTP_UNREGISTER")] == ["ok"]


def test_a_mac_owned_elsewhere_is_refused_without_marking_the_card(ready, sraps):
    onboard(ready)
    sraps.add_foreign_endpoint(MAC)

    with pytest.raises(MacRegisteredElsewhere, match="registered to another Snom SRAPS account"):
        ztp_phone_register(customer=ready, vendor=SNOM, user=None, mac=MAC)

    assert account_of(ready).status == Status.CONFIGURED
    assert not ZtpPhone.objects.exists()
    (event,) = events(ready, "ZTP_REGISTER")
    assert event.severity == Severity.ERROR


def test_registering_before_onboarding_is_refused(ready, sraps):
    with pytest.raises(NotOnboarded, match="Onboard it before you register phones"):
        ztp_phone_register(customer=ready, vendor=SNOM, user=None, mac=MAC)


def test_a_bad_mac_is_a_field_error(ready, sraps):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        ztp_phone_register(customer=ready, vendor=SNOM, user=None, mac="00:04:13")
    assert caught.value.message_dict == {"mac": ["'00:04:13' is not a MAC address"]}


def test_import_registers_each_line_and_reports_the_rest(ready, ymcs):
    onboard(ready, YEALINK)
    ymcs.add_foreign_device("001565000002")
    text = "mac\n00:15:65:00:00:01\n001565000002\nnot-a-mac\n\n00-15-65-00-00-03\n001565000001\n"

    result = ztp_phone_import(customer=ready, vendor=YEALINK, user=None, text=text)

    assert result.registered == ["001565000001", "001565000003"]
    assert result.failed[0] == "line 4: 'not-a-mac' is not a MAC address"
    assert result.failed[1].startswith("line 3: 00:15:65:00:00:02: 00:15:65:00:00:02 is registered")
    assert result.message == "2 phone(s) registered, 2 failed."
    assert set(ymcs.devices) == {"001565000001", "001565000002", "001565000003"}
    (event,) = events(ready, "ZTP_IMPORT")
    assert (event.data["registered"], event.severity) == (2, Severity.WARNING)


def test_import_stops_at_a_vendor_outage(ready, ymcs):
    onboard(ready, YEALINK)
    ymcs.fail("POST", "/addDevicesByMac", 503)

    result = ztp_phone_import(
        customer=ready, vendor=YEALINK, user=None, text="001565000001\n001565000002\n"
    )

    assert result.registered == []
    assert "answered 503" in result.stopped
    assert len(result.failed) == 1


def test_import_is_limited(ready, ymcs):
    from django.core.exceptions import ValidationError

    onboard(ready, YEALINK)
    text = "\n".join(f"0015650{n:05X}" for n in range(IMPORT_MAX + 1))
    with pytest.raises(ValidationError, match="at most 200 MAC addresses per import"):
        ztp_phone_import(customer=ready, vendor=YEALINK, user=None, text=text)


def test_the_card_reads_stored_state_only(ready, sraps, django_assert_num_queries):
    onboard(ready)
    ztp_phone_register(customer=ready, vendor=SNOM, user=None, mac=MAC)
    requests_before = len(sraps.requests)

    # 1. the customer's ZTP accounts, 2. their phone counts per vendor
    with django_assert_num_queries(2):
        rows = ztp_card(ready)

    assert [(r.vendor, r.account.status, r.phones) for r in rows] == [
        (SNOM, Status.CONFIGURED, 1),
        (YEALINK, Status.NOT_CONFIGURED, 0),
    ]
    assert len(sraps.requests) == requests_before
