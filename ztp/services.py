"""Zero-touch provisioning: onboard, rotate, disable and check a customer's wiring to a
vendor, and register its phones. The ZTP card, the phone list, `manage.py ztp` and the
Django admin all call these; the vendor's API is behind ztp.adapters.

Every action on one customer and vendor holds a **lease** on its `ZtpAccount` row while it
runs: a conditional UPDATE sets `action_started_at` when it is empty (or older than
LEASE, left behind by a process that died), and the action's last UPDATE clears it. A second
action meanwhile is refused with `ActionInProgress`. No database transaction or row lock is
held while a vendor is called: each write here is one autocommitted statement, and the
credentials are replaced by a single UPDATE, so a reader sees the old ones or the new ones.

Every action writes one Event (type ZTP_<ACTION>), whatever its outcome. A failure is also
stored on the account (`last_error`, status Error) for the card to show, and raised as an
core.errors refusal whose sentence says what to do next.
"""

from __future__ import annotations

import csv
import io
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Customer, User
from core.errors import AlreadyExists, InUse, Missing, ServiceError, Unavailable
from devices.services import mac_display, mac_normalize
from phones.services.auto import (
    auto_provisioning_key_issue,
    auto_provisioning_key_revoke,
    auto_provisioning_line,
    device_url,
)
from phones.services.categories import default_provisioning_category
from reports.models import Severity
from reports.services import event_log
from ztp import crypto
from ztp.adapters import (
    MAC_PLACEHOLDER,
    CredentialsRejected,
    MacTaken,
    ResellerNotConfigured,
    VendorAccount,
    VendorError,
    VendorUnavailable,
    ZtpAdapter,
    adapter_for,
)
from ztp.models import Action, Status, Vendor, ZtpAccount, ZtpPhone

logger = logging.getLogger(__name__)

# A lease older than this was left by a process that died mid-action. It is far longer than
# any action takes: each vendor call is bounded by ZTP_TIMEOUT (10 s, one retry for reads),
# an onboarding makes about ten, and an import stops at the first outage.
LEASE = timedelta(minutes=15)
# The vendor-side reference of a customer's child company: found again on a later Onboard,
# so onboarding twice (or after a crash) never makes a second one.
REFERENCE_PREFIX = "provisioning-manager"
IMPORT_MAX = 200
ERROR_TEXT_MAX = 1000


class ActionInProgress(InUse):
    """Another action on the same customer and vendor is running."""

    code = "in_progress"


class VendorFailed(Unavailable):
    """The vendor's service failed or refused; the sentence says why and what to do."""

    code = "vendor_error"


class NotOnboarded(Missing):
    code = "not_onboarded"


class MacRegisteredElsewhere(AlreadyExists):
    code = "mac_taken"


@dataclass(frozen=True)
class Outcome:
    """What an action did, in one sentence for people (the card, the command's line)."""

    account: ZtpAccount
    message: str
    changed: bool = True


@dataclass
class ImportResult:
    registered: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # "line 4: 00:04:13:…: why"
    stopped: str = ""  # why the rest was not tried (a vendor outage)

    @property
    def message(self) -> str:
        text = f"{len(self.registered)} phone(s) registered"
        if self.failed:
            text += f", {len(self.failed)} failed"
        if self.stopped:
            text += f"; stopped early: {self.stopped}"
        return text + "."


@dataclass(frozen=True)
class CardRow:
    """One vendor's row of the ZTP card, from stored state only."""

    vendor: str
    label: str
    account: ZtpAccount
    phones: int
    busy: bool  # an action holds the lease

    @property
    def actions(self) -> list[str]:
        if self.account.is_configured:
            return [Action.ROTATE, Action.DISABLE, Action.CHECK]
        return [Action.ONBOARD, Action.CHECK]


def vendor_label(vendor: str) -> str:
    return Vendor(vendor).label


def reference_for(customer: Customer) -> str:
    return f"{REFERENCE_PREFIX}:{customer.slug}"


# --- reading ------------------------------------------------------------------------------


def ztp_card(customer: Customer) -> list[CardRow]:
    """Every vendor's row for the card: two queries, no vendor call."""
    accounts = {a.vendor: a for a in ZtpAccount.objects.for_customer(customer)}
    counts = dict(
        ZtpPhone.objects.for_customer(customer)
        .values("vendor")
        .annotate(n=Count("pk"))
        .values_list("vendor", "n")
    )
    stale = timezone.now() - LEASE
    rows = []
    for vendor in Vendor:
        account = accounts.get(vendor.value) or ZtpAccount(customer=customer, vendor=vendor.value)
        busy = bool(account.action_started_at and account.action_started_at > stale)
        rows.append(CardRow(vendor.value, vendor.label, account, counts.get(vendor.value, 0), busy))
    return rows


def ztp_status_line(account: ZtpAccount) -> str:
    """The account's state in one line (manage.py ztp status)."""
    parts = [f"{account.vendor} {account.customer.slug}: {account.get_status_display()}"]
    if account.company_id:
        parts.append(f"company {account.company_id}")
    if account.credentials_set_at:
        parts.append(f"credentials set {account.credentials_set_at:%Y-%m-%d %H:%M} UTC")
    if account.checked_at:
        parts.append(f"checked {account.checked_at:%Y-%m-%d %H:%M} UTC")
    if account.action_started_at and account.action_started_at > timezone.now() - LEASE:
        parts.append(f"{account.action} in progress")
    line = ", ".join(parts)
    if account.last_error:
        line += f" — {account.last_error}"
    return line


def ztp_account_state(customer: Customer, vendor: str) -> ZtpAccount:
    """The customer's row for the vendor as stored, or an unsaved Not configured one (one
    query; nothing is written)."""
    found = ZtpAccount.objects.for_customer(customer).filter(vendor=vendor).first()
    return found or ZtpAccount(customer=customer, vendor=vendor)


def ztp_account(customer: Customer, vendor: str) -> ZtpAccount:
    """The customer's row for the vendor, made on first use."""
    if vendor not in Vendor.values:
        raise Missing(f"No such vendor {vendor!r}; expected one of {', '.join(Vendor.values)}.")
    found = ZtpAccount.objects.for_customer(customer).filter(vendor=vendor).first()
    if found is not None:
        return found
    try:
        return ZtpAccount.objects.create(customer=customer, vendor=vendor)
    except IntegrityError:  # made by a concurrent first action
        return ZtpAccount.objects.for_customer(customer).get(vendor=vendor)


# --- the lease ----------------------------------------------------------------------------


@contextmanager
def _leased(
    customer: Customer, vendor: str, action: str, user: User | None
) -> Iterator[tuple[ZtpAccount, str]]:
    account = ztp_account(customer, vendor)
    lease = secrets.token_hex(16)
    now = timezone.now()
    taken = (
        ZtpAccount.objects.filter(pk=account.pk)
        .filter(Q(action_started_at__isnull=True) | Q(action_started_at__lt=now - LEASE))
        .update(action=action, action_started_at=now, lease=lease, updated=now)
    )
    if not taken:
        running = ZtpAccount.objects.filter(pk=account.pk).values("action", "action_started_at")
        current = running.first() or {"action": "", "action_started_at": None}
        what = Action(current["action"]).label if current["action"] else "Another action"
        since = current["action_started_at"]
        message = (
            f"{vendor_label(vendor)}: {what} is already running for {customer.name}"
            + (f" (since {since:%H:%M:%S} UTC)" if since else "")
            + "; wait for it to finish, then try again."
        )
        _event(customer, user, vendor, action, "refused", message, Severity.WARNING)
        raise ActionInProgress(message)
    account.refresh_from_db()
    try:
        yield account, lease
    finally:
        # Normally the action's last UPDATE has cleared it already.
        ZtpAccount.objects.filter(pk=account.pk, lease=lease).update(
            action="", action_started_at=None, lease=""
        )


def _finish(account: ZtpAccount, lease: str, action: str, **fields: Any) -> ZtpAccount:
    """The action's last write, which also ends the lease: one UPDATE."""
    now = timezone.now()
    values = {
        "last_action": action,
        "last_action_at": now,
        "action": "",
        "action_started_at": None,
        "lease": "",
        "updated": now,
        **fields,
    }
    if not ZtpAccount.objects.filter(pk=account.pk, lease=lease).update(**values):
        # Only after LEASE: another action took over a lease it thought abandoned.
        logger.error("ztp: lease of %s lost before %s finished", account, action)
        raise ActionInProgress(
            f"{vendor_label(account.vendor)}: {action} took longer than {LEASE} and another "
            "action took over; check the card and try again."
        )
    for name, value in values.items():
        setattr(account, name, value)
    return account


def _event(
    customer: Customer,
    user: User | None,
    vendor: str,
    action: str,
    outcome: str,
    info: str,
    severity: str = Severity.INFO,
    **data: Any,
) -> None:
    event_log(
        customer=customer,
        user=user,
        type=f"ZTP_{action.upper()}",
        info=info,
        severity=severity,
        data={"vendor": vendor, "action": action, "outcome": outcome, **data},
    )


# --- failures -----------------------------------------------------------------------------


def _explain(exc: Exception, adapter: ZtpAdapter, *, customer_credentials: bool) -> ServiceError:
    """A vendor or prerequisite failure as a refusal in plain words with the next step."""
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, ResellerNotConfigured):
        variables = " and ".join(adapter.reseller_variables)
        return Unavailable(
            f"Reseller credentials not configured in this environment: {adapter.label} needs "
            f"{variables} (the secret may come from {adapter.reseller_variables[-1]}_FILE) on "
            "the server. Seed them, restart, and try again."
        )
    text = str(exc).rstrip(".")
    if isinstance(exc, VendorUnavailable):
        return VendorFailed(f"{text}. Try again later.")
    if isinstance(exc, MacTaken):
        return MacRegisteredElsewhere(
            f"{text}. Ask the phone's owner to release it at {adapter.label}, or ask the vendor's "
            "support."
        )
    if isinstance(exc, CredentialsRejected):
        if customer_credentials:
            return VendorFailed(
                f"{text}. The stored credentials no longer work: Rotate them, or Disable and "
                "Onboard again."
            )
        return VendorFailed(
            f"{text}. Check the reseller credentials ({' and '.join(adapter.reseller_variables)})"
            " on the server."
        )
    if isinstance(exc, VendorError):
        return VendorFailed(f"{text}.")
    raise exc


def _failed(
    account: ZtpAccount,
    lease: str,
    action: str,
    user: User | None,
    error: ServiceError,
    *,
    status: str = Status.ERROR,
    **event_data: Any,
) -> ServiceError:
    """Store the failure on the account (the card shows it), log it, hand it back to raise."""
    message = error.detail[:ERROR_TEXT_MAX]
    _finish(account, lease, action, status=status, last_error=message, checked_at=timezone.now())
    _event(
        account.customer,
        user,
        account.vendor,
        action,
        "failed",
        f"{vendor_label(account.vendor)}: {Action(action).label} failed: {message}",
        Severity.ERROR,
        error=message,
        **event_data,
    )
    return error


def _stored(account: ZtpAccount) -> tuple[dict[str, Any], VendorAccount]:
    data = crypto.unseal(account.secrets)
    return data, VendorAccount(
        company_id=account.company_id,
        key_id=data["key_id"],
        secret=data["secret"],
        extra=data.get("extra", {}),
    )


def _refused(
    account: ZtpAccount, lease: str, action: str, user: User | None, what: str
) -> NotOnboarded:
    """An action that needs onboarding first: the lease ends, the refusal is logged."""
    error = NotOnboarded(
        f"{vendor_label(account.vendor)} is not configured for {account.customer.name}: "
        f"Onboard it before you {what}."
    )
    _finish(account, lease, action)
    _event(
        account.customer, user, account.vendor, action, "refused", error.detail, Severity.WARNING
    )
    return error


def _noted(error: ServiceError, note: str) -> ServiceError:
    """The same refusal with a sentence added."""
    return type(error)(f"{error.detail} {note}")


# --- the card's actions -------------------------------------------------------------------


def ztp_onboard(*, customer: Customer, vendor: str, user: User | None, base_url: str) -> Outcome:
    """Create the vendor-side child company, per-customer credentials (stored encrypted) and
    register our provisioning URL. On an onboarded customer: "Already onboarded", nothing
    made."""
    with _leased(customer, vendor, Action.ONBOARD, user) as (account, lease):
        label = vendor_label(vendor)
        if account.is_configured:
            message = f"{label}: Already onboarded (company {account.company_id})."
            _finish(account, lease, Action.ONBOARD)
            _event(customer, user, vendor, Action.ONBOARD, "already", message)
            return Outcome(account, message, changed=False)
        adapter = adapter_for(vendor)
        purpose = f"ztp:{vendor}"
        token_issued = False
        try:
            adapter.require_reseller()
            crypto.cipher()  # no keys: refuse before the vendor makes anything
            category = default_provisioning_category(customer)
            if category is None:
                raise Missing(
                    "Customer has no provisioning category: add one under System > Categories, "
                    "then try again."
                )
            try:
                token = auto_provisioning_key_issue(customer=customer, purpose=purpose)
            except Missing:
                raise Missing(
                    f"Customer has no provisioning token: enable automatic provisioning for "
                    f"{customer.name} under Phones > Automatic provisioning, then try again."
                ) from None
            token_issued = True
            line, _config = auto_provisioning_line(
                url=device_url(customer=customer, base_url=base_url),
                token=token,
                category=category.name,
            )
            # The phone puts its own MAC in place of {mac} (ztp.sraps).
            url = f"{line}&mac={MAC_PLACEHOLDER}"
            made = adapter.onboard(reference=reference_for(customer), name=customer.name, url=url)
            sealed = crypto.seal(
                {
                    "key_id": made.key_id,
                    "secret": made.secret,
                    "extra": made.extra,
                    "token": token,
                    "url": url,
                }
            )
        except (ServiceError, VendorError) as exc:
            if token_issued:
                auto_provisioning_key_revoke(customer=customer, purpose=purpose)
            raise _failed(
                account,
                lease,
                Action.ONBOARD,
                user,
                _explain(exc, adapter, customer_credentials=False),
            ) from None
        now = timezone.now()
        _finish(
            account,
            lease,
            Action.ONBOARD,
            status=Status.CONFIGURED,
            company_id=made.company_id,
            secrets=sealed,
            credentials_set_at=now,
            checked_at=now,
            last_error="",
        )
        message = f"{label}: Onboarded (company {made.company_id})."
        _event(customer, user, vendor, Action.ONBOARD, "ok", message, company=made.company_id)
        return Outcome(account, message)


def ztp_rotate(*, customer: Customer, vendor: str, user: User | None) -> Outcome:
    """New vendor-side credentials replace the stored ones in one UPDATE. If any vendor call
    fails, the old credentials stay stored and working (the adapter revokes them only once
    the new ones work). Registrations and our provisioning URL are untouched."""
    with _leased(customer, vendor, Action.ROTATE, user) as (account, lease):
        label = vendor_label(vendor)
        if not account.is_configured:
            raise _refused(account, lease, Action.ROTATE, user, "rotate its credentials")
        adapter = adapter_for(vendor)
        try:
            adapter.require_reseller()
            data, current = _stored(account)
            fresh = adapter.rotate(current)
            sealed = crypto.seal(
                {**data, "key_id": fresh.key_id, "secret": fresh.secret, "extra": fresh.extra}
            )
        except (ServiceError, VendorError) as exc:
            error = _noted(
                _explain(exc, adapter, customer_credentials=False),
                "The previous credentials are still in place.",
            )
            raise _failed(account, lease, Action.ROTATE, user, error) from None
        now = timezone.now()
        _finish(
            account,
            lease,
            Action.ROTATE,
            status=Status.CONFIGURED,
            secrets=sealed,
            credentials_set_at=now,
            checked_at=now,
            last_error="",
        )
        message = f"{label}: Credentials rotated (company {account.company_id})."
        _event(customer, user, vendor, Action.ROTATE, "ok", message, company=account.company_id)
        return Outcome(account, message)


def ztp_disable(*, customer: Customer, vendor: str, user: User | None) -> Outcome:
    """Remove the phones we registered, revoke the customer's credentials at the vendor and
    our provisioning token for it, and clear what is stored. Other vendors are untouched."""
    with _leased(customer, vendor, Action.DISABLE, user) as (account, lease):
        label = vendor_label(vendor)
        if not account.is_configured:
            message = f"{label}: Not configured; nothing to disable."
            _finish(account, lease, Action.DISABLE)
            _event(customer, user, vendor, Action.DISABLE, "already", message)
            return Outcome(account, message, changed=False)
        adapter = adapter_for(vendor)
        company = account.company_id
        removed = 0
        try:
            adapter.require_reseller()
            _data, current = _stored(account)
            registered = ZtpPhone.objects.for_customer(customer).filter(vendor=vendor)
            for mac, pk in registered.values_list("mac", "pk"):
                adapter.unregister(current, mac=mac)
                ZtpPhone.objects.filter(pk=pk).delete()
                removed += 1
            adapter.disable(current)
        except (ServiceError, VendorError) as exc:
            error = _noted(
                _explain(exc, adapter, customer_credentials=False),
                "The credentials are still stored"
                + (f" ({removed} phone(s) were removed first)" if removed else "")
                + "; try Disable again.",
            )
            raise _failed(account, lease, Action.DISABLE, user, error) from None
        auto_provisioning_key_revoke(customer=customer, purpose=f"ztp:{vendor}")
        _finish(
            account,
            lease,
            Action.DISABLE,
            status=Status.NOT_CONFIGURED,
            company_id="",
            secrets="",
            credentials_set_at=None,
            checked_at=timezone.now(),
            last_error="",
        )
        message = f"{label}: Disabled; credentials revoked and cleared"
        message += f", {removed} phone(s) removed." if removed else "."
        _event(
            customer, user, vendor, Action.DISABLE, "ok", message, company=company, phones=removed
        )
        return Outcome(account, message)


def ztp_check(*, customer: Customer, vendor: str, user: User | None) -> Outcome:
    """Ask the vendor whether the stored credentials (or, before onboarding, the reseller's)
    are accepted, and record when."""
    with _leased(customer, vendor, Action.CHECK, user) as (account, lease):
        label = vendor_label(vendor)
        adapter = adapter_for(vendor)
        configured = account.is_configured
        try:
            if configured:
                _data, current = _stored(account)
                adapter.check_credentials(current)
            else:
                adapter.require_reseller()
                adapter.check_credentials(None)
        except (ServiceError, VendorError) as exc:
            raise _failed(
                account,
                lease,
                Action.CHECK,
                user,
                _explain(exc, adapter, customer_credentials=configured),
            ) from None
        status = Status.CONFIGURED if configured else Status.NOT_CONFIGURED
        _finish(
            account, lease, Action.CHECK, status=status, checked_at=timezone.now(), last_error=""
        )
        message = (
            f"{label}: the stored credentials work."
            if configured
            else f"{label}: the reseller credentials work; ready to onboard."
        )
        _event(customer, user, vendor, Action.CHECK, "ok", message)
        return Outcome(account, message, changed=False)


# --- phones -------------------------------------------------------------------------------


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
    error = _explain(exc, adapter, customer_credentials=True)
    if isinstance(exc, CredentialsRejected):
        return _failed(account, lease, action, user, error, **data)
    _finish(account, lease, action)
    _event(
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
    with _leased(customer, vendor, Action.REGISTER, user) as (account, lease):
        if not account.is_configured:
            raise _refused(account, lease, Action.REGISTER, user, "register phones")
        adapter = adapter_for(vendor)
        try:
            data, current = _stored(account)
            adapter.register(current, mac=mac, url=data["url"])
        except (ServiceError, VendorError) as exc:
            raise _phone_failure(
                account, lease, Action.REGISTER, user, exc, adapter, mac=mac
            ) from None
        _record_phone(customer, vendor, mac, user)
        _finish(account, lease, Action.REGISTER)
        message = f"{vendor_label(vendor)}: {mac_display(mac)} registered."
        _event(customer, user, vendor, Action.REGISTER, "ok", message, mac=mac)
        return Outcome(account, message)


def ztp_phone_unregister(
    *, customer: Customer, vendor: str, user: User | None, mac: str
) -> Outcome:
    """Remove one phone at the vendor (already gone there is fine) and from the list."""
    mac = _mac(mac)
    with _leased(customer, vendor, Action.UNREGISTER, user) as (account, lease):
        adapter = adapter_for(vendor)
        if account.is_configured:
            try:
                _data, current = _stored(account)
                adapter.unregister(current, mac=mac)
            except (ServiceError, VendorError) as exc:
                raise _phone_failure(
                    account, lease, Action.UNREGISTER, user, exc, adapter, mac=mac
                ) from None
        ZtpPhone.objects.for_customer(customer).filter(vendor=vendor, mac=mac).delete()
        _finish(account, lease, Action.UNREGISTER)
        message = f"{vendor_label(vendor)}: {mac_display(mac)} removed."
        _event(customer, user, vendor, Action.UNREGISTER, "ok", message, mac=mac)
        return Outcome(account, message)


def ztp_phone_lookup(*, customer: Customer, vendor: str, user: User | None, mac: str) -> Outcome:
    """Where the vendor sends the phone now (a read; the URL's token is not shown)."""
    mac = _mac(mac)
    with _leased(customer, vendor, Action.LOOKUP, user) as (account, lease):
        if not account.is_configured:
            raise _refused(account, lease, Action.LOOKUP, user, "look up phones")
        adapter = adapter_for(vendor)
        try:
            data, current = _stored(account)
            found = adapter.lookup(current, mac=mac)
        except (ServiceError, VendorError) as exc:
            raise _phone_failure(
                account, lease, Action.LOOKUP, user, exc, adapter, mac=mac
            ) from None
        _finish(account, lease, Action.LOOKUP)
        label = vendor_label(vendor)
        if found is None:
            message = f"{label}: {mac_display(mac)} is not registered."
        elif (
            found.url.replace(mac.lower(), MAC_PLACEHOLDER).replace(mac, MAC_PLACEHOLDER)
            == data["url"]
        ):
            message = f"{label}: {mac_display(mac)} is sent to this customer's provisioning URL."
        else:
            message = f"{label}: {mac_display(mac)} is sent elsewhere: {_without_token(found.url)}"
        _event(customer, user, vendor, Action.LOOKUP, "ok", message, mac=mac)
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
    with _leased(customer, vendor, Action.IMPORT, user) as (account, lease):
        if not account.is_configured:
            raise _refused(account, lease, Action.IMPORT, user, "import phones")
        adapter = adapter_for(vendor)
        try:
            data, current = _stored(account)
        except ServiceError as exc:
            raise _phone_failure(account, lease, Action.IMPORT, user, exc, adapter) from None
        for line, mac in macs:
            try:
                adapter.register(current, mac=mac, url=data["url"])
            except VendorError as exc:
                reason = _explain(exc, adapter, customer_credentials=True).detail
                result.failed.append(f"line {line}: {mac_display(mac)}: {reason}")
                if isinstance(exc, VendorUnavailable | CredentialsRejected):
                    result.stopped = reason
                    break
                continue
            _record_phone(customer, vendor, mac, user)
            result.registered.append(mac)
        _finish(account, lease, Action.IMPORT)
    severity = (
        Severity.ERROR if result.stopped else (Severity.WARNING if result.failed else Severity.INFO)
    )
    _event(
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


def _without_token(url: str) -> str:
    """A URL for display: a token= value is not repeated on a page or in the log."""
    head, sep, query = url.partition("?")
    if not sep:
        return url
    parts = ["token=…" if part.startswith("token=") else part for part in query.split("&")]
    return f"{head}?{'&'.join(parts)}"


# --- keys ---------------------------------------------------------------------------------


def ztp_rekey(*, user: User | None = None) -> tuple[int, int]:
    """Re-encrypt every stored blob with the first of ZTP_ENCRYPTION_KEYS, so the others can
    be retired. Each row is one conditional UPDATE (unchanged since read), so a concurrent
    Rotate is never overwritten; run it again until it reports 0 left. Returns (re-encrypted,
    left)."""
    done = left = 0
    rows = ZtpAccount.objects.exclude(secrets="").values_list("pk", "secrets")
    for pk, sealed in rows.iterator(chunk_size=500):
        if not crypto.needs_reseal(sealed):
            continue
        if ZtpAccount.objects.filter(pk=pk, secrets=sealed).update(secrets=crypto.reseal(sealed)):
            done += 1
        else:
            left += 1  # changed meanwhile (a Rotate): the next run sees the new value
    event_log(
        customer=None,
        user=user,
        type="ZTP_REKEY",
        info=f"ZTP credentials re-encrypted with the first key: {done} row(s), {left} left",
        severity=Severity.INFO if not left else Severity.WARNING,
        data={"reencrypted": done, "left": left},
    )
    return done, left
