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

from dataclasses import replace
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import Customer, User
from core import crypto
from core.errors import AlreadyExists, Missing, ServiceError
from devices.services import mac_display
from phones.files.access import (
    GRACE,
    file_secret,
    file_secret_rotate,
    files_url,
    secret_masked,
    vendor_server_url,
    vendor_url,
)
from phones.files.vendors import VENDORS
from phones.models import PhoneLine
from phones.services.categories import default_provisioning_category
from reports.models import Severity
from reports.services import event_log
from ztp.adapters import (
    VendorAccount,
    VendorError,
    adapter_for,
)
from ztp.models import Action, Status, Vendor, ZtpAccount, ZtpPhone
from ztp.services.common import (
    LEASE,
    CardRow,
    Outcome,
    account_sealed,
    action_event,
    action_failed,
    action_refused,
    key_entered,
    lease_finish,
    lease_take,
    server_name,
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


def ztp_card_row(customer: Customer, vendor: str) -> CardRow:
    """One vendor's row of the card (the API's state, the card's offered actions)."""
    return next(row for row in ztp_card(customer) if row.vendor == vendor)


def ztp_status_line(account: ZtpAccount) -> str:
    """The account's state in one line (manage.py ztp status)."""
    parts = [f"{account.vendor} {account.customer.slug}: {account.get_status_display()}"]
    if account.company_id:
        parts.append(f"company {account.company_id}")
    if account.key_id:
        parts.append(f"API key {account.key_id}")
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


def ztp_onboard(
    *,
    customer: Customer,
    vendor: str,
    user: User | None,
    base_url: str,
    key_id: str,
    secret: str,
) -> Outcome:
    """Check the customer's API key at the vendor (a real call), register the customer's
    phone file URL there and keep the key encrypted. On an onboarded customer: "Already
    onboarded", nothing changed."""
    key_id, secret = key_entered(key_id, secret)
    with lease_take(customer, vendor, Action.ONBOARD, user) as (account, lease):
        label = vendor_label(vendor)
        if account.is_configured:
            message = f"{label}: Already onboarded (company {account.company_id or '—'})."
            lease_finish(account, lease, Action.ONBOARD)
            action_event(customer, user, vendor, Action.ONBOARD, "already", message)
            return Outcome(account, message, changed=False)
        adapter = adapter_for(vendor)
        try:
            crypto.cipher()  # no keys: refuse before anything is sent
            if default_provisioning_category(customer) is None:
                raise Missing(
                    "Customer has no provisioning category: add one under System > Categories, "
                    "then try again."
                )
            made = adapter.connect(key_id=key_id, secret=secret)
            _company_unshared(customer, vendor, made.company_id)
            # The customer's phone file URL in the vendor's terms: a Snom or Gigaset phone
            # puts its own MAC in it; Yealink phones ask the folder for their files.
            url = vendor_url(VENDORS[vendor], customer=customer, base_url=base_url)
            made = adapter.register_url(made, name=server_name(customer), url=url)
            stored = account_sealed(made, url)
        except (ServiceError, VendorError) as exc:
            raise action_failed(
                account,
                lease,
                Action.ONBOARD,
                user,
                vendor_error(exc, adapter, customer_credentials=False),
            ) from None
        now = timezone.now()
        try:
            with transaction.atomic():  # a savepoint: the failure is recorded after it
                lease_finish(
                    account,
                    lease,
                    Action.ONBOARD,
                    status=Status.CONFIGURED,
                    company_id=made.company_id,
                    key_id=made.key_id,
                    secrets=stored,
                    credentials_set_at=now,
                    checked_at=now,
                    last_error="",
                    drift="",
                )
        except IntegrityError:  # another customer onboarded the company meanwhile
            raise action_failed(
                account,
                lease,
                Action.ONBOARD,
                user,
                AlreadyExists(_shared_company(made.company_id)),
            ) from None
        message = f"{label}: Onboarded" + (
            f" (company {made.company_id})." if made.company_id else "."
        )
        action_event(customer, user, vendor, Action.ONBOARD, "ok", message, company=made.company_id)
        return Outcome(account, message)


def _company_unshared(customer: Customer, vendor: str, company: str) -> None:
    """One company at the vendor is one customer's: with a shared one, each customer's
    phone list would show the other's phones."""
    if not company:
        return  # YMCS: the key is the enterprise's, and each customer has its own server
    other = (
        ZtpAccount.objects.filter(vendor=vendor, company_id=company)
        .exclude(customer=customer)
        .exclude(secrets="")
        .select_related("customer")
        .first()
    )
    if other is not None:
        raise AlreadyExists(_shared_company(company))


def _shared_company(company: str) -> str:
    return (
        f"This API key opens company {company}, which another customer uses already: "
        "make a company of its own for this customer at the vendor, and a key there."
    )


def ztp_key_change(
    *, customer: Customer, vendor: str, user: User | None, key_id: str, secret: str
) -> Outcome:
    """Replace the stored API key by a new one the customer made at the vendor: it must
    open the same company. The vendor's front end is where the old one is then deleted."""
    key_id, secret = key_entered(key_id, secret)
    with lease_take(customer, vendor, Action.KEY, user) as (account, lease):
        label = vendor_label(vendor)
        if not account.is_configured:
            raise action_refused(account, lease, Action.KEY, user, "change its API key")
        adapter = adapter_for(vendor)
        try:
            data, current = stored_credentials(account)
            fresh = adapter.connect(key_id=key_id, secret=secret)
            if fresh.company_id != current.company_id:
                raise AlreadyExists(
                    f"This API key opens company {fresh.company_id or '—'}, not "
                    f"{current.company_id}: make the new key in the same company."
                )
            # What the old key's account learnt (the YMCS server) stays, if the new key
            # sees it: a key of another YMCS enterprise opens no company to compare.
            kept = replace(fresh, extra={**fresh.extra, **_kept(current)})
            if adapter.holds_url and adapter.registered_url(kept) is None:
                raise AlreadyExists(
                    f"This API key does not see {customer.name}'s provisioning server at "
                    f"{label}: make the new key in the same enterprise."
                )
            stored = account_sealed(kept, data["url"])
        except (ServiceError, VendorError) as exc:
            error = with_note(
                vendor_error(exc, adapter, customer_credentials=False),
                "The stored key is still in place.",
            )
            raise action_failed(account, lease, Action.KEY, user, error) from None
        now = timezone.now()
        lease_finish(
            account,
            lease,
            Action.KEY,
            status=Status.CONFIGURED,
            key_id=key_id,
            secrets=stored,
            credentials_set_at=now,
            checked_at=now,
            last_error="",
        )
        message = (
            f"{label}: API key changed. Delete the previous key ({current.key_id}) in "
            f"{label}'s front end once nothing else uses it."
        )
        action_event(customer, user, vendor, Action.KEY, "ok", message, company=account.company_id)
        return Outcome(account, message)


def _kept(account: VendorAccount) -> dict:
    return {k: v for k, v in account.extra.items() if k == "server"}


def ztp_rotate(*, customer: Customer, vendor: str, user: User | None) -> Outcome:
    """Rotate what we own: the customer gets a new phone file URL (the previous one keeps
    working for the grace period, so phones in the field move over on their next fetch)
    and it is registered at the vendor. The API key is the vendor's to rotate: the
    message says how (Change API key)."""
    with lease_take(customer, vendor, Action.ROTATE, user) as (account, lease):
        label = vendor_label(vendor)
        if not account.is_configured:
            raise action_refused(account, lease, Action.ROTATE, user, "rotate its URL")
        adapter = adapter_for(vendor)
        try:
            data, current = stored_credentials(account)
            file_secret_rotate(customer=customer, user=user)
        except ServiceError as exc:
            raise action_failed(account, lease, Action.ROTATE, user, exc) from None
        try:
            url = expected_url(customer, vendor, data["url"])
            current = _register_everywhere(customer, adapter, current, url, url_changed=True)
            stored = account_sealed(current, url)
        except (ServiceError, VendorError) as exc:
            error = with_note(
                vendor_error(exc, adapter, customer_credentials=True),
                f"The phone file URL was changed; the previous one keeps working for "
                f"{GRACE.days} days: Repair registers the new one at {label}.",
            )
            raise action_failed(account, lease, Action.ROTATE, user, error) from None
        now = timezone.now()
        lease_finish(
            account,
            lease,
            Action.ROTATE,
            status=Status.CONFIGURED,
            secrets=stored,
            checked_at=now,
            last_error="",
            drift="",
        )
        message = (
            f"{label}: a new phone file URL is registered; the previous one keeps working for "
            f"{GRACE.days} days. To rotate the API key too, make a new one in {label}'s front "
            "end and enter it with Change API key."
        )
        others = _other_vendors(customer, vendor)
        if others:
            message += f" Repair {', '.join(others)} as well: they still hold the previous URL."
            # Shown as a drift on their rows, with Repair, without waiting for a check.
            ZtpAccount.objects.for_customer(customer).exclude(secrets="").exclude(
                vendor=vendor
            ).update(
                status=Status.ERROR,
                checked_at=now,  # the status is known from here: no vendor call needed
                drift=f"The phone file URL was changed (Rotate at {label}); this vendor still "
                f"holds the previous one, which keeps working for {GRACE.days} days.",
            )
        action_event(customer, user, vendor, Action.ROTATE, "ok", message)
        return Outcome(account, message)


def _other_vendors(customer: Customer, vendor: str) -> list[str]:
    onboarded = ZtpAccount.objects.for_customer(customer).exclude(secrets="").exclude(vendor=vendor)
    return [vendor_label(v) for v in onboarded.values_list("vendor", flat=True)]


def _register_everywhere(
    customer: Customer, adapter, account: VendorAccount, url: str, *, url_changed: bool
) -> VendorAccount:
    """`url` registered where the vendor holds it, and each of our phones the vendor no
    longer lists registered again; where the vendor keeps the URL on each phone, a changed
    URL is registered on every one."""
    account = adapter.register_url(account, name=server_name(customer), url=url)
    ours = ZtpPhone.objects.for_customer(customer).filter(vendor=adapter.vendor)
    macs = list(ours.values_list("mac", flat=True))
    if not macs:
        return account
    listed = adapter.phones(account)
    for mac in macs:
        if mac not in listed or (url_changed and not adapter.holds_url):
            adapter.register(account, mac=mac, url=url)
    return account


def ztp_disable(*, customer: Customer, vendor: str, user: User | None) -> Outcome:
    """Remove the phones we registered and what we made at the vendor, and forget the
    API key (it can only be deleted in the vendor's front end: the message says so).
    Other vendors are untouched."""
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
            _data, current = stored_credentials(account)
            registered = ZtpPhone.objects.for_customer(customer).filter(vendor=vendor)
            pairs = list(registered.values_list("mac", "pk"))
            listed = adapter.phones(current) if pairs else set()
            for mac, pk in pairs:
                if mac in listed:
                    adapter.unregister(current, mac=mac, listed=listed)
                ZtpPhone.objects.filter(pk=pk).delete()
                removed += 1
            adapter.release(current)
        except (ServiceError, VendorError) as exc:
            error = with_note(
                vendor_error(exc, adapter, customer_credentials=True),
                "The key is still stored"
                + (f" ({removed} phone(s) were removed first)" if removed else "")
                + "; try Disable again.",
            )
            raise action_failed(account, lease, Action.DISABLE, user, error) from None
        lease_finish(
            account,
            lease,
            Action.DISABLE,
            status=Status.NOT_CONFIGURED,
            company_id="",
            key_id="",
            secrets="",
            credentials_set_at=None,
            checked_at=timezone.now(),
            last_error="",
            drift="",
        )
        message = f"{label}: Disabled; the API key is forgotten"
        message += f", {removed} phone(s) removed." if removed else "."
        if current.company_id:
            message += (
                f" Delete the key ({current.key_id}) in {label}'s front end if nothing else "
                "uses it."
            )
        else:  # YMCS: the enterprise's key, which other customers may use
            message += f" The enterprise's key stays in {label}, for what else uses it."
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


def _drift(
    customer: Customer, adapter, account: VendorAccount, registered: str, expected: str
) -> str:
    """What the vendor holds that is not what it should, in a sentence; "" if nothing."""
    label = adapter.label
    problems = []
    found = adapter.registered_url(account) if adapter.holds_url else registered
    if found is None:
        problems.append(f"{label} no longer holds this customer's provisioning URL.")
    elif found != expected:
        where = "sends this customer's phones to" if adapter.holds_url else "was given"
        problems.append(
            f"{label} {where} {secret_masked(found)[:300]}, not the current phone file URL."
        )
    ours = set(
        ZtpPhone.objects.for_customer(customer)
        .filter(vendor=adapter.vendor)
        .values_list("mac", flat=True)
    )
    gone = sorted(ours - adapter.phones(account)) if ours else []
    if gone:
        shown = ", ".join(mac_display(m) for m in gone[:3]) + (" …" if len(gone) > 3 else "")
        problems.append(f"{len(gone)} phone(s) registered here are gone at {label}: {shown}.")
    return " ".join(problems)


def ztp_check(*, customer: Customer, vendor: str, user: User | None) -> Outcome:
    """Ask the vendor whether the stored API key is still accepted for the same company,
    whether it still holds our current provisioning URL and still lists our phones (a
    drift: someone changed it in the vendor's front end, or the phone file URL changed).
    A drift is stored on the account for the card, with Repair offered; `user` None is the
    daily check (ztp.tasks)."""
    with lease_take(customer, vendor, Action.CHECK, user) as (account, lease):
        label = vendor_label(vendor)
        if not account.is_configured:
            raise action_refused(account, lease, Action.CHECK, user, "check it")
        adapter = adapter_for(vendor)
        try:
            data, current = stored_credentials(account)
            adapter.check_credentials(current)
            expected = expected_url(customer, vendor, data["url"])
            drift = _drift(customer, adapter, current, data["url"], expected)
        except (ServiceError, VendorError) as exc:
            raise action_failed(
                account,
                lease,
                Action.CHECK,
                user,
                vendor_error(exc, adapter, customer_credentials=True),
            ) from None
        lease_finish(
            account,
            lease,
            Action.CHECK,
            status=Status.ERROR if drift else Status.CONFIGURED,
            checked_at=timezone.now(),
            last_error="",
            drift=drift,
        )
        if drift:
            message = f"{label}: {drift} Repair registers it again."
            action_event(customer, user, vendor, Action.CHECK, "drift", message, Severity.WARNING)
            return Outcome(account, message, changed=False)
        message = f"{label}: the stored API key works and the provisioning URL is ours."
        action_event(customer, user, vendor, Action.CHECK, "ok", message)
        return Outcome(account, message, changed=False)


def ztp_repair(*, customer: Customer, vendor: str, user: User | None) -> Outcome:
    """Register the customer's current provisioning URL at the vendor again, and the
    phones it no longer lists (after a check found a drift)."""
    with lease_take(customer, vendor, Action.REPAIR, user) as (account, lease):
        label = vendor_label(vendor)
        if not account.is_configured:
            raise action_refused(account, lease, Action.REPAIR, user, "repair it")
        adapter = adapter_for(vendor)
        try:
            data, current = stored_credentials(account)
            url = expected_url(customer, vendor, data["url"])
            current = _register_everywhere(
                customer, adapter, current, url, url_changed=url != data["url"]
            )
            stored = account_sealed(current, url)
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
            secrets=stored,
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
