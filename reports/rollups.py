"""The dashboard's daily rollups, and the numbers its graphs show.

Two small tables feed the two graphs; the dashboard never scans History on a page load.

- **Token requests** (`TokenRequestRollup`): History rows of action TOKEN per customer,
  local day and app. `token_rollup_update` (a job every minute) adds the History rows
  above a watermark (`RollupWatermark`), so the device endpoints do nothing extra for
  the dashboard. `token_rollup_rebuild` recomputes days from History.
- **Licenses** (`LicenseRollup`): seats used and seats purchased, by type, per customer
  and day. licensing owns the pool, so it computes the numbers (a job every 15 minutes
  for today, `licensing.services.rollups_rebuild` for past days) and stores them here
  through `license_rollup_store`.

`licensing.services.rollups_rebuild` (`manage.py rebuild_rollups`) recomputes any range
of days of both.
Days are local days in TIME_ZONE.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, CharField, Count, Max, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import Customer
from reports.models import (
    AppId,
    EventType,
    History,
    HistoryAction,
    LicenseRollup,
    RollupWatermark,
    TokenRequestRollup,
)
from reports.services import event_log

TOKEN_WATERMARK = "token_requests"
# History ids are handed out when a row is inserted, but a transaction can commit after
# one that took a later id. A run counts only up to the last row older than this, so a
# row is missed only if the transaction that wrote it stayed open longer than this (the
# device endpoints' transactions take milliseconds); a rebuild would count it.
SETTLE = timedelta(seconds=60)
# History ids per batch: one aggregate query and one upsert each, in one transaction.
BATCH_IDS = 50_000
# Rows per INSERT statement (SQLite takes at most 32766 parameters, old builds 999).
UPSERT_CHUNK = 200

# The dashboard's ranges, and the longest span one answer covers.
RANGE_MONTHS = {"1m": 1, "3m": 3, "6m": 6}
DEFAULT_RANGE = "1m"
MAX_DAYS = 400
# The series key of app values the product does not know (stored as app_id "").
OTHER_APP = "other"
LICENSE_SERIES = (
    ("premiumUsed", "Premium used", "premium_used"),
    ("premiumTotal", "Premium total", "premium_total"),
    ("standardUsed", "Standard used", "standard_used"),
    ("standardTotal", "Standard total", "standard_total"),
)


def day_start(day: date) -> datetime:
    """The first instant of a local day."""
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def _local_day(column: str) -> TruncDate:
    return TruncDate(column, tzinfo=timezone.get_default_timezone())


# --- Token requests --------------------------------------------------------------------


def _known_app() -> Case:
    """The app of a History row as the rollup keeps it: an AppId, or "" for the rest."""
    return Case(
        When(app_id__in=AppId.values, then="app_id"),
        default=Value(""),
        output_field=CharField(),
    )


def _token_counts(rows) -> list[tuple[int, date, str, int]]:
    """(customer id, day, app, requests) of the History rows `rows`, in one query."""
    return list(
        rows.filter(action=HistoryAction.TOKEN, customer__isnull=False)
        .order_by()
        .annotate(day=_local_day("created"), app=_known_app())
        .values_list("customer_id", "day", "app")
        .annotate(n=Count("pk"))
    )


def _token_rollup_add(counts: list[tuple[int, date, str, int]]) -> None:
    """Add counts to the rollup: one INSERT … ON CONFLICT DO UPDATE per chunk of rows
    (PostgreSQL and SQLite both speak it; the ORM's upsert can only replace a value)."""
    table = connection.ops.quote_name(TokenRequestRollup._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(counts), UPSERT_CHUNK):
            chunk = counts[start : start + UPSERT_CHUNK]
            # Only the model's own table name and placeholders go into the text.
            values = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
            sql = (
                f"INSERT INTO {table} (customer_id, day, app_id, requests) VALUES {values} "  # noqa: S608
                "ON CONFLICT (customer_id, day, app_id) DO UPDATE "
                f"SET requests = {table}.requests + EXCLUDED.requests"
            )
            cursor.execute(sql, [value for row in chunk for value in row])


def token_rollup_update(*, now: datetime | None = None, batch_ids: int = BATCH_IDS) -> dict:
    """Count the History rows written since the last run into the token rollup (the job
    every minute). Idempotent and safe to run twice at once: each batch locks the
    watermark row, counts the rows above it and moves it, in one transaction, so a row
    is counted exactly once. On PostgreSQL a run that finds the row locked leaves the
    work to the run holding it (`busy`); on SQLite, whose transactions take the write
    lock when they begin, the second run waits and then finds nothing left to count.
    Writes an Event when it counted anything."""
    now = now or timezone.now()
    cutoff = now - SETTLE
    RollupWatermark.objects.get_or_create(name=TOKEN_WATERMARK)
    counts = {"busy": 0, "batches": 0, "scanned": 0, "requests": 0, "lastId": 0}
    while True:
        with transaction.atomic():
            mark = (
                RollupWatermark.objects.select_for_update(skip_locked=True)
                .filter(name=TOKEN_WATERMARK)
                .first()
            )
            if mark is None:
                counts["busy"] = 1
                return counts
            counts["lastId"] = mark.last_id
            settled = History.objects.filter(pk__gt=mark.last_id, created__lt=cutoff).aggregate(
                last=Max("pk")
            )["last"]
            if settled is None:
                mark.updated = now
                mark.save(update_fields=["updated"])
                break
            upper = min(settled, mark.last_id + batch_ids)
            batch = _token_counts(History.objects.filter(pk__gt=mark.last_id, pk__lte=upper))
            _token_rollup_add(batch)
            counts["scanned"] += upper - mark.last_id
            counts["requests"] += sum(row[3] for row in batch)
            counts["batches"] += 1
            counts["lastId"] = mark.last_id = upper
            mark.updated = now
            mark.save(update_fields=["last_id", "updated"])
    if counts["batches"]:
        event_log(
            customer=None,
            user=None,
            type=EventType.ROLLUP_TOKENS,
            info=(
                f"{counts['requests']} token request(s) counted into the dashboard "
                f"(History up to id {counts['lastId']}, {counts['batches']} batch(es))"
            ),
            data=counts,
        )
    return counts


def history_kept_from() -> date:
    """The first day whose History is whole: the nightly purge deletes rows older than
    HISTORY_RETENTION_DAYS, and the rollup keeps the counts of the days before."""
    purged_before = timezone.now() - timedelta(days=settings.HISTORY_RETENTION_DAYS)
    return timezone.localdate(purged_before) + timedelta(days=1)


def token_rollup_rebuild(*, first: date, last: date, customer: Customer | None = None) -> int:
    """Recompute the token rollup of days `first` to `last` (of one customer, or all)
    from History; returns the rollup rows written. Days before `history_kept_from()` keep
    their counts. It holds the watermark's lock and counts only rows up to it: rows above
    it are the next incremental run's, which `rollups_rebuild` runs right after."""
    first = max(first, history_kept_from())
    last = min(last, timezone.localdate())  # nothing is counted for days to come
    RollupWatermark.objects.get_or_create(name=TOKEN_WATERMARK)
    with transaction.atomic():
        mark = RollupWatermark.objects.select_for_update().get(name=TOKEN_WATERMARK)
        rollups = TokenRequestRollup.objects.filter(day__gte=first, day__lte=last)
        history = History.objects.filter(
            pk__lte=mark.last_id,
            created__gte=day_start(first),
            created__lt=day_start(last + timedelta(days=1)),
        )
        if customer is not None:
            rollups = rollups.for_customer(customer)
            history = history.for_customer(customer)
        rollups.delete()
        counts = _token_counts(history)
        TokenRequestRollup.objects.bulk_create(
            [
                TokenRequestRollup(customer_id=c, day=d, app_id=app, requests=n)
                for c, d, app, n in counts
            ],
            batch_size=500,
        )
    return len(counts)


# --- Licenses --------------------------------------------------------------------------


@dataclass(frozen=True)
class LicenseDay:
    """A customer's license numbers on one day, as licensing computes them."""

    customer_id: int
    day: date
    premium_used: int = 0
    premium_total: int = 0
    standard_used: int = 0
    standard_total: int = 0


def license_rollup_store(*, days: Iterable[LicenseDay], now: datetime | None = None) -> int:
    """Upsert license numbers (one row per customer and day); returns the rows written."""
    now = now or timezone.now()
    rows = [
        LicenseRollup(
            customer_id=d.customer_id,
            day=d.day,
            premium_used=d.premium_used,
            premium_total=d.premium_total,
            standard_used=d.standard_used,
            standard_total=d.standard_total,
            updated=now,
        )
        for d in days
    ]
    LicenseRollup.objects.bulk_create(
        rows,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["customer", "day"],
        update_fields=[
            "premium_used",
            "premium_total",
            "standard_used",
            "standard_total",
            "updated",
        ],
    )
    return len(rows)


# --- What the dashboard shows ----------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """The days a graph covers, first and last included."""

    first: date
    last: date

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def _months_before(day: date, months: int) -> date | None:
    """The same day of the month `months` months earlier (or the month's last day);
    None before the calendar begins."""
    month = day.month - months
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    if year < date.min.year:
        return None
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def dashboard_span(
    *,
    range_key: str | None = None,
    first: date | None = None,
    last: date | None = None,
    today: date | None = None,
) -> Span:
    """The days to show. `last` defaults to today; `first` to `range_key` (1m, 3m, 6m;
    1m when absent) before `last`: "1m" ending 15 March starts 16 February. Given both,
    `first` wins. Dates in the wrong order are swapped, and a span longer than MAX_DAYS
    keeps its last MAX_DAYS days, so every well-formed request has an answer."""
    last = last or today or timezone.localdate()
    if first is None:
        start = _months_before(last, RANGE_MONTHS[range_key or DEFAULT_RANGE])
        first = date.min if start is None else start + timedelta(days=1)
    if first > last:
        first, last = last, first
    if (last - first).days >= MAX_DAYS:
        first = last - timedelta(days=MAX_DAYS - 1)
    return Span(first, last)


@dataclass
class Series:
    key: str
    label: str
    values: list[int | None]

    @property
    def total(self) -> int:
        return sum(v for v in self.values if v is not None)


@dataclass
class Chart:
    """What a graph and its table show: a value per series and day (None: not recorded)."""

    span: Span
    series: list[Series]
    # Nothing to draw: no request on any day, or no license numbers recorded.
    empty: bool
    updated: datetime | None = None
    dates: list[date] = field(init=False)

    def __post_init__(self) -> None:
        self.dates = self.span.days

    @property
    def rows(self) -> list[tuple[date, list[int | None]]]:
        """The table: one row per day, a value per series."""
        return [(day, [s.values[i] for s in self.series]) for i, day in enumerate(self.dates)]


def token_chart(*, customer: Customer, span: Span) -> Chart:
    """Token requests per day and app: every AppId, plus "other" when any app the
    product does not know asked. Two queries: the rollup rows and the watermark."""
    index = {day: i for i, day in enumerate(span.days)}
    counts: dict[str, list[int | None]] = {app: [0] * len(index) for app in AppId.values}
    rows = (
        TokenRequestRollup.objects.for_customer(customer)
        .filter(day__gte=span.first, day__lte=span.last)
        .order_by()
        .values_list("day", "app_id", "requests")
    )
    for day, app, n in rows:
        key = app if app in counts or app == "" else ""
        series = counts.setdefault(key or OTHER_APP, [0] * len(index))
        series[index[day]] += n
    labels = dict(AppId.choices) | {OTHER_APP: "Other apps"}
    watermark = RollupWatermark.objects.filter(name=TOKEN_WATERMARK).first()
    series = [Series(key, labels[key], values) for key, values in counts.items()]
    return Chart(
        span=span,
        series=series,
        empty=not any(s.total for s in series),
        updated=watermark.updated if watermark else None,
    )


def license_chart(*, customer: Customer, span: Span) -> Chart:
    """Premium and Standard seats used and purchased per day; None on days without a
    recorded snapshot (before the customer had licenses, or before the rollup began).
    One query."""
    index = {day: i for i, day in enumerate(span.days)}
    values = {key: [None] * len(index) for key, _, _ in LICENSE_SERIES}
    updated = None
    for row in LicenseRollup.objects.for_customer(customer).filter(
        day__gte=span.first, day__lte=span.last
    ):
        for key, _, column in LICENSE_SERIES:
            values[key][index[row.day]] = getattr(row, column)
        updated = max(updated, row.updated) if updated else row.updated
    return Chart(
        span=span,
        series=[Series(key, label, values[key]) for key, label, _ in LICENSE_SERIES],
        empty=updated is None,
        updated=updated,
    )
