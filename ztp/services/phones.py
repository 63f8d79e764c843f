"""Phones at the vendor: register, unregister, look up and import MACs for a customer
the vendor has onboarded. Each call holds the account's lease like the card's actions."""

from __future__ import annotations

import csv
import io

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Customer, User
from core.errors import Missing, ServiceError
from devices.services import mac_display, mac_normalize
from phones.files.access import secret_masked
from reports.models import Severity
from ztp.adapters import (
    MAC_PLACEHOLDER,
    AccountRefused,
    CredentialsRejected,
    VendorError,
    VendorUnavailable,
    adapter_for,
)
from ztp.models import Action, ZtpAccount, ZtpPhone
from ztp.services.card import expected_url
from ztp.services.common import (
    IMPORT_MAX,
    ImportResult,
    Outcome,
    action_event,
    action_failed,
    action_refused,
    lease_finish,
    lease_take,
    stored_credentials,
    vendor_error,
    vendor_label,
)


def _mac(text: str) -> str:
    mac = mac_normalize(text)
    if mac is None:
        raise ValidationError({"mac": f"{text.strip()[:40]!r} is not a MAC address"})
    return mac


def _phone_failure(
    account: ZtpAccount, lease: str, action: str, user: User | None, exc: Exception, adapter, **data
) -> ServiceError:
    """A phone action's failure: the card turns Error only when the credentials stopped
    working; a refused MAC or an outage concerns the phone list alone."""
    error = vendor_error(exc, adapter, customer_credentials=True)
    if isinstance(exc, CredentialsRejected):
        return action_failed(account, lease, action, user, error, **data)
    lease_finish(account, lease, action)
    action_event(
        account.customer,
        user,
        account.vendor,
        action,
        "failed",
        f"{vendor_label(account.vendor)}: {Action(action).label} failed: {error.detail}",
        Severity.ERROR,
        error=error.detail,
        **data,
    )
    return error


def ztp_phone_register(*, customer: Customer, vendor: str, user: User | None, mac: str) -> Outcome:
    """Point one phone at the customer's provisioning URL at the vendor."""
    mac = _mac(mac)
    with lease_take(customer, vendor, Action.REGISTER, user) as (account, lease):
        if not account.is_configured:
            raise action_refused(account, lease, Action.REGISTER, user, "register phones")
        adapter = adapter_for(vendor)
        try:
            data, current = stored_credentials(account)
            # The current URL: the stored one may be retiring (Phone files, or a Rotate at
            # another vendor, changed it since); the daily check flags the rest.
            adapter.register(current, mac=mac, url=expected_url(customer, vendor, data["url"]))
        except (ServiceError, VendorError) as exc:
            raise _phone_failure(
                account, lease, Action.REGISTER, user, exc, adapter, mac=mac
            ) from None
        _record_phone(customer, vendor, mac, user)
        lease_finish(account, lease, Action.REGISTER)
        message = f"{vendor_label(vendor)}: {mac_display(mac)} registered."
        action_event(customer, user, vendor, Action.REGISTER, "ok", message, mac=mac)
        return Outcome(account, message)


def ztp_phone_unregister(
    *, customer: Customer, vendor: str, user: User | None, mac: str
) -> Outcome:
    """Remove one phone at the vendor (already gone there is fine) and from the list."""
    mac = _mac(mac)
    if not ZtpPhone.objects.for_customer(customer).filter(vendor=vendor, mac=mac).exists():
        # Only a phone registered here: the vendor's account may hold other customers'.
        raise Missing(f"{vendor_label(vendor)}: {mac_display(mac)} is not registered here.")
    with lease_take(customer, vendor, Action.UNREGISTER, user) as (account, lease):
        adapter = adapter_for(vendor)
        if account.is_configured:
            try:
                _data, current = stored_credentials(account)
                adapter.unregister(current, mac=mac)
            except (ServiceError, VendorError) as exc:
                raise _phone_failure(
                    account, lease, Action.UNREGISTER, user, exc, adapter, mac=mac
                ) from None
        ZtpPhone.objects.for_customer(customer).filter(vendor=vendor, mac=mac).delete()
        lease_finish(account, lease, Action.UNREGISTER)
        message = f"{vendor_label(vendor)}: {mac_display(mac)} removed."
        action_event(customer, user, vendor, Action.UNREGISTER, "ok", message, mac=mac)
        return Outcome(account, message)


def ztp_phone_lookup(*, customer: Customer, vendor: str, user: User | None, mac: str) -> Outcome:
    """Where the vendor sends the phone now (a read; the URL's token is not shown)."""
    mac = _mac(mac)
    with lease_take(customer, vendor, Action.LOOKUP, user) as (account, lease):
        if not account.is_configured:
            raise action_refused(account, lease, Action.LOOKUP, user, "look up phones")
        adapter = adapter_for(vendor)
        try:
            data, current = stored_credentials(account)
            found = adapter.lookup(current, mac=mac)
        except (ServiceError, VendorError) as exc:
            raise _phone_failure(
                account, lease, Action.LOOKUP, user, exc, adapter, mac=mac
            ) from None
        lease_finish(account, lease, Action.LOOKUP)
        label = vendor_label(vendor)
        if found is None:
            message = f"{label}: {mac_display(mac)} is not registered."
        elif not found.url:
            # SRAPS and GRAPE list a company's phones without their settings.
            message = f"{label}: {mac_display(mac)} is registered in this customer's company."
        elif found.url in _spelled(data["url"], mac):
            message = f"{label}: {mac_display(mac)} is sent to this customer's provisioning URL."
        else:
            message = f"{label}: {mac_display(mac)} is sent elsewhere: {secret_masked(found.url)}"
        action_event(customer, user, vendor, Action.LOOKUP, "ok", message, mac=mac)
        return Outcome(account, message, changed=False)


def ztp_phone_import(
    *, customer: Customer, vendor: str, user: User | None, text: str
) -> ImportResult:
    """Register the MACs of a CSV file (one a line, first column; a `mac` header is
    skipped), at most IMPORT_MAX. Each line is tried on its own; a vendor outage stops the
    rest. One Event for the whole import."""
    macs, problems = _parse_macs(text)
    if not macs and not problems:
        raise ValidationError({"file": "the file lists no MAC address"})
    if len(macs) + len(problems) > IMPORT_MAX:
        raise ValidationError({"file": f"at most {IMPORT_MAX} MAC addresses per import"})
    result = ImportResult(failed=list(problems))
    with lease_take(customer, vendor, Action.IMPORT, user) as (account, lease):
        if not account.is_configured:
            raise action_refused(account, lease, Action.IMPORT, user, "import phones")
        adapter = adapter_for(vendor)
        try:
            data, current = stored_credentials(account)
            url = expected_url(customer, vendor, data["url"])
        except ServiceError as exc:
            raise _phone_failure(account, lease, Action.IMPORT, user, exc, adapter) from None
        for line, mac in macs:
            try:
                adapter.register(current, mac=mac, url=url)
            except VendorError as exc:
                reason = vendor_error(exc, adapter, customer_credentials=True).detail
                result.failed.append(f"line {line}: {mac_display(mac)}: {reason}")
                if isinstance(exc, VendorUnavailable | CredentialsRejected | AccountRefused):
                    result.stopped = reason
                    break
                continue
            _record_phone(customer, vendor, mac, user)
            result.registered.append(mac)
        lease_finish(account, lease, Action.IMPORT)
    severity = (
        Severity.ERROR if result.stopped else (Severity.WARNING if result.failed else Severity.INFO)
    )
    action_event(
        customer,
        user,
        vendor,
        Action.IMPORT,
        "ok" if not result.failed else "partial",
        f"{vendor_label(vendor)}: import: {result.message}",
        severity,
        registered=len(result.registered),
        failed=result.failed[:20],
    )
    return result


def _parse_macs(text: str) -> tuple[list[tuple[int, str]], list[str]]:
    macs: list[tuple[int, str]] = []
    problems: list[str] = []
    seen: set[str] = set()
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        for row in reader:
            cell = (row[0] if row else "").strip()
            if not cell or (reader.line_num == 1 and cell.lower() in {"mac", "mac address"}):
                continue
            mac = mac_normalize(cell)
            if mac is None:
                problems.append(f"line {reader.line_num}: {cell[:40]!r} is not a MAC address")
            elif mac not in seen:
                seen.add(mac)
                macs.append((reader.line_num, mac))
    except csv.Error as exc:
        raise ValidationError({"file": f"line {reader.line_num}: {exc}"}) from None
    return macs, problems


def _record_phone(customer: Customer, vendor: str, mac: str, user: User | None) -> None:
    ZtpPhone.objects.update_or_create(
        customer=customer,
        vendor=vendor,
        mac=mac,
        defaults={
            "registered_at": timezone.now(),
            "registered_by": user.get_username() if user is not None else "",
        },
    )


def _spelled(url: str, mac: str) -> set[str]:
    """`url` as a vendor may report it for the phone: as registered, or with the MAC put
    in place of the vendor's placeholder (Snom's {mac}, Gigaset's %MACD)."""
    return {url} | {
        url.replace(placeholder, spelled)
        for placeholder in (MAC_PLACEHOLDER, "%MACD")
        for spelled in (mac, mac.lower())
    }
