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
    DONE,
    FAILED,
    IMPORT_MAX,
    UNTRIED,
    BulkLine,
    BulkResult,
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
    if not phones_registered_here(customer, vendor, [(0, mac)]):
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
) -> BulkResult:
    """Register the MACs of `text` (a CSV's first column, or one a line as pasted; a
    `mac` header is skipped), at most IMPORT_MAX. Each MAC is tried on its own; a vendor
    outage stops the rest. One Event for the whole import."""
    result = BulkResult("registered")
    macs = bulk_macs(text, result)
    with lease_take(customer, vendor, Action.IMPORT, user) as (account, lease):
        if not account.is_configured:
            raise action_refused(account, lease, Action.IMPORT, user, "import phones")
        adapter = adapter_for(vendor)
        try:
            data, current = stored_credentials(account)
            url = expected_url(customer, vendor, data["url"])
        except ServiceError as exc:
            raise _phone_failure(account, lease, Action.IMPORT, user, exc, adapter) from None

        def register(mac: str) -> None:
            adapter.register(current, mac=mac, url=url)
            # Kept at once: a crash later in the run leaves the list as the vendor has it.
            _record_phone(customer, vendor, mac, user)

        _bulk_run(result, macs, adapter, register)
        lease_finish(account, lease, Action.IMPORT)
    _bulk_event(customer, user, vendor, Action.IMPORT, "import", result)
    return result


def ztp_phone_remove_many(
    *, customer: Customer, vendor: str, user: User | None, text: str
) -> BulkResult:
    """Remove the MACs of `text` (as ztp_phone_import reads it) at the vendor and from the
    list. Only phones registered here are touched (the vendor's account may hold other
    customers'); the vendor's list is read once. A vendor outage stops the rest; a phone
    the vendor no longer lists is removed from ours. One Event for the whole removal."""
    result = BulkResult("removed")
    macs = bulk_macs(text, result)
    ours = phones_registered_here(customer, vendor, macs)
    for line, mac in macs:
        if mac not in ours:
            result.lines.append(BulkLine(line, mac, FAILED, "not registered here"))
    macs = [(line, mac) for line, mac in macs if mac in ours]
    ours_here = ZtpPhone.objects.for_customer(customer).filter(vendor=vendor)
    with lease_take(customer, vendor, Action.UNREGISTER, user) as (account, lease):
        adapter = adapter_for(vendor)
        if account.is_configured and macs:
            try:
                _data, current = stored_credentials(account)
                listed = adapter.phones(current)
            except (ServiceError, VendorError) as exc:
                raise _phone_failure(
                    account, lease, Action.UNREGISTER, user, exc, adapter
                ) from None

            def unregister(mac: str) -> None:
                adapter.unregister(current, mac=mac, listed=listed)
                # Forgotten at once: a crash later in the run leaves the list as the
                # vendor has it.
                ours_here.filter(mac=mac).delete()

            _bulk_run(result, macs, adapter, unregister)
        else:  # nothing at the vendor to remove (the key was forgotten)
            result.lines.extend(BulkLine(line, mac, DONE) for line, mac in macs)
            ours_here.filter(mac__in=result.done).delete()
        lease_finish(account, lease, Action.UNREGISTER)
    result.lines.sort(key=lambda line: line.line)
    _bulk_event(customer, user, vendor, Action.UNREGISTER, "remove", result)
    return result


def ztp_phone_remove_plan(*, customer: Customer, vendor: str, text: str) -> tuple[list[str], int]:
    """What ztp_phone_remove_many would remove, without calling the vendor: the MACs of
    `text` registered here, and how many of its lines it would leave (not a MAC, or not
    registered here). For the question asked before."""
    result = BulkResult("removed")
    macs = bulk_macs(text, result)
    ours = phones_registered_here(customer, vendor, macs)
    kept = [mac for _line, mac in macs if mac in ours]
    return kept, len(result.lines) + len(macs) - len(kept)


def phones_registered_here(
    customer: Customer, vendor: str, macs: list[tuple[int, str]]
) -> set[str]:
    """Which of `macs` ((line, MAC) pairs) the customer registered at the vendor here: the
    only phones it may remove there, since the vendor's account (a YMCS enterprise, a
    reseller's company) may hold other customers' phones."""
    return set(
        ZtpPhone.objects.for_customer(customer)
        .filter(vendor=vendor, mac__in=[mac for _line, mac in macs])
        .values_list("mac", flat=True)
    )


def bulk_macs(text: str, result: BulkResult) -> list[tuple[int, str]]:
    """The MACs of a bulk action's text, each with its line; a line that is not a MAC
    goes into `result` as failed."""
    macs: list[tuple[int, str]] = []
    seen: set[str] = set()
    lines = 0
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        for row in reader:
            cell = (row[0] if row else "").strip()
            if not cell or (reader.line_num == 1 and cell.lower() in {"mac", "mac address"}):
                continue
            lines += 1
            if lines > IMPORT_MAX:
                raise ValidationError({"macs": f"at most {IMPORT_MAX} MAC addresses at once"})
            mac = mac_normalize(cell)
            if mac is None:
                result.lines.append(
                    BulkLine(reader.line_num, "", FAILED, f"{cell[:40]!r} is not a MAC address")
                )
            elif mac not in seen:
                seen.add(mac)
                macs.append((reader.line_num, mac))
    except csv.Error as exc:
        raise ValidationError({"macs": f"line {reader.line_num}: {exc}"}) from None
    if not lines:
        raise ValidationError({"macs": "no MAC address given"})
    return macs


def _bulk_run(result: BulkResult, macs: list[tuple[int, str]], adapter, call) -> None:
    """`call` for each MAC in turn, into `result`; an outage, or a vendor refusing the
    key or the whole account, leaves the rest untried."""
    for line, mac in macs:
        if result.stopped:
            result.lines.append(BulkLine(line, mac, UNTRIED))
            continue
        try:
            call(mac)
        except VendorError as exc:
            reason = vendor_error(exc, adapter, customer_credentials=True).detail
            result.lines.append(BulkLine(line, mac, FAILED, reason))
            if isinstance(exc, VendorUnavailable | CredentialsRejected | AccountRefused):
                result.stopped = reason
            continue
        result.lines.append(BulkLine(line, mac, DONE))
    result.lines.sort(key=lambda line: line.line)


def _bulk_event(
    customer: Customer, user: User | None, vendor: str, action: str, what: str, result: BulkResult
) -> None:
    if result.stopped:
        severity = Severity.ERROR
    else:
        severity = Severity.WARNING if result.failed else Severity.INFO
    action_event(
        customer,
        user,
        vendor,
        action,
        "ok" if not result.failed else "partial",
        f"{vendor_label(vendor)}: {what}: {result.message}",
        severity,
        **{result.verb: len(result.done)},
        failed=result.failed[:20],
    )


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
