"""The dashboard's rollups equal the raw rows: token requests counted from History by the
job every minute (incrementally, in batches, by concurrent runs) or rebuilt; license
numbers from the pool's assignments and entitlements, live and rebuilt."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from devices.models import Device
from licensing.models import Assignment, Entitlement, EntitlementState, LicenseType
from licensing.services import license_rollups_rebuild, license_snapshot, rollups_rebuild
from reports import rollups
from reports.models import (
    AppId,
    Event,
    History,
    HistoryAction,
    LicenseRollup,
    RollupWatermark,
    TokenRequestRollup,
)
from tests.devices.factories import HistoryFactory
from tests.factories import CustomerFactory

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL"
)


def at(days_ago: int, hour: int = 12) -> datetime:
    """Noon (or `hour`) of a local day `days_ago` days back."""
    day = timezone.localdate() - timedelta(days=days_ago)
    return rollups.day_start(day) + timedelta(hours=hour)


def history(customer, *, when: datetime, app: str = AppId.VOICE, n: int = 1, **fields):
    """`n` History rows written at `when` (created is set on insert, so it is moved after)."""
    rows = HistoryFactory.create_batch(n, customer=customer, app_id=app, **fields)
    History.objects.filter(pk__in=[r.pk for r in rows]).update(created=when)
    return rows


def raw_counts() -> Counter:
    """What the token rollup must hold, counted the slow way from History."""
    counts = Counter()
    for row in History.objects.filter(action=HistoryAction.TOKEN, customer__isnull=False):
        app = row.app_id if row.app_id in AppId.values else ""
        counts[(row.customer_id, timezone.localdate(row.created), app)] += 1
    return counts


def rollup_counts() -> Counter:
    return Counter(
        {
            (r.customer_id, r.day, r.app_id): r.requests
            for r in TokenRequestRollup.objects.all()
            if r.requests
        }
    )


def later() -> datetime:
    """A moment when every row written so far has settled."""
    return timezone.now() + rollups.SETTLE + timedelta(seconds=1)


@pytest.fixture
def traffic(customer, other_customer):
    """Requests of two customers over three days: every app, an unknown app, a refusal,
    other actions, and a request with an unknown token (no customer)."""
    history(customer, when=at(2), app=AppId.VOICE, n=3)
    history(customer, when=at(2, hour=23), app=AppId.PTT_PRO, n=2)
    history(customer, when=at(1), app=AppId.PTT_PRO_IOS)
    history(customer, when=at(1), app="WFC_SOMETHING_NEW", n=2)
    history(customer, when=at(1), app="", result="UNKNOWN_DEVICE")
    history(customer, when=at(0, hour=0), app=AppId.PROFILE_CLIENT)
    history(customer, when=at(1), action=HistoryAction.LICENSE, n=4)
    history(customer, when=at(1), action=HistoryAction.CHECKIN)
    history(other_customer, when=at(1), app=AppId.CENTRAL_SERVICE, n=5)
    history(None, when=at(1), app=AppId.VOICE, result="UNKNOWN_TOKEN")


# --- Token requests: incremental ----------------------------------------------------------


def test_the_job_counts_every_token_request_once(traffic, customer):
    counts = rollups.token_rollup_update(now=later())
    assert rollup_counts() == raw_counts()
    assert counts["requests"] == 15 and counts["batches"] == 1 and counts["busy"] == 0
    day = timezone.localdate() - timedelta(days=1)
    assert TokenRequestRollup.objects.get(customer=customer, day=day, app_id="").requests == 3
    event = Event.objects.get(type="ROLLUP_TOKENS")
    assert event.customer is None and event.data["requests"] == 15

    # New rows are added to the existing counts; a run with nothing new changes nothing.
    history(customer, when=timezone.now() - timedelta(minutes=5), app=AppId.VOICE, n=2)
    history(customer, when=at(1), app=AppId.PTT_PRO_IOS)
    assert rollups.token_rollup_update(now=later())["requests"] == 3
    assert rollups.token_rollup_update(now=later())["batches"] == 0
    assert rollup_counts() == raw_counts()
    assert Event.objects.filter(type="ROLLUP_TOKENS").count() == 2


def test_rows_wait_until_they_have_settled(customer):
    history(customer, when=timezone.now(), n=2)
    assert rollups.token_rollup_update()["requests"] == 0
    assert not TokenRequestRollup.objects.exists()
    assert rollups.token_rollup_update(now=later())["requests"] == 2
    assert rollup_counts() == raw_counts()


def test_batches_cover_every_row_however_the_ids_fall(traffic):
    counts = rollups.token_rollup_update(now=later(), batch_ids=2)
    assert counts["batches"] > 5
    assert rollup_counts() == raw_counts()
    assert RollupWatermark.objects.get().last_id == History.objects.order_by("-pk")[0].pk


def test_the_job_is_one_aggregate_and_one_upsert_per_batch(traffic):
    RollupWatermark.objects.create(name=rollups.TOKEN_WATERMARK)
    with CaptureQueriesContext(connection) as captured:
        rollups.token_rollup_update(now=later())
    # The watermark row (get_or_create); a batch: lock it, the settled bound, the
    # aggregate, the upsert, move it; a round that finds nothing new: lock, bound, its
    # time; the Event. (The test's own transaction adds savepoints around each round.)
    sql = [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(sql) == 10, sql
    assert sum("COUNT(" in q for q in sql) == 1
    assert sum("ON CONFLICT" in q for q in sql) == 1


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_never_count_a_row_twice(customer, other_customer):
    for days in range(5):
        history(customer, when=at(days), app=AppId.VOICE, n=20)
        history(other_customer, when=at(days), app="odd-app", n=10)
    start = threading.Barrier(4)
    results = []

    def run():
        try:
            start.wait()
            results.append(rollups.token_rollup_update(now=later(), batch_ids=7))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Whichever runs got the lock, the rows were counted once; the others stood aside.
    rollups.token_rollup_update(now=later())
    assert rollup_counts() == raw_counts()
    assert sum(r["requests"] for r in results) == 150


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_run_finding_the_watermark_locked_leaves_the_work_to_the_holder(customer):
    history(customer, when=at(1), n=3)
    RollupWatermark.objects.create(name=rollups.TOKEN_WATERMARK)
    holding, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                RollupWatermark.objects.select_for_update().get()
                holding.set()
                release.wait(10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    try:
        assert rollups.token_rollup_update(now=later())["busy"] == 1
        assert not TokenRequestRollup.objects.exists()
    finally:
        release.set()
        holder.join()
    assert rollups.token_rollup_update(now=later())["requests"] == 3


# --- Token requests: rebuild ------------------------------------------------------------


def test_rebuild_recomputes_a_range_from_history(traffic, customer, other_customer):
    rollups.token_rollup_update(now=later())
    today = timezone.localdate()
    # Damage every kind of row: a wrong count, a missing row, a row with no History.
    TokenRequestRollup.objects.filter(customer=customer, app_id=AppId.VOICE).update(requests=99)
    TokenRequestRollup.objects.filter(customer=customer, app_id=AppId.PTT_PRO).delete()
    TokenRequestRollup.objects.create(
        customer=customer, day=today - timedelta(days=1), app_id=AppId.PTT_PRO, requests=7
    )
    # Outside the range: left alone.
    TokenRequestRollup.objects.create(
        customer=customer, day=today - timedelta(days=30), app_id=AppId.VOICE, requests=5
    )
    written = rollups.token_rollup_rebuild(first=today - timedelta(days=3), last=today)
    assert written == 6
    expected = raw_counts()
    expected[(customer.pk, today - timedelta(days=30), AppId.VOICE)] = 5
    assert rollup_counts() == expected


def test_rebuild_of_one_customer_leaves_the_others(traffic, customer, other_customer):
    rollups.token_rollup_update(now=later())
    TokenRequestRollup.objects.update(requests=42)
    today = timezone.localdate()
    rollups.token_rollup_rebuild(first=today - timedelta(days=5), last=today, customer=customer)
    counts = rollup_counts()
    assert {k: v for k, v in counts.items() if k[0] == customer.pk} == {
        k: v for k, v in raw_counts().items() if k[0] == customer.pk
    }
    assert all(v == 42 for k, v in counts.items() if k[0] == other_customer.pk)


def test_rebuild_leaves_rows_above_the_watermark_to_the_job(traffic, customer):
    rollups.token_rollup_update(now=later())
    history(customer, when=at(1), app=AppId.VOICE, n=4)  # not yet counted by the job
    today = timezone.localdate()
    rollups.token_rollup_rebuild(first=today - timedelta(days=3), last=today)
    assert sum(rollup_counts().values()) == sum(raw_counts().values()) - 4
    rollups.token_rollup_update(now=later())
    assert rollup_counts() == raw_counts()


def test_rebuild_keeps_the_counts_of_days_whose_history_was_deleted(traffic, customer, settings):
    rollups.token_rollup_update(now=later())
    settings.HISTORY_RETENTION_DAYS = 2  # the rows of 2 days ago may be partly deleted
    History.objects.filter(created__lt=timezone.now() - timedelta(days=2)).delete()
    today = timezone.localdate()
    rollups.token_rollup_rebuild(first=today - timedelta(days=10), last=today)
    voice = TokenRequestRollup.objects.get(customer=customer, app_id=AppId.VOICE)
    assert voice.day == today - timedelta(days=2) and voice.requests == 3


def test_rebuild_of_everything_on_a_fresh_rollup_catches_up(traffic):
    today = timezone.localdate()
    counts = rollups_rebuild(first=today - timedelta(days=10), last=today)
    # Nothing was under the watermark yet: the catch-up run counted it all.
    assert counts["newRequests"] == 15
    assert rollup_counts() == raw_counts()
    assert Event.objects.filter(type="ROLLUP_REBUILD").exists()


# --- The command ------------------------------------------------------------------------


def test_rebuild_command(traffic, customer, capsys):
    today = timezone.localdate()
    call_command(
        "rebuild_rollups",
        "--customer",
        "acme",
        "--from",
        f"{today - timedelta(days=7):%Y-%m-%d}",
        "--to",
        f"{today + timedelta(days=3):%Y-%m-%d}",
    )
    assert f"to {today}:" in capsys.readouterr().out
    assert {k: v for k, v in rollup_counts().items() if k[0] == customer.pk} == {
        k: v for k, v in raw_counts().items() if k[0] == customer.pk
    }


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--from", "2026-02-30", "--to", "2026-03-01"], "--from: expected a date as YYYY-MM-DD"),
        (["--from", "2026-03-01", "--to", "20260302"], "--to: expected a date as YYYY-MM-DD"),
        (["--from", "2026-03-05", "--to", "2026-03-01"], "--from: 2026-03-05 is after --to"),
        (["--from", "2999-01-01", "--to", "2999-01-02"], "--from: 2999-01-01 is in the future"),
        (
            ["--customer", "nobody", "--from", "2026-03-01", "--to", "2026-03-02"],
            "--customer: no customer with slug 'nobody'",
        ),
    ],
)
def test_rebuild_command_names_the_bad_option(db, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("rebuild_rollups", *arguments)


# --- Licenses -----------------------------------------------------------------------------


def entitlement(customer, *, license_type=LicenseType.STANDARD, total=10, created=None, **fields):
    fields.setdefault("expiration", timezone.now() + timedelta(days=365))
    line = Entitlement.objects.create(
        customer=customer,
        activation_id=f"aid-{Entitlement.objects.count():04}-{customer.slug}",
        license_type=license_type,
        total=total,
        **fields,
    )
    if created is not None:
        Entitlement.objects.filter(pk=line.pk).update(created=created)
        line.refresh_from_db()
    return line


def assign(line, *, created=None, released_at=None, device_id=None) -> Assignment:
    device = Device.objects.create(
        customer=line.customer, device_id=device_id or f"TC52_{Device.objects.count():05}"
    )
    assignment = Assignment.objects.create(
        customer=line.customer,
        entitlement=line,
        device=device,
        license_type=line.license_type,
        feature="CUCM Premium" if line.license_type == LicenseType.PREMIUM else "CUCM",
        last_contact=timezone.now(),
        released_at=released_at,
    )
    if created is not None:
        Assignment.objects.filter(pk=assignment.pk).update(created=created)
    return assignment


def numbers(customer, day: date) -> tuple[int, int, int, int]:
    row = LicenseRollup.objects.get(customer=customer, day=day)
    return (row.premium_used, row.premium_total, row.standard_used, row.standard_total)


def test_the_snapshot_records_todays_pool(customer, other_customer):
    premium = entitlement(customer, license_type=LicenseType.PREMIUM, total=5)
    standard = entitlement(customer, total=20)
    entitlement(customer, total=10)
    # Not usable: expired, or no longer reported by the back end.
    entitlement(customer, total=100, expiration=timezone.now() - timedelta(days=1))
    entitlement(customer, total=50, state=EntitlementState.EXPIRED)
    assign(premium)
    for _ in range(3):
        assign(standard)
    assign(standard, released_at=timezone.now())
    CustomerFactory(slug="no-pool")  # no entitlements: no row

    assert license_snapshot() == 1
    assert numbers(customer, timezone.localdate()) == (1, 5, 3, 30)
    assert not LicenseRollup.objects.filter(customer=other_customer).exists()
    event = Event.objects.get(type="ROLLUP_LICENSES")
    assert event.data["customers"] == 1

    # Idempotent: the same row, brought up to date.
    assign(premium)
    license_snapshot()
    assert numbers(customer, timezone.localdate()) == (2, 5, 3, 30)
    assert LicenseRollup.objects.count() == 1


def test_rebuild_recomputes_past_days_from_assignments_and_entitlements(customer):
    today = timezone.localdate()
    standard = entitlement(customer, total=20, created=at(10))
    premium = entitlement(
        customer, license_type=LicenseType.PREMIUM, total=5, created=at(6), expiration=at(2)
    )
    # Dropped by the back end 4 days ago: counts until then.
    entitlement(customer, total=8, created=at(8), state=EntitlementState.EXPIRED, updated=at(4))
    Entitlement.objects.filter(total=8).update(updated=at(4))
    assign(standard, created=at(9))
    assign(standard, created=at(7), released_at=at(3))
    assign(premium, created=at(5))
    assign(premium, created=at(5), released_at=at(5, hour=18))

    written = license_rollups_rebuild(first=today - timedelta(days=12), last=today)
    # From the first entitlement's day (10 days ago) to today.
    assert written == 11
    assert not LicenseRollup.objects.filter(day__lt=today - timedelta(days=10)).exists()
    day = lambda n: today - timedelta(days=n)  # noqa: E731
    assert numbers(customer, day(10)) == (0, 0, 0, 20)
    assert numbers(customer, day(9)) == (0, 0, 1, 20)
    assert numbers(customer, day(8)) == (0, 0, 1, 28)
    assert numbers(customer, day(7)) == (0, 0, 2, 28)
    assert numbers(customer, day(6)) == (0, 5, 2, 28)
    assert numbers(customer, day(5)) == (1, 5, 2, 28)
    # The dropped line stopped counting at noon four days ago.
    assert numbers(customer, day(4)) == (1, 5, 2, 20)
    assert numbers(customer, day(3)) == (1, 5, 1, 20)
    # The Premium line expired at noon two days ago; its license is still held.
    assert numbers(customer, day(2)) == (1, 0, 1, 20)
    assert numbers(customer, day(0)) == (1, 0, 1, 20)

    # Today's row of a rebuild is the live snapshot's.
    live = numbers(customer, today)
    license_snapshot()
    assert numbers(customer, today) == live


def test_rebuild_reaches_licensing_through_the_signal(customer):
    entitlement(customer, total=7, created=at(2))
    today = timezone.localdate()
    counts = rollups_rebuild(first=today - timedelta(days=1), last=today)
    assert counts["licenseRows"] == 2
    assert numbers(customer, today - timedelta(days=1)) == (0, 0, 0, 7)


def test_license_rebuild_of_one_customer(customer, other_customer):
    entitlement(customer, total=3, created=at(1))
    entitlement(other_customer, total=4, created=at(1))
    today = timezone.localdate()
    license_rollups_rebuild(first=today, last=today, customer=customer)
    assert list(LicenseRollup.objects.values_list("customer__slug", flat=True)) == ["acme"]


# --- The days a graph covers ------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "first", "last"),
    [
        ({}, date(2026, 2, 16), date(2026, 3, 15)),
        ({"range_key": "1m"}, date(2026, 2, 16), date(2026, 3, 15)),
        ({"range_key": "3m"}, date(2025, 12, 16), date(2026, 3, 15)),
        ({"range_key": "6m"}, date(2025, 9, 16), date(2026, 3, 15)),
        ({"last": date(2026, 3, 31)}, date(2026, 3, 1), date(2026, 3, 31)),
        ({"range_key": "3m", "last": date(2026, 5, 31)}, date(2026, 3, 1), date(2026, 5, 31)),
        ({"first": date(2026, 1, 1)}, date(2026, 1, 1), date(2026, 3, 15)),
        ({"first": date(2026, 1, 1), "range_key": "6m"}, date(2026, 1, 1), date(2026, 3, 15)),
        ({"first": date(2026, 3, 1), "last": date(2026, 1, 1)}, date(2026, 1, 1), date(2026, 3, 1)),
        ({"first": date(2020, 1, 1)}, date(2025, 2, 9), date(2026, 3, 15)),
        ({"last": date(1, 1, 15), "range_key": "6m"}, date(1, 1, 1), date(1, 1, 15)),
    ],
)
def test_the_span_a_range_selects(query, first, last):
    span = rollups.dashboard_span(today=date(2026, 3, 15), **query)
    assert (span.first, span.last) == (first, last)
    assert len(span.days) <= rollups.MAX_DAYS
