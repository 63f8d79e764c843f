"""The ZTP card's rules (ztp.services) against the fake vendors: onboarding with the
customer's own API key, changing that key, rotating the phone file URL, disabling one
vendor, the prerequisites in plain words, the lease, the Events, and the phones."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from core import crypto
from core.api.exceptions import service_error_status
from core.errors import AlreadyExists, Missing, Unavailable
from devices.models import Device
from phones.files.access import (
    GRACE,
    file_secret,
    file_secret_rotate,
    secret_lookup,
    vendor_url,
)
from phones.files.simulator import parse_snom
from phones.files.vendors import VENDORS
from phones.models import FileSecret
from phones.services.categories import customer_phone_defaults_create
from reports.models import Event, Severity
from ztp.models import Action, Status, Vendor, ZtpAccount, ZtpPhone
from ztp.services.card import (
    ztp_card,
    ztp_check,
    ztp_disable,
    ztp_key_change,
    ztp_onboard,
    ztp_repair,
    ztp_rotate,
)
from ztp.services.common import (
    FAILED,
    IMPORT_MAX,
    LEASE,
    UNTRIED,
    ActionInProgress,
    KeyRefused,
    MacRegisteredElsewhere,
    NotOnboarded,
    VendorFailed,
    VendorSetupNeeded,
    ztp_account,
)
from ztp.services.phones import (
    ztp_phone_import,
    ztp_phone_lookup,
    ztp_phone_register,
    ztp_phone_remove_many,
    ztp_phone_remove_plan,
    ztp_phone_unregister,
)

from .conftest import BASE_URL, key_of

SNOM, YEALINK, GIGASET = Vendor.SNOM.value, Vendor.YEALINK.value, Vendor.GIGASET.value
MAC, OTHER_MAC = "0004132A3B4C", "0004132A3B4D"
SNOM_UA = "Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33)"


def onboard(customer, fake, vendor=SNOM, user=None, **key):
    return ztp_onboard(
        customer=customer, vendor=vendor, user=user, base_url=BASE_URL, **(key or key_of(fake))
    )


def account_of(customer, vendor=SNOM) -> ZtpAccount:
    return ZtpAccount.objects.get(customer=customer, vendor=vendor)


def stored(customer, vendor=SNOM) -> dict:
    return crypto.unseal(account_of(customer, vendor).secrets)


def events(customer, type_: str) -> list[Event]:
    return list(Event.objects.for_customer(customer).filter(type=type_).order_by("pk"))


def writes(fake) -> list[tuple[str, str]]:
    """The requests that change something at a Hawk fake: (method, path)."""
    return [(m, p) for m, p, _body in fake.calls if m not in {"GET", "HEAD"}]


def register(customer, *macs, vendor=SNOM):
    for mac in macs:
        ztp_phone_register(customer=customer, vendor=vendor, user=None, mac=mac)


# --- Onboard ------------------------------------------------------------------------------


def test_onboard_checks_the_key_and_stores_it_encrypted(ready, sraps, super_admin):
    outcome = onboard(ready, sraps, user=super_admin)

    account = account_of(ready)
    assert outcome.message == f"Snom (SRAPS): Onboarded (company {sraps.company})."
    assert (account.status, account.company_id, account.key_id) == (
        Status.CONFIGURED,
        sraps.company,
        sraps.key_id,
    )
    assert account.credentials_set_at is not None and account.checked_at is not None
    # The secret is kept, but only encrypted.
    assert sraps.secret not in account.secrets
    secrets = stored(ready)
    assert (secrets["key_id"], secrets["secret"]) == (sraps.key_id, sraps.secret)
    # The key was checked with real calls: its company, that company, the settings.
    paths = [path for _method, path, _body in sraps.calls]
    assert paths[:2] == [
        f"/api/v1/tokens/{sraps.key_id}",
        f"/api/v1/companies/{sraps.company}/",
    ]
    assert paths[2].startswith("/api/v1/settings")
    assert writes(sraps) == []  # SRAPS holds no URL for a company: nothing is made there
    (event,) = events(ready, "ZTP_ONBOARD")
    assert (event.severity, event.user, event.data["outcome"]) == (Severity.INFO, super_admin, "ok")
    assert event.data["company"] == sraps.company


@pytest.mark.parametrize(
    ("vendor", "fixture", "ending"),
    [
        (SNOM, "sraps", "/snom/{mac}.xml"),
        (GIGASET, "grape", "/gigaset/%MACD.xml"),
        (YEALINK, "ymcs", "/yealink/"),
    ],
    ids=["snom", "gigaset", "yealink"],
)
def test_onboard_keeps_the_phone_file_url_in_the_vendors_terms(
    ready, request, vendor, fixture, ending
):
    fake = request.getfixturevalue(fixture)

    onboard(ready, fake, vendor)

    url = stored(ready, vendor)["url"]
    assert url == vendor_url(VENDORS[vendor], customer=ready, base_url=BASE_URL)
    assert url.startswith(f"{BASE_URL}/phones/{file_secret(ready)}/")
    assert url.endswith(ending)  # Snom and Gigaset phones put their MAC in; Yealink's a folder
    assert account_of(ready, vendor).key_id == key_of(fake)["key_id"]
    if vendor == YEALINK:  # YMCS holds it for the customer: an RPS server of its own
        assert [s["url"] for s in fake.servers.values()] == [url]


def test_the_registered_url_provisions_a_phone(ready, sraps, client):
    onboard(ready, sraps)
    url = stored(ready)["url"].replace("{mac}", MAC)

    # The phone's first fetch, as a Snom D785 sends it: it joins the first category.
    answer = client.get(urlsplit(url).path, HTTP_USER_AGENT=SNOM_UA)

    assert answer.status_code == 200, answer.content
    assert parse_snom(answer.content.decode())["setting_server"] == stored(ready)["url"]
    assert Device.objects.get(customer=ready, device_id=MAC).category == "Phones"


def test_automatic_provisioning_is_not_needed(customer, sraps):
    customer_phone_defaults_create(customer=customer)  # automatic provisioning off

    onboard(customer, sraps)

    assert account_of(customer).status == Status.CONFIGURED


def test_a_wrong_secret_is_refused_naming_the_api_key_and_nothing_is_stored(ready, sraps):
    with pytest.raises(KeyRefused) as caught:
        onboard(ready, sraps, key_id=sraps.key_id, secret="not-the-secret")

    assert caught.value.detail.endswith(
        "Snom SRAPS does not accept this API key: check its ID and secret."
    )
    assert service_error_status(caught.value) == 400
    account = account_of(ready)
    assert (account.status, account.last_error) == (Status.ERROR, caught.value.detail)
    assert (account.secrets, account.key_id, account.company_id) == ("", "", "")
    assert account.credentials_set_at is None
    (event,) = events(ready, "ZTP_ONBOARD")
    assert (event.severity, event.data["outcome"]) == (Severity.ERROR, "failed")


def test_a_key_id_unknown_at_the_vendor_is_refused_too(ready, sraps):
    with pytest.raises(KeyRefused, match="does not accept this API key"):
        onboard(ready, sraps, key_id="key_unknown", secret=sraps.secret)
    assert account_of(ready).secrets == ""


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("key_id", "", "required: the vendor shows it when the key is made"),
        ("secret", "   ", "required: the vendor shows it when the key is made"),
        ("key_id", "k" * 201, "at most 200 characters"),
        ("secret", "s" * 201, "at most 200 characters"),
        ("secret", "two words", "printable ASCII characters without spaces"),
        ("key_id", "clé", "printable ASCII characters without spaces"),
        ("secret", "tab\there", "printable ASCII characters without spaces"),
    ],
    ids=["empty", "blank", "key-too-long", "secret-too-long", "space", "non-ascii", "control"],
)
def test_a_bad_key_field_is_named_and_nothing_is_sent(ready, sraps, field, value, message):
    key = {**key_of(sraps), field: value}

    with pytest.raises(ValidationError) as caught:
        onboard(ready, sraps, **key)

    assert caught.value.message_dict == {field: [message]}
    # Nothing reached the fake, not even a request it refused (`calls` lists the signed
    # ones it accepted, `requests` every one).
    assert (sraps.calls, sraps.requests) == ([], [])
    assert not ZtpAccount.objects.filter(customer=ready).exclude(secrets="").exists()


def test_a_key_of_200_characters_is_sent(ready, sraps):
    # The limit is inclusive: 200 characters reach the vendor (which refuses this one).
    with pytest.raises(KeyRefused, match="does not accept this API key"):
        onboard(ready, sraps, key_id="k" * 200, secret="s" * 200)
    assert sraps.requests


def test_a_key_pasted_with_surrounding_whitespace_is_accepted(ready, sraps):
    onboard(ready, sraps, key_id=f"  {sraps.key_id}\n", secret=f"\t{sraps.secret} ")

    assert account_of(ready).key_id == sraps.key_id
    assert stored(ready)["secret"] == sraps.secret


def test_a_company_another_customer_uses_is_refused(ready, other_customer, sraps):
    customer_phone_defaults_create(customer=other_customer)
    onboard(other_customer, sraps)

    with pytest.raises(AlreadyExists) as caught:
        onboard(ready, sraps)  # a key of the same company

    assert caught.value.detail.startswith(f"This API key opens company {sraps.company}, which ")
    assert caught.value.detail.endswith(
        "uses already: make a company of its own for this customer at the vendor, and a key there."
    )
    assert service_error_status(caught.value) == 409
    assert caught.value.code == "exists"
    assert other_customer.name not in caught.value.detail  # no other tenant is named
    account = account_of(ready)
    assert (account.status, account.secrets, account.company_id, account.key_id) == (
        Status.ERROR,
        "",
        "",
        "",
    )
    assert account_of(other_customer).company_id == sraps.company  # untouched


def test_a_company_of_its_own_at_the_same_vendor_is_fine(ready, other_customer, sraps):
    customer_phone_defaults_create(customer=other_customer)
    onboard(other_customer, sraps)
    company = sraps.add_company("Acme")
    key_id, secret = sraps.add_key(company)

    onboard(ready, sraps, key_id=key_id, secret=secret)

    assert account_of(ready).company_id == company


def test_onboard_twice_says_already_onboarded_and_sends_nothing(ready, sraps):
    onboard(ready, sraps)
    calls_before = len(sraps.requests)
    other_key = dict(zip(("key_id", "secret"), sraps.add_key(sraps.company), strict=True))

    outcome = onboard(ready, sraps, **other_key)

    assert outcome.changed is False
    assert outcome.message == f"Snom (SRAPS): Already onboarded (company {sraps.company})."
    assert len(sraps.requests) == calls_before  # not even a vendor call
    assert account_of(ready).key_id == sraps.key_id  # the stored key stays
    assert [e.data["outcome"] for e in events(ready, "ZTP_ONBOARD")] == ["ok", "already"]


def test_onboard_after_disable_works_with_the_same_key(ready, sraps):
    first = onboard(ready, sraps).account.company_id
    ztp_disable(customer=ready, vendor=SNOM, user=None)

    second = onboard(ready, sraps).account

    assert first == second.company_id == sraps.company
    assert second.status == Status.CONFIGURED


def test_no_provisioning_category_is_named_before_the_vendor_is_called(customer, sraps):
    with pytest.raises(Missing) as caught:
        onboard(customer, sraps)

    assert caught.value.detail.startswith("Customer has no provisioning category")
    assert account_of(customer).last_error == caught.value.detail
    assert sraps.requests == []


def test_a_vendor_outage_during_onboarding_leaves_nothing_behind(ready, sraps):
    # A read is tried twice: both fail.
    sraps.fail("GET", "/settings/", 503)
    sraps.fail("GET", "/settings/", 503)

    with pytest.raises(VendorFailed, match=r"answered 503 .*Try again later\.$"):
        onboard(ready, sraps)

    account = account_of(ready)
    assert (account.status, account.secrets, account.key_id) == (Status.ERROR, "", "")
    # The next attempt completes.
    onboard(ready, sraps)
    account = account_of(ready)
    assert (account.status, account.company_id, account.last_error) == (
        Status.CONFIGURED,
        sraps.company,
        "",
    )


def test_missing_encryption_keys_refuse_before_the_vendor_is_called(ready, sraps, settings):
    settings.ZTP_ENCRYPTION_KEYS = []

    with pytest.raises(Unavailable, match="Encryption keys not configured in this environment"):
        onboard(ready, sraps)
    assert sraps.requests == []
    assert account_of(ready).secrets == ""


# --- Change API key -----------------------------------------------------------------------


def test_change_key_swaps_the_stored_key_for_one_of_the_same_company(ready, sraps, super_admin):
    onboard(ready, sraps)
    register(ready, MAC)
    old_key = sraps.key_id
    before = account_of(ready)
    new_id, new_secret = sraps.add_key(sraps.company)

    outcome = ztp_key_change(
        customer=ready, vendor=SNOM, user=super_admin, key_id=new_id, secret=new_secret
    )

    assert outcome.message == (
        f"Snom (SRAPS): API key changed. Delete the previous key ({old_key}) in "
        "Snom (SRAPS)'s front end once nothing else uses it."
    )
    after = account_of(ready)
    assert (after.key_id, after.company_id, after.status) == (
        new_id,
        sraps.company,
        Status.CONFIGURED,
    )
    assert after.credentials_set_at > before.credentials_set_at
    secrets = crypto.unseal(after.secrets)
    assert (secrets["key_id"], secrets["secret"]) == (new_id, new_secret)
    assert secrets["url"] == crypto.unseal(before.secrets)["url"]  # the URL is not touched
    assert new_secret not in after.secrets
    (event,) = events(ready, "ZTP_KEY")
    assert (event.user, event.data["outcome"]) == (super_admin, "ok")
    # The previous key deleted in the vendor's front end: we work on with the new one.
    sraps.delete_key(old_key)
    checked = ztp_check(customer=ready, vendor=SNOM, user=None)
    assert (
        checked.message
        == "Snom (SRAPS): the stored API key works and the provisioning URL is ours."
    )
    assert account_of(ready).status == Status.CONFIGURED
    found = ztp_phone_lookup(customer=ready, vendor=SNOM, user=None, mac=MAC)
    assert "is registered in this customer's company" in found.message


def test_a_key_of_another_company_is_refused_and_the_stored_key_stays(ready, sraps):
    onboard(ready, sraps)
    before = account_of(ready)
    elsewhere = sraps.add_company("Elsewhere")
    key_id, secret = sraps.add_key(elsewhere)

    with pytest.raises(AlreadyExists) as caught:
        ztp_key_change(customer=ready, vendor=SNOM, user=None, key_id=key_id, secret=secret)

    assert caught.value.detail == (
        f"This API key opens company {elsewhere}, not {sraps.company}: make the new key in "
        "the same company. The stored key is still in place."
    )
    assert service_error_status(caught.value) == 409
    after = account_of(ready)
    assert (after.secrets, after.key_id, after.company_id) == (
        before.secrets,
        sraps.key_id,
        sraps.company,
    )
    assert after.credentials_set_at == before.credentials_set_at
    assert [e.data["outcome"] for e in events(ready, "ZTP_KEY")] == ["failed"]
    ztp_check(customer=ready, vendor=SNOM, user=None)  # the stored key still works
    assert account_of(ready).status == Status.CONFIGURED


def test_a_yealink_key_that_does_not_see_the_customers_server_is_refused(ready, ymcs):
    """YMCS keys open no company to compare: a key of another enterprise is told by the
    customer's RPS server missing from what it lists."""
    onboard(ready, ymcs, YEALINK)
    before = account_of(ready, YEALINK)
    with ymcs._lock:
        ymcs._servers.clear()  # as seen with a key of another enterprise

    with pytest.raises(AlreadyExists) as caught:
        ztp_key_change(customer=ready, vendor=YEALINK, user=None, **key_of(ymcs))

    assert "does not see" in caught.value.detail
    assert "make the new key in the same enterprise" in caught.value.detail
    assert account_of(ready, YEALINK).secrets == before.secrets


def test_a_wrong_new_key_is_refused_and_the_stored_key_stays(ready, sraps):
    onboard(ready, sraps)
    before = account_of(ready)

    with pytest.raises(KeyRefused) as caught:
        ztp_key_change(customer=ready, vendor=SNOM, user=None, key_id=sraps.key_id, secret="x")

    assert "does not accept this API key" in caught.value.detail
    assert caught.value.detail.endswith("The stored key is still in place.")
    assert account_of(ready).secrets == before.secrets


def test_change_key_with_bad_fields_sends_nothing(ready, sraps):
    onboard(ready, sraps)
    sraps.requests.clear()

    with pytest.raises(ValidationError) as caught:
        ztp_key_change(customer=ready, vendor=SNOM, user=None, key_id="a b", secret="")

    assert set(caught.value.message_dict) == {"key_id", "secret"}
    assert sraps.requests == []


def test_change_key_before_onboarding_is_refused(ready, sraps):
    key_id, secret = sraps.add_key(sraps.company)

    with pytest.raises(NotOnboarded, match="Onboard it before you change its API key"):
        ztp_key_change(customer=ready, vendor=SNOM, user=None, key_id=key_id, secret=secret)
    assert sraps.requests == []
    assert [e.data["outcome"] for e in events(ready, "ZTP_KEY")] == ["refused"]


# --- Rotate -------------------------------------------------------------------------------


def test_rotate_gives_a_new_phone_file_url_and_registers_it_on_every_phone(
    ready, sraps, client, super_admin
):
    onboard(ready, sraps)
    register(ready, MAC, OTHER_MAC)
    before = account_of(ready)
    old_secret, old_url = file_secret(ready), stored(ready)["url"]

    outcome = ztp_rotate(customer=ready, vendor=SNOM, user=super_admin)

    assert outcome.message == (
        "Snom (SRAPS): a new phone file URL is registered; the previous one keeps working "
        "for 30 days. To rotate the API key too, make a new one in Snom (SRAPS)'s front end "
        "and enter it with Change API key."
    )
    new_secret = file_secret(ready)
    assert new_secret != old_secret
    new_url = vendor_url(VENDORS[SNOM], customer=ready, base_url=BASE_URL)
    assert new_url == old_url.replace(old_secret, new_secret)
    after = account_of(ready)
    assert crypto.unseal(after.secrets)["url"] == new_url
    assert (after.status, after.drift, after.last_error) == (Status.CONFIGURED, "", "")
    # Every registered phone holds the new URL at the vendor.
    assert {mac: sraps.url_of(mac) for mac in (MAC, OTHER_MAC)} == {
        MAC: new_url,
        OTHER_MAC: new_url,
    }
    # The API key is not rotated: it is the vendor's.
    assert crypto.unseal(after.secrets)["secret"] == sraps.secret
    assert (after.key_id, after.credentials_set_at) == (sraps.key_id, before.credentials_set_at)
    # The previous URL still resolves within the grace period, and tells the phone the new one.
    old = FileSecret.objects.get(lookup=secret_lookup(old_secret))
    assert old.retires_at - timezone.now() > GRACE - timedelta(minutes=1)
    answer = client.get(urlsplit(old_url.replace("{mac}", MAC)).path, HTTP_USER_AGENT=SNOM_UA)
    assert answer.status_code == 200, answer.content
    assert parse_snom(answer.content.decode())["setting_server"] == new_url
    (event,) = events(ready, "ZTP_ROTATE")
    assert (event.user, event.data["outcome"]) == (super_admin, "ok")


def test_rotate_at_yealink_moves_its_server_to_the_new_url(ready, ymcs):
    onboard(ready, ymcs, YEALINK)
    register(ready, "001565AABBCC", vendor=YEALINK)
    (server_id,) = ymcs.servers
    old_url = stored(ready, YEALINK)["url"]

    outcome = ztp_rotate(customer=ready, vendor=YEALINK, user=None)

    new_url = vendor_url(VENDORS[YEALINK], customer=ready, base_url=BASE_URL)
    assert new_url != old_url
    assert "Change API key" in outcome.message
    # The same RPS server, now with the new URL; the phone is still on it.
    assert {i: s["url"] for i, s in ymcs.servers.items()} == {server_id: new_url}
    assert ymcs.devices["001565aabbcc"]["serverUrl"] == new_url
    assert stored(ready, YEALINK)["url"] == new_url
    assert stored(ready, YEALINK)["secret"] == ymcs.client_secret  # the key is not rotated


def test_rotate_asks_to_repair_the_other_onboarded_vendors(ready, sraps, grape):
    onboard(ready, sraps, SNOM)
    onboard(ready, grape, GIGASET)

    outcome = ztp_rotate(customer=ready, vendor=SNOM, user=None)

    assert outcome.message.endswith(
        " Repair Gigaset (GRAPE) as well: they still hold the previous URL."
    )


@pytest.mark.parametrize(
    ("method", "fragment", "times"),
    [("GET", "/endpoints/", 2), ("PUT", "/endpoints/", 1)],
    ids=["listing-phones", "registering-a-phone"],
)
def test_rotate_with_a_vendor_failure_says_repair_registers_the_new_url(
    ready, sraps, method, fragment, times
):
    onboard(ready, sraps)
    register(ready, MAC, OTHER_MAC)
    before = account_of(ready)
    old_secret = file_secret(ready)
    for _ in range(times):
        sraps.fail(method, fragment, 503)

    with pytest.raises(VendorFailed) as caught:
        ztp_rotate(customer=ready, vendor=SNOM, user=None)

    assert caught.value.detail.endswith(
        "The phone file URL was changed; the previous one keeps working for 30 days: Repair "
        "registers the new one at Snom (SRAPS)."
    )
    assert file_secret(ready) != old_secret  # ours changed, the vendor's not (fully)
    after = account_of(ready)
    assert after.secrets == before.secrets  # the key and the URL the vendor was last given
    assert (after.status, after.last_error) == (Status.ERROR, caught.value.detail)
    # Repair finishes what the rotation began.
    ztp_repair(customer=ready, vendor=SNOM, user=None)
    new_url = vendor_url(VENDORS[SNOM], customer=ready, base_url=BASE_URL)
    assert {sraps.url_of(MAC), sraps.url_of(OTHER_MAC)} == {new_url}
    assert stored(ready)["url"] == new_url
    assert account_of(ready).status == Status.CONFIGURED


def test_rotate_with_the_vendor_down_says_repair_registers_the_new_url(ready, sraps):
    onboard(ready, sraps)
    register(ready, MAC)
    sraps.down = True

    with pytest.raises(VendorFailed, match=r"Try again later\..*Repair registers the new one"):
        ztp_rotate(customer=ready, vendor=SNOM, user=None)

    assert account_of(ready).status == Status.ERROR


def test_rotate_before_onboarding_is_refused(ready, sraps):
    secret = file_secret(ready)

    with pytest.raises(NotOnboarded, match="Onboard it before you rotate its URL"):
        ztp_rotate(customer=ready, vendor=SNOM, user=None)

    assert file_secret(ready) == secret
    (event,) = events(ready, "ZTP_ROTATE")
    assert event.data["outcome"] == "refused"


# --- Disable ------------------------------------------------------------------------------


def test_disable_removes_the_listed_phones_and_forgets_the_key(ready, sraps, super_admin):
    onboard(ready, sraps)
    register(ready, MAC, OTHER_MAC)
    sraps.remove_endpoint(OTHER_MAC)  # removed in SRAPS's front end meanwhile
    sraps.calls.clear()

    outcome = ztp_disable(customer=ready, vendor=SNOM, user=super_admin)

    assert outcome.message == (
        "Snom (SRAPS): Disabled; the API key is forgotten, 2 phone(s) removed. Delete the "
        f"key ({sraps.key_id}) in Snom (SRAPS)'s front end if nothing else uses it."
    )
    endpoints = f"/api/v1/companies/{sraps.company}/endpoints/"
    # The company's list is read once for all the phones, not once for each.
    assert [c for c in sraps.calls if c[:2] == ("GET", endpoints)] == [("GET", endpoints, None)]
    assert ("DELETE", endpoints + MAC.lower()) in writes(sraps)
    assert ("DELETE", endpoints + OTHER_MAC.lower()) not in writes(sraps)
    assert sraps.endpoints == {}
    assert not ZtpPhone.objects.filter(customer=ready).exists()
    account = account_of(ready)
    assert (account.status, account.secrets, account.company_id, account.key_id) == (
        Status.NOT_CONFIGURED,
        "",
        "",
        "",
    )
    assert account.credentials_set_at is None
    (event,) = events(ready, "ZTP_DISABLE")
    assert (event.data["outcome"], event.data["phones"], event.data["company"]) == (
        "ok",
        2,
        sraps.company,
    )


def test_disable_one_vendor_leaves_the_other(ready, sraps, ymcs):
    onboard(ready, sraps, SNOM)
    onboard(ready, ymcs, YEALINK)
    register(ready, MAC)
    register(ready, "001565AABBCC", vendor=YEALINK)
    yealink_before = account_of(ready, YEALINK)

    outcome = ztp_disable(customer=ready, vendor=SNOM, user=None)

    assert outcome.message.startswith(
        "Snom (SRAPS): Disabled; the API key is forgotten, 1 phone(s) removed."
    )
    snom = account_of(ready, SNOM)
    assert (snom.status, snom.secrets, snom.company_id) == (Status.NOT_CONFIGURED, "", "")
    assert sraps.endpoints == {}
    assert not ZtpPhone.objects.filter(customer=ready, vendor=SNOM).exists()
    # Yealink: untouched, still working.
    yealink = account_of(ready, YEALINK)
    assert (yealink.status, yealink.secrets) == (Status.CONFIGURED, yealink_before.secrets)
    assert "001565aabbcc" in ymcs.devices
    assert len(ymcs.servers) == 1
    assert ZtpPhone.objects.filter(customer=ready, vendor=YEALINK).count() == 1
    ztp_check(customer=ready, vendor=YEALINK, user=None)
    assert account_of(ready, YEALINK).status == Status.CONFIGURED


def test_disable_yealink_deletes_its_server(ready, ymcs):
    onboard(ready, ymcs, YEALINK)
    register(ready, "001565AABBCC", vendor=YEALINK)

    outcome = ztp_disable(customer=ready, vendor=YEALINK, user=None)

    # The key is the enterprise's: other customers may use it, so it is not to be deleted.
    assert "Delete the key" not in outcome.message
    assert "The enterprise's key stays in Yealink (YMCS RPS)" in outcome.message
    assert ymcs.servers == {}
    assert ymcs.devices == {}
    account = account_of(ready, YEALINK)
    assert (account.secrets, account.key_id) == ("", "")


def test_disable_when_the_vendor_is_down_keeps_the_key(ready, sraps):
    onboard(ready, sraps)
    register(ready, MAC)
    before = account_of(ready)
    sraps.down = True

    with pytest.raises(VendorFailed, match="The key is still stored; try Disable again"):
        ztp_disable(customer=ready, vendor=SNOM, user=None)

    after = account_of(ready)
    assert (after.secrets, after.key_id) == (before.secrets, sraps.key_id)
    assert ZtpPhone.objects.filter(customer=ready).count() == 1


def test_disable_before_onboarding_changes_nothing(ready, sraps):
    outcome = ztp_disable(customer=ready, vendor=SNOM, user=None)

    assert (outcome.changed, outcome.message) == (
        False,
        "Snom (SRAPS): Not configured; nothing to disable.",
    )
    assert sraps.requests == []


# --- Check --------------------------------------------------------------------------------


def test_check_notices_the_key_deleted_behind_our_back(ready, sraps):
    onboard(ready, sraps)
    sraps.delete_key(sraps.key_id)

    with pytest.raises(VendorFailed) as caught:
        ztp_check(customer=ready, vendor=SNOM, user=None)

    assert caught.value.detail.endswith(
        "The stored API key no longer works: make a new one at Snom SRAPS and enter it with "
        "Change API key."
    )
    assert account_of(ready).status == Status.ERROR


def test_check_before_onboarding_is_refused(ready, sraps):
    with pytest.raises(NotOnboarded) as caught:
        ztp_check(customer=ready, vendor=SNOM, user=None)

    assert caught.value.detail == (
        "Snom (SRAPS) is not configured for Acme Logistics: Onboard it before you check it."
    )
    assert service_error_status(caught.value) == 404
    assert caught.value.code == "not_onboarded"
    assert account_of(ready).status == Status.NOT_CONFIGURED
    assert sraps.requests == []


# --- The lease ----------------------------------------------------------------------------


def test_a_second_action_while_one_runs_is_refused(ready, sraps, super_admin):
    onboard(ready, sraps)
    account = account_of(ready)
    # What the first action's conditional UPDATE leaves while it calls the vendor.
    ZtpAccount.objects.filter(pk=account.pk).update(
        action=Action.ROTATE, action_started_at=timezone.now(), lease="first"
    )
    calls_before = len(sraps.requests)

    with pytest.raises(ActionInProgress) as caught:
        ztp_disable(customer=ready, vendor=SNOM, user=super_admin)

    assert "Rotate is already running for Acme Logistics" in caught.value.detail
    assert len(sraps.requests) == calls_before
    assert account_of(ready).lease == "first"  # the first action's lease is untouched
    (event,) = events(ready, "ZTP_DISABLE")
    assert (event.severity, event.data["outcome"]) == (Severity.WARNING, "refused")


def test_the_lease_is_per_customer_and_vendor(ready, sraps, ymcs):
    account = ztp_account(ready, SNOM)
    ZtpAccount.objects.filter(pk=account.pk).update(
        action=Action.ONBOARD, action_started_at=timezone.now(), lease="other"
    )

    onboard(ready, ymcs, YEALINK)  # another vendor of the same customer is free

    assert account_of(ready, YEALINK).status == Status.CONFIGURED


def test_a_lease_left_by_a_dead_process_expires(ready, sraps):
    account = ztp_account(ready, SNOM)
    ZtpAccount.objects.filter(pk=account.pk).update(
        action=Action.ONBOARD,
        action_started_at=timezone.now() - LEASE - timedelta(seconds=1),
        lease="dead",
    )

    onboard(ready, sraps)

    account = account_of(ready)
    assert (account.status, account.lease, account.action_started_at) == (
        Status.CONFIGURED,
        "",
        None,
    )


def test_the_lease_ends_with_the_action_even_when_it_fails(ready):
    # No fake: nothing answers at the configured address.
    with pytest.raises(Unavailable, match="cannot be reached"):
        onboard(ready, None, key_id="key_1", secret="s3cret")

    account = account_of(ready)
    assert (account.action, account.action_started_at, account.lease) == ("", None, "")


# --- Phones -------------------------------------------------------------------------------


def test_register_and_unregister_phones(ready, sraps, admin):
    onboard(ready, sraps)

    ztp_phone_register(customer=ready, vendor=SNOM, user=admin, mac="00:04:13:2a:3b:4c")

    phone = ZtpPhone.objects.get()
    assert (phone.mac, phone.registered_by) == (MAC, "ada")
    assert sraps.url_of(MAC) == stored(ready)["url"]
    assert sraps.endpoints[MAC.lower()]["autoprovisioning_enabled"] is True
    found = ztp_phone_lookup(customer=ready, vendor=SNOM, user=admin, mac=MAC)
    assert found.message == (
        "Snom (SRAPS): 00:04:13:2A:3B:4C is registered in this customer's company."
    )
    ztp_phone_unregister(customer=ready, vendor=SNOM, user=admin, mac=MAC)
    assert not ZtpPhone.objects.exists()
    assert sraps.endpoints == {}
    assert [e.data["outcome"] for e in events(ready, "ZTP_REGISTER")] == ["ok"]
    assert [e.data["outcome"] for e in events(ready, "ZTP_UNREGISTER")] == ["ok"]


def test_a_phone_not_registered_here_cannot_be_removed(ready, other_customer, ymcs):
    """Customers on one YMCS enterprise share its key: one may not remove another's phone
    through the phone list."""
    customer_phone_defaults_create(customer=other_customer)
    onboard(other_customer, ymcs, YEALINK)
    onboard(ready, ymcs, YEALINK)
    register(other_customer, "001565AABBCC", vendor=YEALINK)

    with pytest.raises(Missing, match="is not registered here"):
        ztp_phone_unregister(customer=ready, vendor=YEALINK, user=None, mac="001565AABBCC")

    assert "001565aabbcc" in ymcs.devices
    assert ZtpPhone.objects.filter(customer=other_customer).count() == 1


def test_customers_on_one_yealink_enterprise_keep_their_phones_apart(ready, other_customer, ymcs):
    customer_phone_defaults_create(customer=other_customer)
    onboard(other_customer, ymcs, YEALINK)
    onboard(ready, ymcs, YEALINK)
    register(other_customer, "001565AABBCC", vendor=YEALINK)

    with pytest.raises(MacRegisteredElsewhere):
        register(ready, "001565AABBCC", vendor=YEALINK)
    ztp_check(customer=other_customer, vendor=YEALINK, user=None)
    assert account_of(other_customer, YEALINK).drift == ""  # still on its server
    ztp_disable(customer=ready, vendor=YEALINK, user=None)
    assert "001565aabbcc" in ymcs.devices  # the other's phone stays


def test_a_phone_is_registered_with_the_current_url_after_it_changed(ready, sraps):
    onboard(ready, sraps)
    file_secret_rotate(customer=ready, user=None)  # Phone files > Change the URL

    register(ready, MAC)

    assert sraps.url_of(MAC) == vendor_url(VENDORS[SNOM], customer=ready, base_url=BASE_URL)
    assert sraps.url_of(MAC) != stored(ready)["url"]


def test_an_import_stops_when_the_vendor_refuses_the_whole_account(ready, ymcs):
    onboard(ready, ymcs, YEALINK)
    ymcs.by_mac_enabled = False

    result = ztp_phone_import(
        customer=ready, vendor=YEALINK, user=None, text="001565000001\n001565000002\n"
    )

    assert result.done == []
    assert len(result.failed) == 1 and "enable" in result.stopped
    assert len([c for c in ymcs.calls if c[1] == "/v2/rps/addDevicesByMac"]) == 1


def test_a_key_without_a_role_is_a_setup_step_not_a_dead_key(ready, sraps):
    key_id, secret = sraps.add_key(sraps.company, role=False)
    onboard(ready, sraps, key_id=key_id, secret=secret)

    with pytest.raises(VendorSetupNeeded, match="may lack a Role") as caught:
        register(ready, MAC)

    assert service_error_status(caught.value) == 400
    assert "no longer works" not in caught.value.detail
    assert account_of(ready).status == Status.CONFIGURED  # the key is not marked bad


def test_two_customers_onboarding_one_company_at_once_cannot_both_keep_it(
    ready, other_customer, sraps, monkeypatch
):
    from ztp.services import card

    customer_phone_defaults_create(customer=other_customer)
    onboard(other_customer, sraps)
    # As if both had passed the check before either stored the company.
    monkeypatch.setattr(card, "_company_unshared", lambda *args: None)

    with pytest.raises(AlreadyExists, match="which another customer uses already"):
        onboard(ready, sraps)

    account = account_of(ready)
    assert (account.status, account.secrets, account.company_id) == (Status.ERROR, "", "")
    assert account_of(other_customer).company_id == sraps.company


def test_gigaset_onboards_and_registers_a_phone_in_its_provisioning_setting(ready, grape):
    outcome = onboard(ready, grape, GIGASET)

    assert outcome.message == f"Gigaset (GRAPE): Onboarded (company {grape.company})."
    account = account_of(ready, GIGASET)
    assert (account.company_id, account.key_id) == (grape.company, grape.key_id)
    url = stored(ready, GIGASET)["url"]
    assert url.endswith("/gigaset/%MACD.xml")

    ztp_phone_register(customer=ready, vendor=GIGASET, user=None, mac="7C2F80123456")

    assert grape.url_of("7C2F80123456") == url
    endpoint = grape.endpoints["7c2f80123456"]
    assert list(endpoint["settings_manager"]) == [grape.setting_uuid("ProvisioningServer")]
    assert ZtpPhone.objects.get().vendor == GIGASET


def test_a_mac_owned_elsewhere_is_refused_without_marking_the_card(ready, sraps):
    onboard(ready, sraps)
    sraps.add_foreign_endpoint(MAC)

    with pytest.raises(MacRegisteredElsewhere) as caught:
        ztp_phone_register(customer=ready, vendor=SNOM, user=None, mac=MAC)

    assert "00:04:13:2A:3B:4C is registered to another Snom SRAPS account" in caught.value.detail
    assert (service_error_status(caught.value), caught.value.code) == (409, "mac_taken")
    assert account_of(ready).status == Status.CONFIGURED
    assert not ZtpPhone.objects.exists()
    assert sraps.url_of(MAC) is None  # the other company's phone is untouched
    (event,) = events(ready, "ZTP_REGISTER")
    assert event.severity == Severity.ERROR


def test_registering_before_onboarding_is_refused(ready, sraps):
    with pytest.raises(NotOnboarded, match="Onboard it before you register phones"):
        ztp_phone_register(customer=ready, vendor=SNOM, user=None, mac=MAC)
    assert sraps.requests == []


def test_a_bad_mac_is_a_field_error(ready, sraps):
    with pytest.raises(ValidationError) as caught:
        ztp_phone_register(customer=ready, vendor=SNOM, user=None, mac="00:04:13")
    assert caught.value.message_dict == {"mac": ["'00:04:13' is not a MAC address"]}


def test_import_registers_each_line_and_reports_the_rest(ready, ymcs):
    onboard(ready, ymcs, YEALINK)
    ymcs.add_foreign_device("001565000002")
    text = "mac\n00:15:65:00:00:01\n001565000002\nnot-a-mac\n\n00-15-65-00-00-03\n001565000001\n"

    result = ztp_phone_import(customer=ready, vendor=YEALINK, user=None, text=text)

    assert result.done == ["001565000001", "001565000003"]
    assert result.failed[0].startswith("line 3: 00:15:65:00:00:02: 00:15:65:00:00:02 is registered")
    assert result.failed[1] == "line 4: 'not-a-mac' is not a MAC address"
    assert result.message == "2 phone(s) registered, 2 failed."
    assert set(ymcs.devices) == {"001565000001", "001565000003"}
    (event,) = events(ready, "ZTP_IMPORT")
    assert (event.data["registered"], event.severity) == (2, Severity.WARNING)


def test_import_at_snom_registers_the_phone_file_url_on_each(ready, sraps):
    onboard(ready, sraps)

    result = ztp_phone_import(customer=ready, vendor=SNOM, user=None, text=f"{MAC}\n{OTHER_MAC}\n")

    assert result.done == [MAC, OTHER_MAC]
    assert {sraps.url_of(MAC), sraps.url_of(OTHER_MAC)} == {stored(ready)["url"]}


def test_import_stops_at_a_vendor_outage(ready, ymcs):
    onboard(ready, ymcs, YEALINK)
    ymcs.fail("POST", "/addDevicesByMac", 503)

    result = ztp_phone_import(
        customer=ready, vendor=YEALINK, user=None, text="001565000001\n001565000002\n"
    )

    assert result.done == []
    assert "answered 503" in result.stopped
    assert len(result.failed) == 1


def test_import_is_limited(ready, sraps):
    onboard(ready, sraps)
    text = "\n".join(f"0015650{n:05X}" for n in range(IMPORT_MAX + 1))
    sraps.requests.clear()

    with pytest.raises(ValidationError, match="at most 200 MAC addresses at once") as caught:
        ztp_phone_import(customer=ready, vendor=SNOM, user=None, text=text)
    assert list(caught.value.message_dict) == ["macs"]
    assert sraps.requests == []


def test_remove_many_removes_only_this_customers_phones_reading_the_list_once(
    ready, other_customer, sraps
):
    onboard(ready, sraps)
    ztp_phone_import(customer=ready, vendor=SNOM, user=None, text=f"{MAC}\n{OTHER_MAC}\n")
    ZtpPhone.objects.create(
        customer=other_customer, vendor=SNOM, mac="000413000009", registered_at=timezone.now()
    )
    sraps.add_foreign_endpoint("000413000009")
    sraps.requests.clear()

    result = ztp_phone_remove_many(
        customer=ready, vendor=SNOM, user=None, text=f"{MAC}\n000413000009\n{OTHER_MAC}\n"
    )

    assert result.done == [MAC, OTHER_MAC]
    assert result.failed == ["line 2: 00:04:13:00:00:09: not registered here"]
    assert result.message == "2 phone(s) removed, 1 failed."
    assert sraps.url_of(MAC) is None and sraps.url_of(OTHER_MAC) is None
    assert "000413000009" in sraps.endpoints  # another company's, untouched
    assert set(ZtpPhone.objects.values_list("customer_id", "mac")) == {
        (other_customer.pk, "000413000009")
    }
    methods = [request[0] for request in sraps.requests]
    assert methods.count("DELETE") == 2
    (event,) = events(ready, "ZTP_UNREGISTER")
    assert (event.data["removed"], event.severity) == (2, Severity.WARNING)


def test_remove_many_stops_at_a_vendor_outage_and_keeps_what_it_did_not_remove(ready, ymcs):
    onboard(ready, ymcs, YEALINK)
    macs = ["001565000001", "001565000002", "001565000003"]
    ztp_phone_import(customer=ready, vendor=YEALINK, user=None, text="\n".join(macs))
    ymcs.fail("POST", "/delDevices", 503)

    result = ztp_phone_remove_many(customer=ready, vendor=YEALINK, user=None, text="\n".join(macs))

    assert result.done == []
    assert "answered 503" in result.stopped
    assert [line.outcome for line in result.lines] == [FAILED, UNTRIED, UNTRIED]
    assert sorted(ZtpPhone.objects.values_list("mac", flat=True)) == macs
    assert set(ymcs.devices) == set(macs)
    (event,) = events(ready, "ZTP_UNREGISTER")
    assert event.severity == Severity.ERROR


def test_the_removal_plan_names_the_phones_registered_here(ready, sraps):
    onboard(ready, sraps)
    register(ready, MAC)
    sraps.requests.clear()

    macs, left = ztp_phone_remove_plan(
        customer=ready, vendor=SNOM, text=f"mac\n{MAC}\n{OTHER_MAC}\nbad\n{MAC}\n"
    )

    assert (macs, left) == ([MAC], 2)
    assert sraps.requests == []  # asking calls nobody


# --- The card -----------------------------------------------------------------------------


def test_the_card_reads_stored_state_only(ready, sraps, django_assert_num_queries):
    onboard(ready, sraps)
    register(ready, MAC)
    calls_before = len(sraps.requests)

    # 1. the customer's ZTP accounts, 2. their phone counts per vendor
    with django_assert_num_queries(2):
        rows = ztp_card(ready)

    assert [(r.vendor, r.account.status, r.phones) for r in rows] == [
        (SNOM, Status.CONFIGURED, 1),
        (GIGASET, Status.NOT_CONFIGURED, 0),
        (YEALINK, Status.NOT_CONFIGURED, 0),
    ]
    assert len(sraps.requests) == calls_before


def test_the_card_offers_onboard_only_until_onboarded(ready, sraps):
    (before, *_rest) = ztp_card(ready)
    assert before.actions == [Action.ONBOARD]  # no Check before onboarding

    onboard(ready, sraps)
    (after, *_rest) = ztp_card(ready)
    assert after.actions == [Action.ROTATE, Action.KEY, Action.DISABLE, Action.CHECK]

    register(ready, MAC)
    sraps.remove_endpoint(MAC)
    ztp_check(customer=ready, vendor=SNOM, user=None)
    (drifted, *_rest) = ztp_card(ready)
    assert drifted.actions == [
        Action.REPAIR,
        Action.ROTATE,
        Action.KEY,
        Action.DISABLE,
        Action.CHECK,
    ]


@pytest.mark.parametrize("action", ["import", "remove"])
def test_a_crash_half_way_through_a_bulk_run_leaves_the_list_as_the_vendor_has_it(
    ready, sraps, monkeypatch, action
):
    from ztp.sraps import SrapsAdapter

    onboard(ready, sraps)
    macs = [MAC, OTHER_MAC]
    if action == "remove":
        ztp_phone_import(customer=ready, vendor=SNOM, user=None, text="\n".join(macs))
    name = "register" if action == "import" else "unregister"
    real, calls = getattr(SrapsAdapter, name), []

    def second_call_dies(self, *args, **kwargs):
        calls.append(kwargs["mac"])
        if len(calls) == 2:
            raise RuntimeError("the worker died")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SrapsAdapter, name, second_call_dies)
    run = ztp_phone_import if action == "import" else ztp_phone_remove_many

    with pytest.raises(RuntimeError):
        run(customer=ready, vendor=SNOM, user=None, text="\n".join(macs))

    listed_here = set(ZtpPhone.objects.values_list("mac", flat=True))
    at_vendor = {mac for mac in macs if sraps.url_of(mac) is not None}
    assert listed_here == at_vendor == ({MAC} if action == "import" else {OTHER_MAC})
    assert account_of(ready).action == ""  # the lease is given back
