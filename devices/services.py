"""Devices and sites: device IDs, automatic PTT Pro site provisioning, sweeps, obsoleting
and direct add. Views, the API, tasks and commands call these."""

from __future__ import annotations

import re
from contextlib import ExitStack
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from accounts.errors import AlreadyExists, Missing, StaleVersion
from accounts.models import Customer, User
from devices.models import AppId, Device, DeviceKind, DeviceState, Site, SiteStatus
from devices.ptt import PttClient, PttError, PttRejected, ptt_client
from reports.models import Event, Severity
from reports.services import event_log

# PTT Pro releases that take part in automatic site provisioning (older ones are
# recorded but not provisioned; the guide's "Device and Client Requirements").
SITE_PROVISIONING_MIN_VERSION = {
    AppId.PTT_PRO: (3, 3, 10197),
    AppId.PTT_PRO_IOS: (1, 0, 11086),
}
# A device still pending this long lost its task (broker outage, gave up): queue it again.
PENDING_RETRY_AFTER = timedelta(minutes=15)


def parse_version(text: str) -> tuple[int, ...] | None:
    """ "3.3.10197" → (3, 3, 10197); None when it is not a dotted number."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)*)\s*", text or "")
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


def _at_least(version: str, minimum: tuple[int, ...]) -> bool:
    parsed = parse_version(version)
    return parsed is not None and parsed >= minimum


# --- Device IDs ------------------------------------------------------------------------
# The guide's "Device IDs" table: every ID is a model, "_" and an identifier. Vendor
# (Zebra) devices: model + "_" + serial, or, with Zebra Voice 9.0.22405+ on Android 13+
# and no serial, model + "_ZAI" + Android ID. iOS: model + "_" + iOS ID. Third-party
# Android: model + "_" + serial (before Android 10) or Android ID (PTT Pro 3.3.10197+),
# and with Zebra Voice 9.0.22308+ model without spaces + "_TAI" + Android ID. A device
# reports its ID whole, so these rules tell its kind and check IDs typed by people.

THIRD_PARTY_MARKER = "TAI"
VENDOR_ANDROID_ID_MARKER = "ZAI"


def device_kind_guess(*, device_id: str, app_id: str) -> str:
    """The kind of a device that redeems a token, read from its ID and app: iOS by its
    app, third-party Android by the _TAI marker, otherwise a vendor device (a
    third-party device's serial or Android ID cannot be told from a vendor serial)."""
    if app_id == AppId.PTT_PRO_IOS:
        return DeviceKind.IOS
    if device_id.rpartition("_")[2].startswith(THIRD_PARTY_MARKER):
        return DeviceKind.THIRD_PARTY_ANDROID
    return DeviceKind.VENDOR


def device_id_problem(*, kind: str, device_id: str) -> str | None:
    """Why a device of `kind` cannot report `device_id`, or None. Direct add checks the
    IDs people type with it."""
    if not device_id or len(device_id) > 128:
        return "1 to 128 characters"
    if any(ord(c) < 32 or ord(c) == 127 for c in device_id):
        return "control characters are not allowed"
    model, _, identifier = device_id.rpartition("_")
    if not model.strip() or not identifier:
        return "the model, an underscore and the serial or ID, e.g. TC52_18304522512397"
    if any(c.isspace() for c in identifier):
        return "no spaces after the model"
    marker = identifier[:3]
    if marker == THIRD_PARTY_MARKER and kind != DeviceKind.THIRD_PARTY_ANDROID:
        return "an ID with _TAI belongs to a third-party Android device"
    if marker == VENDOR_ANDROID_ID_MARKER and kind != DeviceKind.VENDOR:
        return "an ID with _ZAI belongs to a vendor device"
    if any(c.isspace() for c in model) and (
        kind != DeviceKind.THIRD_PARTY_ANDROID or marker == THIRD_PARTY_MARKER
    ):
        return "no spaces: only third-party Android models keep theirs (not in _TAI IDs)"
    return None


# --- Automatic site provisioning -------------------------------------------------------


def site_provisioning_applies(*, app_id: str, app_version: str) -> bool:
    minimum = SITE_PROVISIONING_MIN_VERSION.get(app_id)
    return minimum is not None and _at_least(app_version, minimum)


def device_site_request(*, customer_id: int, device_pk: int, site_name: str) -> bool:
    """A device redeemed a token naming `site_name`: make that its site and mark it
    pending. True when the PTT Pro server needs a call (the caller then schedules
    `devices.tasks.provision_device_site` after commit). Two statements: the site lookup
    and one conditional UPDATE.

    A site the customer does not have (a typo in the bootstrap, or sites never synced)
    is a failure recorded on the device; no Site row is made up for it."""
    now = timezone.now()
    site = Site.objects.filter(customer_id=customer_id, name=site_name[:128]).first()
    if site is None:
        Device.objects.filter(pk=device_pk).update(
            site=None,
            site_assigned_at=None,
            site_status=SiteStatus.FAILED,
            site_error=(
                f"Unknown site {site_name[:128]!r}: the PTT Pro server has no such site. "
                "Check the bootstrap's site, or sync the sites under System > Sites."
            )[:500],
            updated=now,
        )
        return False
    already_there = Q(site=site, provisioned_site=site, site_status=SiteStatus.PROVISIONED)
    changed = (
        Device.objects.filter(pk=device_pk)
        .exclude(already_there)
        .update(
            site=site,
            site_assigned_at=Case(When(site=site, then=F("site_assigned_at")), default=Value(now)),
            site_status=SiteStatus.PENDING,
            site_error="",
            updated=now,
        )
    )
    return changed > 0


def device_site_provision(*, device_pk: int) -> str:
    """Bring the PTT Pro server in line with the device's site. Idempotent; the row lock
    serialises two runs for one device so the last requested site wins.

    Raises PttUnavailable when the server cannot be reached (the task retries);
    refusals and hand-entered rows in another site end as CONFLICT/FAILED with the
    reason on the device and an Event."""
    with transaction.atomic():
        device = (
            Device.objects.select_for_update(of=("self",))
            .select_related("site", "provisioned_site", "customer")
            .filter(pk=device_pk)
            .first()
        )
        if device is None or device.site is None or device.site_status != SiteStatus.PENDING:
            return "nothing to do"
        site = device.site
        try:
            with ptt_client(site.server_name) as client:
                remote = client.get_device(device.device_id)
                if remote is not None and remote.manual:
                    if remote.site == site.name:
                        _site_done(device, site, manual=True)
                        return "provisioned (row entered by hand)"
                    return _site_refused(
                        device,
                        SiteStatus.CONFLICT,
                        f"PTT Pro: {device.device_id} was entered by hand in site "
                        f"{remote.site}; delete it there to let it move to {site.name}",
                    )
                old = device.provisioned_site
                if (
                    old is not None
                    and old.server_name != site.server_name
                    and not device.site_row_manual
                ):
                    with ptt_client(old.server_name) as old_client:
                        _remove_our_row(old_client, device.device_id)
                client.put_device(device.device_id, site.name)
        except PttRejected as exc:
            return _site_refused(device, SiteStatus.FAILED, f"PTT Pro: {exc}")
        _site_done(device, site, manual=False)
        return "provisioned"


def _remove_our_row(client: PttClient, device_id: str) -> None:
    # An administrator may have entered the device by hand since we provisioned it;
    # such a row is theirs and stays.
    remote = client.get_device(device_id)
    if remote is not None and not remote.manual:
        client.delete_device(device_id)


def _site_done(device: Device, site: Site, *, manual: bool) -> None:
    device.provisioned_site = site
    device.site_status = SiteStatus.PROVISIONED
    device.site_error = ""
    device.site_row_manual = manual
    device.save(
        update_fields=[
            "provisioned_site",
            "site_status",
            "site_error",
            "site_row_manual",
            "updated",
        ]
    )


def _site_refused(device: Device, status: str, reason: str) -> str:
    device.site_status = status
    device.site_error = reason[:500]
    device.save(update_fields=["site_status", "site_error", "updated"])
    event_log(
        customer=device.customer,
        user=None,
        type="SITE_PROVISIONING_FAILED",
        severity=Severity.WARNING,
        info=reason,
        data={"device": device.device_id, "site": device.site.name if device.site else None},
    )
    return status


def site_provisioning_give_up(*, device_pk: int, reason: str) -> None:
    """The server stayed unreachable through every retry: the device stays pending (the
    retry sweep picks it up again) and the reason is shown on its row."""
    Device.objects.filter(pk=device_pk, site_status=SiteStatus.PENDING).update(
        site_error=f"PTT Pro unreachable, will retry: {reason}"[:500], updated=timezone.now()
    )


def pending_site_devices(*, older_than: timedelta) -> list[int]:
    """Devices still pending after `older_than`: their task was lost or gave up."""
    cutoff = timezone.now() - older_than
    return list(
        Device.objects.filter(site_status=SiteStatus.PENDING, updated__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:1000]
    )


def sites_sync(*, customer: Customer, user: User | None = None) -> int:
    """Copy the site list of the customer's PTT Pro server; returns how many sites it has.
    Sites that disappeared from the server are kept (devices may still point at them)."""
    if not customer.ptt_server:
        raise ValidationError({"ptt_server": f"{customer.name} has no PTT Pro server"})
    try:
        with ptt_client(customer.ptt_server) as client:
            remote = client.list_sites()
    except PttError as exc:
        event_log(
            customer=customer,
            user=user,
            type="SITE_SYNC",
            severity=Severity.ERROR,
            info=f"Site sync with {customer.ptt_server} failed: {exc}",
        )
        raise
    now = timezone.now()
    # A server may list a name twice (or two names equal once cut to our column size).
    names = dict.fromkeys(site.name[:128] for site in remote)
    Site.objects.bulk_create(
        [
            Site(customer=customer, name=name, server_name=customer.ptt_server, synced_at=now)
            for name in names
        ],
        update_conflicts=True,
        unique_fields=["customer", "name"],
        update_fields=["server_name", "synced_at", "updated"],
    )
    event_log(
        customer=customer,
        user=user,
        type="SITE_SYNC",
        info=f"{len(names)} site(s) synced from {customer.ptt_server}",
    )
    return len(names)


def inactive_site_devices_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Remove devices provisioned into a site that have not checked in for the configured
    period from the PTT Pro device table and from the site. Rows entered by hand are
    never touched. Safe to run twice at once: each removal is conditional."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.SITE_INACTIVITY_DAYS)
    candidates = list(
        Device.objects.filter(
            site_status=SiteStatus.PROVISIONED,
            site_row_manual=False,
            provisioned_site__isnull=False,
        )
        .filter(Q(last_checkin__lt=cutoff) | Q(last_checkin__isnull=True, updated__lt=cutoff))
        .values_list("pk", "device_id", "provisioned_site__server_name")
    )
    removed, failed = [], 0
    with ExitStack() as stack:
        clients: dict[str, PttClient] = {}
        for pk, device_id, server_name in candidates:
            try:
                if server_name not in clients:
                    clients[server_name] = stack.enter_context(ptt_client(server_name))
                _remove_our_row(clients[server_name], device_id)
            except PttError:
                failed += 1
                continue
            removed.append(pk)
    cleared = Device.objects.filter(pk__in=removed, site_status=SiteStatus.PROVISIONED).update(
        site=None,
        provisioned_site=None,
        site_status=SiteStatus.NONE,
        site_error="",
        site_assigned_at=None,
        updated=now,
    )
    counts = {"candidates": len(candidates), "removed": cleared, "failed": failed}
    event_log(
        customer=None,
        user=None,
        type="SITE_SWEEP",
        severity=Severity.WARNING if failed else Severity.INFO,
        info=(
            f"Inactive site devices: {cleared} removed, {failed} failed "
            f"(not checked in for {settings.SITE_INACTIVITY_DAYS} days)"
        ),
        data=counts,
    )
    return counts


# --- Obsolete and direct add -----------------------------------------------------------


def device_mark_obsolete(*, device: Device, user: User | None, released: int = 0) -> None:
    """Mark a locked device obsolete, with an Event saying how many licenses it gave back.
    The whole flow (licenses included) is provisioning.services.device_obsolete."""
    if device.state == DeviceState.OBSOLETE and not released:
        return
    device.state = DeviceState.OBSOLETE
    device.save(update_fields=["state", "updated"])
    event_log(
        customer=device.customer,
        user=user,
        type="DEVICE_OBSOLETED",
        info=f"Device {device.device_id} marked obsolete; {released} license(s) released",
        data={"released": released},
    )


def device_checkin_record(
    *, customer_id: int, device_id: str, app_version: str, now: datetime
) -> bool:
    """A device of the customer checked in: refresh it, in one UPDATE. False when the
    customer has no such device."""
    changes: dict[str, object] = {"last_checkin": now, "updated": now}
    if app_version:
        changes["app_version"] = app_version[:64]
    return Device.objects.filter(customer_id=customer_id, device_id=device_id).update(**changes) > 0


@transaction.atomic
def device_merge(
    *,
    customer: Customer,
    user: User | None,
    kind: str,
    device_id: str,
    password: str | None = None,
    phone_number: str | None = None,
    version: int | None = None,
) -> tuple[Device, bool]:
    """Add a device directly (no `version`), or update it when `version` is its current
    version. Returns (device, created). Additions count toward the monthly billing."""
    errors = {}
    if kind not in DeviceKind.values:
        errors["kind"] = f"must be one of {', '.join(DeviceKind.values)}"
    else:
        problem = device_id_problem(kind=kind, device_id=device_id)
        if problem:
            errors["id"] = problem
    if phone_number and not re.fullmatch(r"\+?[0-9 ()-]{3,32}", phone_number):
        errors["phoneNumber"] = "digits, spaces, dashes and brackets, optionally after +"
    if password is not None and len(password) > 128:
        errors["password"] = "at most 128 characters"
    if errors:
        raise ValidationError(errors)
    current = (
        Device.objects.for_customer(customer)
        .select_for_update()
        .filter(device_id=device_id)
        .first()
    )
    if version is None:
        if current is not None:
            raise AlreadyExists(f"id: device {device_id} already exists")
        device = Device(
            customer=customer,
            device_id=device_id,
            kind=kind,
            added_directly=True,
            phone_number=phone_number or "",
            password=make_password(password) if password else "",
        )
        try:
            with transaction.atomic():
                device.save()
        except IntegrityError:
            # Added by a concurrent request between our check and this insert.
            raise AlreadyExists(f"id: device {device_id} already exists") from None
        event_log(
            customer=customer,
            user=user,
            type="DEVICE_ADDED_DIRECTLY",
            info=f"Device {device_id} added directly",
            data={"kind": kind},
        )
        return device, True
    if current is None:
        raise Missing(f"id: no device {device_id}")
    if current.version != version:
        raise StaleVersion(kind="device", given=version, current=current.version, field="v")
    current.kind = kind
    if phone_number is not None:
        current.phone_number = phone_number
    if password is not None:
        current.password = make_password(password) if password else ""
    current.version += 1
    current.save()
    event_log(
        customer=customer,
        user=user,
        type="DEVICE_UPDATED",
        info=f"Device {device_id} updated directly",
        data={"kind": kind, "version": current.version},
    )
    return current, False


def direct_additions_this_month(*, customer: Customer) -> int:
    """Devices added directly this calendar month, counting ones removed since (billing)."""
    start = timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (
        Event.objects.for_customer(customer)
        .filter(type="DEVICE_ADDED_DIRECTLY", created__gte=start)
        .count()
    )
