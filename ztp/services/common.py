"""What every ZTP action shares: its refusals and outcomes, the lease on the account
row, the Event it writes and how a vendor failure is explained and stored."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import Q
from django.utils import timezone

from accounts.models import Customer, User
from core import crypto
from core.errors import AlreadyExists, InUse, Missing, ServiceError, Unavailable
from devices.services import mac_display
from phones.files.access import secret_masked
from reports.models import Severity
from reports.services import event_log
from ztp.adapters import (
    AccountRefused,
    CredentialsRejected,
    MacTaken,
    VendorAccount,
    VendorError,
    VendorUnavailable,
    ZtpAdapter,
)
from ztp.models import Action, Status, Vendor, ZtpAccount
from ztp.ymcs import SERVER_NAME_MAX

logger = logging.getLogger(__name__)

# A lease older than this was left by a process that died mid-action. It is far longer than
# any action takes: each vendor call is bounded by ZTP_TIMEOUT (10 s, one retry for reads),
# an onboarding makes about ten, and an import stops at the first outage.
LEASE = timedelta(minutes=15)
IMPORT_MAX = 200
ERROR_TEXT_MAX = 1000
KEY_TEXT_MAX = 200
# YMCS allows RPS server names of at most 20 characters, unique in the enterprise.


class ActionInProgress(InUse):
    """Another action on the same customer and vendor is running."""

    code = "in_progress"


class VendorFailed(Unavailable):
    """The vendor's service failed or refused; the sentence says why and what to do."""

    code = "vendor_error"


class KeyRefused(ServiceError):
    """The vendor does not accept the API key entered: a 400, as any input refused."""

    code = "key_refused"


class VendorSetupNeeded(ServiceError):
    """Something must be set up at the vendor first (a Role, a feature): a 400."""

    code = "vendor_setup"


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


@dataclass(frozen=True)
class BulkLine:
    """One line of a bulk register or remove, as the per-MAC results show it."""

    line: int
    mac: str  # 12 hex digits; "" for a line that is not a MAC address
    outcome: str  # DONE, FAILED or UNTRIED
    detail: str = ""  # why it failed

    @property
    def mac_display(self) -> str:
        return mac_display(self.mac) if self.mac else ""


DONE, FAILED, UNTRIED = "done", "failed", "not tried"


@dataclass
class BulkResult:
    """What a bulk register or remove did, MAC by MAC in the order of its lines."""

    verb: str  # "registered" or "removed"
    lines: list[BulkLine] = field(default_factory=list)
    stopped: str = ""  # why the rest was not tried (a vendor outage)

    @property
    def done(self) -> list[str]:
        return [line.mac for line in self.lines if line.outcome == DONE]

    @property
    def failed(self) -> list[str]:
        """ "line 4: 00:04:13:…: why" per MAC that failed ("line 4: why" for a line that
        is not one)."""
        return [
            f"line {line.line}: " + (f"{line.mac_display}: " if line.mac else "") + line.detail
            for line in self.lines
            if line.outcome == FAILED
        ]

    @property
    def message(self) -> str:
        text = f"{len(self.done)} phone(s) {self.verb}"
        if failed := len(self.failed):
            text += f", {failed} failed"
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
            repair = [Action.REPAIR] if self.account.drift else []
            return [*repair, Action.ROTATE, Action.KEY, Action.DISABLE, Action.CHECK]
        return [Action.ONBOARD]


def vendor_label(vendor: str) -> str:
    return Vendor(vendor).label


def server_name(customer: Customer) -> str:
    """The name of the customer's RPS server at YMCS: unique among our customers (its
    number comes first, so cutting the slug cannot make two alike), at most 20
    characters."""
    return f"pm{customer.pk}-{customer.slug}"[:SERVER_NAME_MAX].rstrip("-")


def key_entered(key_id: str, secret: str) -> tuple[str, str]:
    """The API key as entered on the card, the API or the command; a refusal names the
    field. Nothing is sent to the vendor before both are sound."""
    errors = {}
    key_id, secret = (key_id or "").strip(), (secret or "").strip()
    for name, value in (("key_id", key_id), ("secret", secret)):
        if not value:
            errors[name] = "required: the vendor shows it when the key is made"
        elif len(value) > KEY_TEXT_MAX:
            errors[name] = f"at most {KEY_TEXT_MAX} characters"
        elif any(ord(c) < 33 or ord(c) == 127 for c in value) or not value.isascii():
            errors[name] = "printable ASCII characters without spaces"
    if errors:
        raise ValidationError(errors)
    return key_id, secret


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


@contextmanager
def lease_take(
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
        action_event(customer, user, vendor, action, "refused", message, Severity.WARNING)
        raise ActionInProgress(message)
    account.refresh_from_db()
    try:
        yield account, lease
    finally:
        # Normally the action's last UPDATE has cleared it already.
        ZtpAccount.objects.filter(pk=account.pk, lease=lease).update(
            action="", action_started_at=None, lease=""
        )


def lease_finish(account: ZtpAccount, lease: str, action: str, **fields: Any) -> ZtpAccount:
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


def action_event(
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


def vendor_error(
    exc: Exception, adapter: ZtpAdapter, *, customer_credentials: bool
) -> ServiceError:
    """A vendor or prerequisite failure as a refusal in plain words with the next step."""
    if isinstance(exc, ServiceError):
        return exc
    # A vendor may quote what we sent it: the phone file URL's secret is not repeated.
    text = secret_masked(str(exc)).rstrip(".")
    if isinstance(exc, VendorUnavailable):
        return VendorFailed(f"{text}. Try again later.")
    if isinstance(exc, AccountRefused):
        return VendorSetupNeeded(f"{text}.")
    if isinstance(exc, MacTaken):
        return MacRegisteredElsewhere(
            f"{text}. Ask the phone's owner to release it at {adapter.label}, or ask the vendor's "
            "support."
        )
    if isinstance(exc, CredentialsRejected):
        if customer_credentials:
            return VendorFailed(
                f"{text}. The stored API key no longer works: make a new one at "
                f"{adapter.label} and enter it with Change API key."
            )
        return KeyRefused(
            f"{text}. {adapter.label} does not accept this API key: check its ID and secret."
        )
    if isinstance(exc, VendorError):
        return VendorFailed(f"{text}.")
    raise exc


def action_failed(
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
    lease_finish(
        account, lease, action, status=status, last_error=message, checked_at=timezone.now()
    )
    action_event(
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


def stored_credentials(account: ZtpAccount) -> tuple[dict[str, Any], VendorAccount]:
    data = crypto.unseal(account.secrets)
    return data, VendorAccount(
        company_id=account.company_id,
        key_id=data["key_id"],
        secret=data["secret"],
        extra=data.get("extra", {}),
    )


def account_sealed(account: VendorAccount, url: str) -> str:
    """What `secrets` keeps: the key, what the adapter needs later, the URL registered."""
    return crypto.seal(
        {"key_id": account.key_id, "secret": account.secret, "extra": account.extra, "url": url}
    )


def action_refused(
    account: ZtpAccount, lease: str, action: str, user: User | None, what: str
) -> NotOnboarded:
    """An action that needs onboarding first: the lease ends, the refusal is logged."""
    error = NotOnboarded(
        f"{vendor_label(account.vendor)} is not configured for {account.customer.name}: "
        f"Onboard it before you {what}."
    )
    lease_finish(account, lease, action)
    action_event(
        account.customer, user, account.vendor, action, "refused", error.detail, Severity.WARNING
    )
    return error


def with_note(error: ServiceError, note: str) -> ServiceError:
    """The same refusal with a sentence added."""
    return type(error)(f"{error.detail} {note}")
