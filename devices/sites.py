"""Automatic PTT Pro site provisioning: a device's site request, the runs that put it
on its site's server, retries, the sweeps and syncing a customer's sites."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from accounts.models import Customer, User
from devices.models import Device, Site, SiteStatus
from devices.ptt import PttClient, PttError, PttRejected, PttUnavailable, ptt_client
from devices.services import parse_version
from reports.models import AppId, EventType, Severity
from reports.services import event_log

# PTT Pro releases that take part in automatic site provisioning (older ones are
# recorded but not provisioned; the guide's "Device and Client Requirements").
SITE_PROVISIONING_MIN_VERSION = {
    AppId.PTT_PRO: (3, 3, 10197),
    AppId.PTT_PRO_IOS: (1, 0, 11086),
}
# A pending device whose next attempt is this overdue lost its task (broker outage, worker
# crash, gave up): the retry sweep queues it again. Rows from before `site_retry_at` count
# from their last change instead.
PENDING_RETRY_AFTER = timedelta(minutes=15)
# A provisioning run that changed a server while the device was re-pointed goes round again
# for the new site at most this often; after that the device stays pending for the sweep.
SITE_PROVISION_ROUNDS = 3
# What a run answers when a newer request took over the device while it called the server.
SUPERSEDED = "superseded by a newer request"


def _at_least(version: str, minimum: tuple[int, ...]) -> bool:
    parsed = parse_version(version)
    return parsed is not None and parsed >= minimum


def site_provisioning_applies(*, app_id: str, app_version: str) -> bool:
    minimum = SITE_PROVISIONING_MIN_VERSION.get(app_id)
    return minimum is not None and _at_least(app_version, minimum)


def device_site_request(*, customer_id: int, device_pk: int, site_name: str) -> bool:
    """A device redeemed a token naming `site_name`: make that its site and mark it
    pending. True when the PTT Pro server needs a call (the caller then schedules
    `devices.tasks.provision_device_site` after commit). Two statements: the site lookup
    and one conditional UPDATE, which also stamps the request (`site_retry_at`: when the
    retry sweep may assume the task was lost).

    A site the customer does not have (a typo in the bootstrap, or sites never synced)
    is a failure recorded on the device; no Site row is made up for it."""
    now = timezone.now()
    site = Site.objects.filter(customer_id=customer_id, name=site_name[:128]).first()
    if site is None:
        Device.objects.filter(pk=device_pk).update(
            site=None,
            site_assigned_at=None,
            site_status=SiteStatus.FAILED,
            site_retry_at=None,
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
            site_retry_at=now + PENDING_RETRY_AFTER,
            updated=now,
        )
    )
    return changed > 0


@dataclass(frozen=True)
class _SitePlan:
    """What one provisioning round read from the device row, before calling the server."""

    device_pk: int
    device_id: str
    customer: Customer
    site: Site
    # Servers that may hold a row of ours the device no longer wants (its provisioned site
    # on another server, or where an earlier round of this run put it).
    clean_servers: tuple[str, ...]
    # The request this round answers: the outcome lands only if it is still the current one.
    stamp: datetime | None


@dataclass(frozen=True)
class _SiteOutcome:
    status: str  # PROVISIONED, CONFLICT or FAILED
    answer: str  # what device_site_provision returns
    reason: str = ""  # why CONFLICT or FAILED, shown on the device and in the Event
    manual: bool = False  # PROVISIONED into a row an administrator entered by hand


def device_site_provision(*, device_pk: int) -> str:
    """Bring the PTT Pro server in line with the device's site. Idempotent.

    No transaction is open while PTT Pro is called (up to four requests of up to 10 s
    each): a row lock held that long would stall the device's redemptions and check-ins.
    Instead one round reads the device, calls the server, then records the outcome with a
    conditional UPDATE that lands only if the device still wants what was done (same
    site, still pending, same request stamp). A device re-pointed meanwhile stays pending
    for the run its new request queued. A run that changed a server for a site the device
    no longer wants may have done so after the newer run: it marks the device pending
    again and goes round once more for the new site, so the server and the row end on the
    last requested site whichever run finishes first.

    Raises PttUnavailable when the server cannot be reached (the task retries);
    refusals and hand-entered rows in another site end as CONFLICT/FAILED with the
    reason on the device and an Event. Answers "provisioned", "provisioned (row entered
    by hand)", CONFLICT, FAILED, "nothing to do" (not pending) or SUPERSEDED (a newer
    request took over while the server was called)."""
    stray: set[str] = set()
    for round_no in range(SITE_PROVISION_ROUNDS):
        plan = _site_plan(device_pk=device_pk, stray=stray)
        if plan is None:
            return "nothing to do" if round_no == 0 else SUPERSEDED
        touched: list[str] = []  # servers this round asked to change, in order
        try:
            outcome = _site_reconcile(plan, touched)
        except PttUnavailable:
            # A request that timed out may still have landed: same reasoning as below,
            # then the task retries.
            if touched:
                _site_redo(plan)
            raise
        if _site_apply(plan, outcome):
            return outcome.answer
        if not (touched and _site_redo(plan)):
            # Either this round changed nothing, or the device still wants the site it
            # put it in: the run of the newer request (or one that already finished)
            # leaves the server where the device wants it.
            return SUPERSEDED
        stray.update(touched)
    return SUPERSEDED


def _site_plan(*, device_pk: int, stray: set[str]) -> _SitePlan | None:
    # One plain SELECT: a lock would add nothing, as the outcome is applied only if the
    # row is unchanged (see _site_apply).
    device = (
        Device.objects.select_related("site", "provisioned_site", "customer")
        .filter(pk=device_pk)
        .first()
    )
    if device is None or device.site is None or device.site_status != SiteStatus.PENDING:
        return None
    site = device.site
    clean = set(stray)
    old = device.provisioned_site
    if old is not None and not device.site_row_manual:
        clean.add(old.server_name)
    # On the site's own server a PUT moves the row; no removal is needed there.
    clean.discard(site.server_name)
    return _SitePlan(
        device_pk=device.pk,
        device_id=device.device_id,
        customer=device.customer,
        site=site,
        clean_servers=tuple(sorted(clean)),
        stamp=device.site_retry_at,
    )


def _site_reconcile(plan: _SitePlan, touched: list[str]) -> _SiteOutcome:
    """The PTT Pro calls of one round; runs with no transaction open. Appends to `touched`
    each server it asks to change, before asking."""
    site = plan.site
    try:
        with ptt_client(site.server_name) as client:
            remote = client.get_device(plan.device_id)
            if remote is not None and remote.manual:
                if remote.site == site.name:
                    return _SiteOutcome(
                        SiteStatus.PROVISIONED, "provisioned (row entered by hand)", manual=True
                    )
                return _SiteOutcome(
                    SiteStatus.CONFLICT,
                    SiteStatus.CONFLICT,
                    reason=(
                        f"PTT Pro: {plan.device_id} was entered by hand in site "
                        f"{remote.site}; delete it there to let it move to {site.name}"
                    ),
                )
            for server_name in plan.clean_servers:
                with ptt_client(server_name) as old_client:
                    touched.append(server_name)
                    _remove_our_row(old_client, plan.device_id)
            touched.append(site.server_name)
            client.put_device(plan.device_id, site.name)
    except PttRejected as exc:
        return _SiteOutcome(SiteStatus.FAILED, SiteStatus.FAILED, reason=f"PTT Pro: {exc}")
    return _SiteOutcome(SiteStatus.PROVISIONED, "provisioned")


def _site_apply(plan: _SitePlan, outcome: _SiteOutcome) -> bool:
    """Record the outcome if the device still wants what this round did: same site, still
    pending, and no newer request (a redemption, a retry or another run's redo) since the
    round read it. False when it did not land."""
    now = timezone.now()
    if outcome.status == SiteStatus.PROVISIONED:
        changes = {"provisioned_site": plan.site, "site_row_manual": outcome.manual}
    else:
        changes = {}
    with transaction.atomic():
        landed = (
            Device.objects.filter(
                pk=plan.device_pk,
                site=plan.site,
                site_status=SiteStatus.PENDING,
                site_retry_at=plan.stamp,
            ).update(
                site_status=outcome.status,
                site_error=outcome.reason[:500],
                site_retry_at=None,
                updated=now,
                **changes,
            )
            > 0
        )
        if landed and outcome.status != SiteStatus.PROVISIONED:
            event_log(
                customer=plan.customer,
                user=None,
                type=EventType.SITE_PROVISIONING_FAILED,
                severity=Severity.WARNING,
                info=outcome.reason,
                data={"device": plan.device_id, "site": plan.site.name},
            )
    return landed


def _site_redo(plan: _SitePlan) -> bool:
    """This round changed a server, but the device now wants another site: the run for that
    site may have called the server before this round did. Mark the device pending again
    (a new stamp, so an outcome in flight does not land) for another round. False when the
    device still wants this round's site, or wants nothing a round can do."""
    now = timezone.now()
    return (
        Device.objects.filter(
            pk=plan.device_pk,
            site__isnull=False,
            site_status__in=[SiteStatus.PENDING, SiteStatus.PROVISIONED],
        )
        .exclude(site=plan.site)
        .update(
            site_status=SiteStatus.PENDING,
            site_retry_at=now + PENDING_RETRY_AFTER,
            updated=now,
        )
        > 0
    )


def _remove_our_row(client: PttClient, device_id: str) -> None:
    # An administrator may have entered the device by hand since we provisioned it;
    # such a row is theirs and stays.
    remote = client.get_device(device_id)
    if remote is not None and not remote.manual:
        client.delete_device(device_id)


def site_provisioning_retry_due(*, device_pk: int, countdown: float) -> None:
    """The task retries a pending device in `countdown` seconds: the retry sweep leaves it
    alone until that attempt is PENDING_RETRY_AFTER overdue."""
    due = timezone.now() + timedelta(seconds=countdown) + PENDING_RETRY_AFTER
    Device.objects.filter(pk=device_pk, site_status=SiteStatus.PENDING).update(site_retry_at=due)


def site_provisioning_give_up(*, device_pk: int, reason: str) -> None:
    """The server stayed unreachable through every retry: the device stays pending (the
    retry sweep picks it up again PENDING_RETRY_AFTER from now) and the reason is shown on
    its row."""
    now = timezone.now()
    Device.objects.filter(pk=device_pk, site_status=SiteStatus.PENDING).update(
        site_error=f"PTT Pro unreachable, will retry: {reason}"[:500],
        site_retry_at=now + PENDING_RETRY_AFTER,
        updated=now,
    )


def pending_site_devices(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Pending devices whose task was lost: their next attempt (`site_retry_at`) is overdue,
    or, for rows from before that column, they have been pending PENDING_RETRY_AFTER.
    A device in back-off is not due until its retry is. The devices returned are stamped
    as queued again (due PENDING_RETRY_AFTER from now), so the caller queues each one and
    a concurrent sweep skips them (row locks, skip_locked)."""
    now = now or timezone.now()
    due = Q(site_retry_at__lte=now) | Q(
        site_retry_at__isnull=True, updated__lt=now - PENDING_RETRY_AFTER
    )
    with transaction.atomic():
        pks = list(
            Device.objects.select_for_update(skip_locked=True)
            .filter(due, site_status=SiteStatus.PENDING)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        Device.objects.filter(pk__in=pks).update(site_retry_at=now + PENDING_RETRY_AFTER)
    event_log(
        customer=None,
        user=None,
        type=EventType.SITE_PROVISIONING_RETRY,
        info=f"{len(pks)} pending device(s) queued again for site provisioning",
        data={"queued": len(pks)},
    )
    return pks


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
            type=EventType.SITE_SYNC,
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
        type=EventType.SITE_SYNC,
        info=f"{len(names)} site(s) synced from {customer.ptt_server}",
    )
    return len(names)


def inactive_site_devices_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Remove devices provisioned into a site that have not checked in for the configured
    period from the PTT Pro device table and from the site. Rows entered by hand are
    never touched. Safe to run twice at once: each removal is conditional.

    The final UPDATE checks inactivity again: a device that checks in (or redeems a
    token) while the sweep calls the server keeps its site. The server no longer has its
    row, so it goes back to pending with its next attempt due now, and the retry sweep
    provisions it again within its ten minutes ("kept" in the counts)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.SITE_INACTIVITY_DAYS)
    inactive = Q(last_checkin__lt=cutoff) | Q(last_checkin__isnull=True, updated__lt=cutoff)
    candidates = list(
        Device.objects.filter(
            site_status=SiteStatus.PROVISIONED,
            site_row_manual=False,
            provisioned_site__isnull=False,
        )
        .filter(inactive)
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
    cleared = (
        Device.objects.filter(pk__in=removed, site_status=SiteStatus.PROVISIONED)
        .filter(inactive)
        .update(
            site=None,
            provisioned_site=None,
            site_status=SiteStatus.NONE,
            site_error="",
            site_assigned_at=None,
            updated=now,
        )
    )
    # Still provisioned: it came back while we removed its row (see the docstring).
    kept = Device.objects.filter(pk__in=removed, site_status=SiteStatus.PROVISIONED).update(
        provisioned_site=None,
        site_status=SiteStatus.PENDING,
        site_retry_at=now,
        updated=now,
    )
    counts = {"candidates": len(candidates), "removed": cleared, "kept": kept, "failed": failed}
    event_log(
        customer=None,
        user=None,
        type=EventType.SITE_SWEEP,
        severity=Severity.WARNING if failed else Severity.INFO,
        info=(
            f"Inactive site devices: {cleared} removed, {failed} failed "
            f"(not checked in for {settings.SITE_INACTIVITY_DAYS} days)"
            + (f"; {kept} checked in meanwhile and will be provisioned again" if kept else "")
        ),
        data=counts,
    )
    return counts
