"""The license pool: handing licenses to devices without ever over-allocating, releasing
them, syncing entitlements from the back end and warning before they expire."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Count, F, Q, QuerySet, Sum, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import Customer, Role, User
from core.rawsql import db_datetime, insert_select, prepared_cursor
from devices.models import Device
from licensing.models import (
    ENTITLEMENT_USABLE_SQL,
    Assignment,
    Entitlement,
    EntitlementState,
    ExpiryNotice,
    LicenseType,
    license_type_for,
)
from reports.models import EventType, History, HistoryResult, Severity
from reports.services import event_log

logger = logging.getLogger(__name__)

NOTICE_STEPS = (30, 7, 1, 0)  # days before expiration; 0 is the day it expires


def short_app_version(version: str) -> str:
    """The guide shows only the last part of a Voice version: 9.0.20406 → 20406."""
    return (version or "").rsplit(".", 1)[-1][:16]


# --- Assignment ------------------------------------------------------------------------
# The device-facing flow (token, device, which license it holds) is
# gateway.services.licenses.license_request; the pool's side of it is here.


_KEEP_SQL = """
UPDATE {assignment} SET feature = %s, app_version = %s, last_contact = %s
WHERE id = %s AND released_at IS NULL
RETURNING id
"""
# PostgreSQL: the keep and the request's History row in one statement.
_KEEP_WITH_SQL = "WITH k AS ({keep}), h AS ({history_insert} FROM k) SELECT count(*) FROM k"


def license_keep(
    *,
    assignment_pk: int,
    feature: str,
    app_version: str,
    now: datetime,
    history: dict[str, Any] | None = None,
) -> bool:
    """A device asked again for the license it holds: record the contact, in one UPDATE.
    False when the assignment was released since the caller read it (the release job, the
    device obsoleted): the seat is back in the pool, so the device does not hold it and
    must get a license through license_take like any other.

    `history` (reports.services.history_values) is the request's History row, written
    only when the license is kept: on PostgreSQL in the same statement as the UPDATE,
    elsewhere in the same transaction."""
    sql = _KEEP_SQL.format(assignment=connection.ops.quote_name(Assignment._meta.db_table))
    params = [feature, short_app_version(app_version), _stamp(now), assignment_pk]
    if history is not None and connection.vendor == "postgresql":
        insert, insert_params = insert_select(History, history, {})
        with prepared_cursor() as cursor:
            cursor.execute(
                _KEEP_WITH_SQL.format(keep=sql, history_insert=insert), params + insert_params
            )
            return cursor.fetchone()[0] > 0
    # Elsewhere the refresh and its History row are two statements in one transaction.
    with transaction.atomic(), prepared_cursor() as cursor:
        cursor.execute(sql, params)
        kept = cursor.fetchone() is not None
        if kept and history is not None:
            History.objects.create(**history)
    return kept


def license_take(
    *,
    customer_id: int,
    device_pk: int,
    device_id: str,
    feature: str,
    now: datetime,
    app_version: str = "",
    replacing_pk: int | None = None,
    history: dict[str, Any] | None = None,
) -> Entitlement | None:
    """Give the device a license for `feature` from the entitlement with room left and the
    farthest expiration; None (and a NO_LICENSE_AVAILABLE Event) when the pool is empty.
    `replacing_pk` is a license of the type the device holds that is no longer valid
    (its entitlement expired or went away); it is released in the same transaction.

    Never over-allocates: each entitlement counts its live licenses in `used`, and a seat
    is taken with one conditional UPDATE (`used < total`) in the same transaction as the
    assignment insert (_seat_take): O(1) whatever the number of assigned seats, and two
    requests for the last seat are serialised by the row lock of that UPDATE. The partial
    unique constraint keeps one live license per device and type.

    `history` (reports.services.history_values, result OK) is the request's History row:
    written with result OK when a license is handed out (on PostgreSQL in the statement
    that takes the seat, so a new license is one statement), or NO_LICENSE when none is
    left."""
    license_type = license_type_for(feature)
    assignment = {
        "customer_id": customer_id,
        "device_id": device_pk,
        "license_type": license_type,
        "feature": feature,
        "app_version": short_app_version(app_version),
        "last_contact": now,
    }
    one_statement = connection.vendor == "postgresql"

    def take() -> Entitlement | None:
        if replacing_pk is not None:
            licenses_release(Assignment.objects.filter(pk=replacing_pk), now=now)
        if one_statement:
            inserts = [insert_select(Assignment, assignment, {"entitlement_id": "s.id"})]
            if history is not None:
                inserts.append(insert_select(History, history, {}))
            return _seat_take(
                customer_id=customer_id, license_type=license_type, now=now, inserts=inserts
            )
        chosen = _seat_take(customer_id=customer_id, license_type=license_type, now=now)
        if chosen is not None:
            Assignment.objects.create(entitlement=chosen, **assignment)
            if history is not None:
                History.objects.create(**history)
        return chosen

    try:
        if one_statement and replacing_pk is None and not connection.in_atomic_block:
            chosen = take()  # one statement: atomic on its own
        else:
            # Inside a caller's transaction, a savepoint keeps a lost race from aborting it.
            with transaction.atomic():
                chosen = take()
    except IntegrityError:
        # The same device asked twice at once and the other request won: use its license
        # (this request's seat and rows were rolled back).
        chosen = Entitlement.objects.filter(
            assignments__device_id=device_pk,
            assignments__license_type=license_type,
            assignments__released_at__isnull=True,
        ).first()
        if chosen is None:
            raise
        if history is not None:
            History.objects.create(**history)
    if chosen is None:
        event_log(
            customer=Customer.objects.get(pk=customer_id),
            user=None,
            type=EventType.NO_LICENSE_AVAILABLE,
            severity=Severity.WARNING,
            info=f"No {license_type} license left for device {device_id} ({feature})",
            data={"device": device_id, "feature": feature, "licenseType": license_type},
        )
        if history is not None:
            History.objects.create(**{**history, "result": HistoryResult.NO_LICENSE})
    return chosen


_SEAT_TAKE_SQL = """
UPDATE {entitlement} SET used = used + 1
WHERE used < total AND id = (
    SELECT id FROM {entitlement}
    WHERE customer_id = %s AND license_type = %s AND {usable} AND used < total
    ORDER BY expiration DESC, id
    LIMIT 1
)
RETURNING id, expiration, activation_id
"""
_SEAT_WITH_SQL = "WITH s AS ({seat}){inserts} SELECT id, expiration, activation_id FROM s"
# A request that finds its chosen line taken to the last seat by a concurrent one (it
# waited on the row lock and the condition no longer held) looks again; a handful of tries
# is plenty, as each failure means another request was served.
_SEAT_TRIES = 5


def _seat_take(
    *,
    customer_id: int,
    license_type: str,
    now: datetime,
    inserts: list[tuple[str, list[Any]]] = (),
) -> Entitlement | None:
    """Take a seat of the customer's usable line of the type with room left and the
    farthest expiration: one UPDATE … RETURNING. Must run inside a transaction unless it
    is the only statement. `inserts` (insert_select's, PostgreSQL only) are rows written
    in the same statement when a seat is taken, which they read as `s`."""
    table = connection.ops.quote_name(Entitlement._meta.db_table)
    sql = _SEAT_TAKE_SQL.format(entitlement=table, usable=ENTITLEMENT_USABLE_SQL.format(e=table))
    params = [customer_id, license_type, EntitlementState.ACTIVE, _stamp(now)]
    if inserts:
        sql = _SEAT_WITH_SQL.format(
            seat=sql,
            inserts="".join(
                f", i{n} AS ({insert} FROM s)" for n, (insert, _) in enumerate(inserts)
            ),
        )
        params += [value for _, insert_params in inserts for value in insert_params]
    for _attempt in range(_SEAT_TRIES):
        with prepared_cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is not None:
            pk, expiration, activation_id = row
            return Entitlement(
                pk=pk, expiration=db_datetime(expiration), activation_id=activation_id
            )
        if (
            not Entitlement.objects.usable(now)
            .filter(customer_id=customer_id, license_type=license_type, used__lt=F("total"))
            .exists()
        ):
            return None
    return None


def _stamp(now: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(now)


# --- Release rules ---------------------------------------------------------------------


def licenses_release(assignments: QuerySet, *, now: datetime) -> int:
    """Release the live licenses among `assignments` and give their seats back to their
    lines' `used` counters. The rows are locked first, so two releases of one license at
    once count it once. Three statements whatever the number of licenses."""
    with transaction.atomic():
        rows = list(
            assignments.filter(released_at__isnull=True)
            .select_for_update(of=("self",))
            .values_list("pk", "entitlement_id")
        )
        if not rows:
            return 0
        Assignment.objects.filter(pk__in=[pk for pk, _ in rows]).update(released_at=now)
        per_line = Counter(line for _, line in rows)
        Entitlement.objects.filter(pk__in=per_line).update(
            used=Case(*(When(pk=line, then=F("used") - n) for line, n in per_line.items()))
        )
    return len(rows)


def device_licenses_release(*, device: Device, user: User | None) -> int:
    """Return every license a device holds to the pool (the device was obsoleted), with
    an Event of the licenses area when there were any: only roles that may view licenses
    read what a device held."""
    released = licenses_release(Assignment.objects.filter(device=device), now=timezone.now())
    if released:
        event_log(
            customer=device.customer,
            user=user,
            type=EventType.DEVICE_LICENSES_RELEASED,
            info=f"{released} license(s) of device {device.device_id} returned to the pool",
            data={"deviceId": device.device_id, "released": released},
        )
    return released


def standard_licenses_release(*, now: datetime | None = None) -> int:
    """Release Standard licenses of devices silent for the release interval. Premium
    licenses are never released automatically. Set-based (licenses_release); safe to run
    twice at once."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.LICENSE_RELEASE_DAYS)
    released = licenses_release(
        Assignment.objects.filter(
            released_at__isnull=True, license_type=LicenseType.STANDARD, last_contact__lt=cutoff
        ).filter(Q(device__last_checkin__lt=cutoff) | Q(device__last_checkin__isnull=True)),
        now=now,
    )
    event_log(
        customer=None,
        user=None,
        type=EventType.LICENSE_RELEASE,
        info=(
            f"{released} Standard license(s) released from devices silent for "
            f"{settings.LICENSE_RELEASE_DAYS} days"
        ),
        data={"released": released},
    )
    return released


# --- Expiration ------------------------------------------------------------------------


def entitlements_expire(*, now: datetime | None = None) -> dict[str, int]:
    """Mark entitlements past their expiration Expired, and warn each customer 30, 7 and
    1 days before and on the day, once per entitlement and step."""
    now = now or timezone.now()
    expired = Entitlement.objects.filter(state=EntitlementState.ACTIVE, expiration__lte=now).update(
        state=EntitlementState.EXPIRED, updated=now
    )
    due = (
        Entitlement.objects.filter(
            expiration__lte=now + timedelta(days=max(NOTICE_STEPS)),
            # A line that expired long before we knew of it gets no belated notice.
            expiration__gt=now - timedelta(days=7),
        )
        .select_related("customer")
        .prefetch_related("notices")
        .order_by("pk")
    )
    sent = 0
    for entitlement in due:
        days_left = (entitlement.expiration - now) / timedelta(days=1)
        steps = {step for step in NOTICE_STEPS if days_left <= step}
        steps -= {notice.days_before for notice in entitlement.notices.all()}
        if steps and _notice_send(entitlement, steps, now):
            sent += 1
    event_log(
        customer=None,
        user=None,
        type=EventType.LICENSE_EXPIRY,
        info=f"{expired} entitlement(s) expired, {sent} expiry notice(s) sent",
        data={"expired": expired, "notices": sent},
    )
    return {"expired": expired, "notices": sent}


def expiry_phrase(expiration: datetime, now: datetime) -> str:
    """How long is left, in the words of a notice: "expire on 2026-12-19, in 20 days",
    "expire on 2026-12-01, tomorrow", "expire today at 17:30", "expired on 2026-11-28"."""
    date = f"{timezone.localtime(expiration):%Y-%m-%d}"
    days = (timezone.localdate(expiration) - timezone.localdate(now)).days
    if expiration <= now:
        return "expired today" if days == 0 else f"expired on {date}"
    if days == 0:
        return f"expire today at {timezone.localtime(expiration):%H:%M}"
    if days == 1:
        return f"expire on {date}, tomorrow"
    return f"expire on {date}, in {days} days"


def _notice_send(entitlement: Entitlement, steps: set[int], now: datetime) -> bool:
    """One notice for the most urgent step; the steps it covers are recorded so none is
    sent later. Recording and sending share a transaction: a failed send is retried by
    the next run, and a concurrent run finds the step taken."""
    step = min(steps)
    try:
        with transaction.atomic():
            ExpiryNotice.objects.create(entitlement=entitlement, days_before=step)
            ExpiryNotice.objects.bulk_create(
                [ExpiryNotice(entitlement=entitlement, days_before=s) for s in steps - {step}],
                ignore_conflicts=True,
            )
            when = expiry_phrase(entitlement.expiration, now)
            subject = (
                f"{entitlement.get_license_type_display()} licenses "
                f"{entitlement.masked_activation_id} {when}"
            )
            recipients = _notice_recipients(entitlement.customer)
            if recipients:
                send_mail(
                    subject=f"Provisioning Manager: {subject}",
                    message=(
                        f"{entitlement.total} {entitlement.get_license_type_display()} "
                        f"license(s) of {entitlement.customer.name} "
                        f"({entitlement.term or 'no term'}, activation ID "
                        f"{entitlement.masked_activation_id}) {when}.\n\n"
                        "Devices holding them will need new licenses; renew the "
                        "entitlement to keep them working."
                    ),
                    from_email=None,
                    recipient_list=recipients,
                )
            event_log(
                customer=entitlement.customer,
                user=None,
                type=EventType.LICENSE_EXPIRY_NOTICE,
                severity=Severity.WARNING,
                info=subject,
                data={"activationId": entitlement.masked_activation_id, "daysBefore": step},
            )
    except IntegrityError:
        return False  # another run sent it
    return True


def _notice_recipients(customer: Customer) -> list[str]:
    admins = User.objects.filter(customer=customer, role=Role.SUPER_ADMIN, is_active=True).exclude(
        email=""
    )
    emails = {customer.contact_email} | set(admins.values_list("email", flat=True))
    return sorted(email for email in emails if email)


# --- The dashboard's license rollup ------------------------------------------------------
# reports owns the rollup table (reports.rollups); the numbers come from here, the owner
# of entitlements and assignments. Per customer, day and type: used = live assignments
# at the end of the day (now, for today); total = seats of entitlements usable then.


def _usable_until(entitlement: dict) -> datetime:
    """When a line stopped (or will stop) counting toward the total. A line the back end
    stopped reporting, or the daily job marked expired, stopped when that was recorded
    (`updated`), if before its expiration."""
    if entitlement["state"] == EntitlementState.ACTIVE:
        return entitlement["expiration"]
    return min(entitlement["expiration"], entitlement["updated"])


def license_snapshot(*, now: datetime | None = None) -> int:
    """Today's license numbers of every customer that has a pool, into the dashboard's
    rollup (the job every 15 minutes). Three aggregate queries and one upsert, whatever
    the number of customers; idempotent. Writes an Event; returns the rows written."""
    # reports.rollups sits below licensing; it stores what licensing computes.
    from reports.rollups import LicenseDay, license_rollup_store

    now = now or timezone.now()
    customers = Entitlement.objects.order_by().values_list("customer_id", flat=True).distinct()
    used = (
        Assignment.objects.filter(released_at__isnull=True)
        .order_by()
        .values_list("customer_id", "license_type")
        .annotate(n=Count("pk"))
    )
    totals = (
        Entitlement.objects.usable(now)
        .order_by()
        .values_list("customer_id", "license_type")
        .annotate(n=Sum("total"))
    )
    numbers: dict[int, dict[str, int]] = {customer_id: {} for customer_id in customers}
    for suffix, rows in (("used", used), ("total", totals)):
        for customer_id, license_type, n in rows:
            numbers.setdefault(customer_id, {})[f"{license_type}_{suffix}"] = n
    today = timezone.localdate(now)
    written = license_rollup_store(
        days=[LicenseDay(customer_id=c, day=today, **n) for c, n in numbers.items()], now=now
    )
    event_log(
        customer=None,
        user=None,
        type=EventType.ROLLUP_LICENSES,
        info=f"License numbers of {written} customer(s) recorded for {today}",
        data={"customers": written, "day": today.isoformat()},
    )
    return written


def license_rollups_rebuild(
    *, first: date, last: date, customer: Customer | None = None, now: datetime | None = None
) -> int:
    """Recompute the license rollup of days `first` to `last` (of one customer, or all)
    from the rows kept: assignments' `created` and `released_at`, entitlements'
    `created`, `expiration`, `state` and `updated`. Returns the rows written.

    Exact for seats used, as long as the assignments are kept (a deleted device takes its
    assignments along). Approximate for totals: an entitlement's quantity is not
    versioned, so a past day counts today's quantity, and a line the back end stopped
    reporting stops counting when the sync recorded that. Days before the customer's
    first entitlement get no row."""
    from reports.rollups import LicenseDay, day_start, license_rollup_store

    now = now or timezone.now()
    today = timezone.localdate(now)
    last = min(last, today)
    if first > last:
        return 0
    entitlements = Entitlement.objects.order_by().values(
        "customer_id", "license_type", "total", "created", "expiration", "state", "updated"
    )
    assignments = Assignment.objects.order_by()
    if customer is not None:
        entitlements = entitlements.filter(customer=customer)
        assignments = assignments.filter(customer=customer)
    by_customer: dict[int, list[dict]] = {}
    for entitlement in entitlements:
        by_customer.setdefault(entitlement["customer_id"], []).append(entitlement)
    if not by_customer:
        return 0
    # Seats used at the end of day D = assignments made by then - those released by then:
    # a count per customer, type and day of each, summed up to D (two queries).
    tz = timezone.get_default_timezone()
    changes: dict[tuple[int, str], dict[date, int]] = {}
    for column, sign in (("created", 1), ("released_at", -1)):
        rows = (
            assignments.filter(**{f"{column}__lt": now})
            .annotate(day=TruncDate(column, tzinfo=tz))
            .values_list("customer_id", "license_type", "day")
            .annotate(n=Count("pk"))
        )
        for customer_id, license_type, day, n in rows:
            per_day = changes.setdefault((customer_id, license_type), {})
            per_day[day] = per_day.get(day, 0) + sign * n

    days = []
    for customer_id, lines in by_customer.items():
        start = max(first, min(timezone.localdate(e["created"]) for e in lines))
        used = {
            license_type: sum(n for day, n in per_day.items() if day < start)
            for (c, license_type), per_day in changes.items()
            if c == customer_id
        }
        day = start
        while day <= last:
            moment = now if day == today else day_start(day + timedelta(days=1))
            numbers = {}
            for license_type in LicenseType.values:
                per_day = changes.get((customer_id, license_type), {})
                used[license_type] = used.get(license_type, 0) + per_day.get(day, 0)
                numbers[f"{license_type}_used"] = used[license_type]
                numbers[f"{license_type}_total"] = sum(
                    e["total"]
                    for e in lines
                    if e["license_type"] == license_type
                    and e["created"] <= moment < _usable_until(e)
                )
            days.append(LicenseDay(customer_id=customer_id, day=day, **numbers))
            day += timedelta(days=1)
    return license_rollup_store(days=days, now=now)


def rollups_rebuild(*, first: date, last: date, customer: Customer | None = None) -> dict:
    """Recompute both of the dashboard's rollups for days `first` to `last` from the raw
    rows (History; the pool's assignments and entitlements), then count History rows newer
    than the watermark. Safe while the jobs run. Writes an Event."""
    from reports.rollups import token_rollup_rebuild, token_rollup_update

    if first > last:
        raise ValueError("first must not be after last")
    tokens = token_rollup_rebuild(first=first, last=last, customer=customer)
    licenses = license_rollups_rebuild(first=first, last=last, customer=customer)
    caught_up = token_rollup_update()
    counts = {
        "tokenRows": tokens,
        "licenseRows": licenses,
        "newRequests": caught_up["requests"],
    }
    who = customer.name if customer is not None else "every customer"
    event_log(
        customer=customer,
        user=None,
        type=EventType.ROLLUP_REBUILD,
        info=(
            f"Dashboard rollups of {who} rebuilt for {first} to {last}: {tokens} token "
            f"row(s), {licenses} license row(s)"
        ),
        data={"from": first.isoformat(), "to": last.isoformat(), **counts},
    )
    return counts
