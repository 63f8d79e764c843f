"""Zero-touch provisioning: onboard, rotate, disable and check a customer's wiring to a
vendor, and re-encrypt the stored credentials. The ZTP card, `manage.py ztp` and the Django
admin call these (phones at the vendor: ztp.services.phones); the vendor's API is
behind ztp.adapters.

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

from urllib.parse import urlsplit

from django.db.models import Count
from django.utils import timezone

from accounts.models import Customer, User
from core import crypto
from core.errors import Missing, ServiceError
from phones.files.access import (
    file_secret,
    files_url,
    secret_masked,
    vendor_server_url,
    vendor_url,
)
from phones.files.vendors import VENDORS
from phones.models import PhoneLine
from phones.services.auto import (
    auto_provisioning_key_issue,
    auto_provisioning_key_revoke,
)
from phones.services.categories import default_provisioning_category
from reports.models import Severity
from reports.services import event_log
from ztp.adapters import (
    VendorError,
    adapter_for,
)
from ztp.models import Action, Status, Vendor, ZtpAccount, ZtpPhone
from ztp.services.common import (
    LEASE,
    CardRow,
    Outcome,
    action_event,
    action_failed,
    action_refused,
    lease_finish,
    lease_take,
    reference_for,
    stored_credentials,
    vendor_error,
    vendor_label,
    with_note,
)

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


# --- the card's actions -------------------------------------------------------------------


def ztp_onboard(*, customer: Customer, vendor: str, user: User | None, base_url: str) -> Outcome:
    """Create the vendor-side child company, per-customer credentials (stored encrypted) and
    register our provisioning URL. On an onboarded customer: "Already onboarded", nothing
    made."""
    with lease_take(customer, vendor, Action.ONBOARD, user) as (account, lease):
        label = vendor_label(vendor)
        if account.is_configured:
            message = f"{label}: Already onboarded (company {account.company_id})."
            lease_finish(account, lease, Action.ONBOARD)
            action_event(customer, user, vendor, Action.ONBOARD, "already", message)
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
            # The customer's phone file URL in the vendor's terms: a Snom phone puts its
            # own MAC in place of {mac}; Yealink phones ask the folder for their files.
            url = vendor_url(VENDORS[vendor], customer=customer, base_url=base_url)
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
            raise action_failed(
                account,
                lease,
                Action.ONBOARD,
                user,
                vendor_error(exc, adapter, customer_credentials=False),
            ) from None
        now = timezone.now()
        lease_finish(
            account,
            lease,
            Action.ONBOARD,
            status=Status.CONFIGURED,
            company_id=made.company_id,
            secrets=sealed,
            credentials_set_at=now,
            checked_at=now,
            last_error="",
            drift="",
        )
        message = f"{label}: Onboarded (company {made.company_id})."
        action_event(customer, user, vendor, Action.ONBOARD, "ok", message, company=made.company_id)
        return Outcome(account, message)


def ztp_rotate(*, customer: Customer, vendor: str, user: User | None) -> Outcome:
    """New vendor-side credentials replace the stored ones in one UPDATE. If any vendor call
    fails, the old credentials stay stored and working (the adapter revokes them only once
    the new ones work). Registrations and our provisioning URL are untouched."""
    with lease_take(customer, vendor, Action.ROTATE, user) as (account, lease):
        label = vendor_label(vendor)
        if not account.is_configured:
            raise action_refused(account, lease, Action.ROTATE, user, "rotate its credentials")
        adapter = adapter_for(vendor)
        try:
            adapter.require_reseller()
            data, current = stored_credentials(account)
            fresh = adapter.rotate(current)
            sealed = crypto.seal(
                {**data, "key_id": fresh.key_id, "secret": fresh.secret, "extra": fresh.extra}
            )
        except (ServiceError, VendorError) as exc:
            error = with_note(
                vendor_error(exc, adapter, customer_credentials=False),
                "The previous credentials are still in place.",
            )
            raise action_failed(account, lease, Action.ROTATE, user, error) from None
        now = timezone.now()
        lease_finish(
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
        action_event(
            customer, user, vendor, Action.ROTATE, "ok", message, company=account.company_id
        )
        return Outcome(account, message)


def ztp_disable(*, customer: Customer, vendor: str, user: User | None) -> Outcome:
    """Remove the phones we registered, revoke the customer's credentials at the vendor and
    our provisioning token for it, and clear what is stored. Other vendors are untouched."""
    with lease_take(customer, vendor, Action.DISABLE, user) as (account, lease):
        label = vendor_label(vendor)
        if not account.is_configured:
            message = f"{label}: Not configured; nothing to disable."
            lease_finish(account, lease, Action.DISABLE)
            action_event(customer, user, vendor, Action.DISABLE, "already", message)
            return Outcome(account, message, changed=False)
        adapter = adapter_for(vendor)
        company = account.company_id
        removed = 0
        try:
            adapter.require_reseller()
            _data, current = stored_credentials(account)
            registered = ZtpPhone.objects.for_customer(customer).filter(vendor=vendor)
            for mac, pk in registered.values_list("mac", "pk"):
                adapter.unregister(current, mac=mac)
                ZtpPhone.objects.filter(pk=pk).delete()
                removed += 1
            adapter.disable(current)
        except (ServiceError, VendorError) as exc:
            error = with_note(
                vendor_error(exc, adapter, customer_credentials=False),
                "The credentials are still stored"
                + (f" ({removed} phone(s) were removed first)" if removed else "")
                + "; try Disable again.",
            )
            raise action_failed(account, lease, Action.DISABLE, user, error) from None
        auto_provisioning_key_revoke(customer=customer, purpose=f"ztp:{vendor}")
        lease_finish(
            account,
            lease,
            Action.DISABLE,
            status=Status.NOT_CONFIGURED,
            company_id="",
            secrets="",
            credentials_set_at=None,
            checked_at=timezone.now(),
            last_error="",
            drift="",
        )
        message = f"{label}: Disabled; credentials revoked and cleared"
        message += f", {removed} phone(s) removed." if removed else "."
        action_event(
            customer, user, vendor, Action.DISABLE, "ok", message, company=company, phones=removed
        )
        return Outcome(account, message)


def expected_url(customer: Customer, vendor: str, registered: str) -> str:
    """The URL the vendor should hold for the customer now: its phone file URL in the
    vendor's terms (the secret may have been changed since `registered` was), on the
    server `registered` named (a check runs with no request to take it from)."""
    parts = urlsplit(registered)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return vendor_server_url(VENDORS[vendor], files_url(origin, file_secret(customer)))


def _drift(label: str, found: str | None, expected: str) -> str:
    if found == expected:
        return ""
    if found is None:
        return f"{label} no longer holds this customer's provisioning URL: phones get nothing."
    return (
        f"{label} sends this customer's phones to {secret_masked(found)[:300]}, not to its "
        "current phone file URL."
    )


def ztp_check(*, customer: Customer, vendor: str, user: User | None) -> Outcome:
    """Ask the vendor whether the stored credentials (or, before onboarding, the reseller's)
    are accepted and, once onboarded, whether it still holds our current provisioning URL
    (a drift: someone changed it in the vendor's portal, or the phone file URL changed).
    A drift is stored on the account for the card, with Repair offered; `user` None is the
    daily check (ztp.tasks)."""
    with lease_take(customer, vendor, Action.CHECK, user) as (account, lease):
        label = vendor_label(vendor)
        adapter = adapter_for(vendor)
        configured = account.is_configured
        drift = ""
        try:
            if configured:
                data, current = stored_credentials(account)
                adapter.check_credentials(current)
                expected = expected_url(customer, vendor, data["url"])
                drift = _drift(label, adapter.registered_url(current), expected)
            else:
                adapter.require_reseller()
                adapter.check_credentials(None)
        except (ServiceError, VendorError) as exc:
            raise action_failed(
                account,
                lease,
                Action.CHECK,
                user,
                vendor_error(exc, adapter, customer_credentials=configured),
            ) from None
        status = Status.CONFIGURED if configured else Status.NOT_CONFIGURED
        lease_finish(
            account,
            lease,
            Action.CHECK,
            status=Status.ERROR if drift else status,
            checked_at=timezone.now(),
            last_error="",
            drift=drift,
        )
        if drift:
            message = f"{label}: {drift} Repair registers it again."
            action_event(customer, user, vendor, Action.CHECK, "drift", message, Severity.WARNING)
            return Outcome(account, message, changed=False)
        message = (
            f"{label}: the stored credentials work and the provisioning URL is ours."
            if configured
            else f"{label}: the reseller credentials work; ready to onboard."
        )
        action_event(customer, user, vendor, Action.CHECK, "ok", message)
        return Outcome(account, message, changed=False)


def ztp_repair(*, customer: Customer, vendor: str, user: User | None) -> Outcome:
    """Register the customer's current provisioning URL at the vendor again (after a
    check found another one, or none)."""
    with lease_take(customer, vendor, Action.REPAIR, user) as (account, lease):
        label = vendor_label(vendor)
        if not account.is_configured:
            raise action_refused(account, lease, Action.REPAIR, user, "repair it")
        adapter = adapter_for(vendor)
        try:
            data, current = stored_credentials(account)
            url = expected_url(customer, vendor, data["url"])
            fresh = adapter.register_url(current, reference=reference_for(customer), url=url)
            sealed = crypto.seal({**data, "extra": fresh.extra, "url": url})
        except (ServiceError, VendorError) as exc:
            raise action_failed(
                account,
                lease,
                Action.REPAIR,
                user,
                vendor_error(exc, adapter, customer_credentials=True),
            ) from None
        lease_finish(
            account,
            lease,
            Action.REPAIR,
            status=Status.CONFIGURED,
            secrets=sealed,
            checked_at=timezone.now(),
            last_error="",
            drift="",
        )
        message = f"{label}: the provisioning URL is registered again."
        action_event(customer, user, vendor, Action.REPAIR, "ok", message)
        return Outcome(account, message)


def ztp_check_all() -> dict[str, int]:
    """The daily check of every onboarded customer and vendor: each gets a ztp_check of
    its own (a failure is stored on its account and in Events, the others go on)."""
    counts = {"checked": 0, "drift": 0, "failed": 0}
    for account in ZtpAccount.objects.exclude(secrets="").select_related("customer"):
        try:
            ztp_check(customer=account.customer, vendor=account.vendor, user=None)
        except ServiceError:
            counts["failed"] += 1
            continue
        counts["checked"] += 1
        if ZtpAccount.objects.filter(pk=account.pk).exclude(drift="").exists():
            counts["drift"] += 1
    return counts


# --- keys ---------------------------------------------------------------------------------


def ztp_rekey(*, user: User | None = None) -> tuple[int, int]:
    """Re-encrypt every stored blob with the first of ZTP_ENCRYPTION_KEYS, so the others can
    be retired. Each row is one conditional UPDATE (unchanged since read), so a concurrent
    Rotate is never overwritten; run it again until it reports 0 left. Returns (re-encrypted,
    left)."""
    done = left = 0
    # The vendor credentials, and desk phones' SIP passwords (the same keys seal both).
    for model, column in ((ZtpAccount, "secrets"), (PhoneLine, "password_sealed")):
        rows = model.objects.exclude(**{column: ""}).values_list("pk", column)
        for pk, sealed in rows.iterator(chunk_size=500):
            if not crypto.needs_reseal(sealed):
                continue
            unchanged = model.objects.filter(pk=pk, **{column: sealed})
            if unchanged.update(**{column: crypto.reseal(sealed)}):
                done += 1
            else:
                left += 1  # changed meanwhile (a Rotate, a new password): the next run sees it
    event_log(
        customer=None,
        user=user,
        type="ZTP_REKEY",
        info=(
            "ZTP credentials and phone line passwords re-encrypted with the first key: "
            f"{done} row(s), {left} left"
        ),
        severity=Severity.INFO if not left else Severity.WARNING,
        data={"reencrypted": done, "left": left},
    )
    return done, left
