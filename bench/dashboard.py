"""Time the dashboard, its JSON and the rollup jobs, over 13 months of numbers.

Meant to run against PostgreSQL, the production database, through DATABASE_URL (the
database must be migrated: `manage.py migrate`); SQLite works for a quick check:

    DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/pm_dev \\
        DJANGO_SETTINGS_MODULE=config.settings .venv/bin/python bench/dashboard.py \\
        --history 1000000 --customers 500

It creates a throwaway customer with a Super-Admin and 13 months of daily rollups
(licenses, and token requests of every app), plus the same for `--customers` other
customers so the rollup tables have the size of a busy server. With `--history N` it
also writes N History rows over those 13 months for the customer (reports'
seed_history: COPY on PostgreSQL), times the token job counting them from scratch and a
rebuild of 13 months, and checks the rollup equals the raw rows.

It then times, 30 times each after a warm-up, the dashboard page for 6 months and the
two graphs' JSON (the admin API and the page's own), printing the median, the 95th
percentile and the queries, and fails if any of them reads History. Everything it
created is deleted at the end, also when interrupted. It needs no pytest.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import Sum  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

from accounts.models import Customer, Role, User  # noqa: E402
from reports import rollups  # noqa: E402
from reports.management.commands.seed_history import seed  # noqa: E402
from reports.models import (  # noqa: E402
    AppId,
    Event,
    EventActor,
    History,
    HistoryAction,
    LicenseRollup,
    RollupWatermark,
    TokenRequestRollup,
)

RUNS = 30
DAYS = 396  # 13 months
BATCH = 10_000
TARGET_MS = 100


def rollup_rows(customer: Customer, today, now):
    for n in range(DAYS):
        day = today - timedelta(days=n)
        yield LicenseRollup(
            customer=customer,
            day=day,
            premium_used=40 + n % 7,
            premium_total=50,
            standard_used=300 + n % 31,
            standard_total=400,
            updated=now,
        )
        for i, app in enumerate([*AppId.values, ""]):
            yield TokenRequestRollup(customer=customer, day=day, app_id=app, requests=i + n % 50)


def create_customers(others: int) -> tuple[Customer, User, list[Customer]]:
    tag = secrets.token_hex(4)
    customers = Customer.objects.bulk_create(
        [Customer(name=f"Bench {tag} {n}", slug=f"bench-{tag}-{n}") for n in range(others + 1)]
    )
    user = User(username=f"bench-{tag}", customer=customers[0], role=Role.SUPER_ADMIN)
    user.set_unusable_password()
    user.save()
    started = time.perf_counter()
    today, now = timezone.localdate(), timezone.now()
    licenses, tokens = [], []
    for customer in customers:
        for row in rollup_rows(customer, today, now):
            (licenses if isinstance(row, LicenseRollup) else tokens).append(row)
        if len(tokens) >= BATCH:
            with transaction.atomic():
                LicenseRollup.objects.bulk_create(licenses)
                TokenRequestRollup.objects.bulk_create(tokens)
            licenses, tokens = [], []
    with transaction.atomic():
        LicenseRollup.objects.bulk_create(licenses)
        TokenRequestRollup.objects.bulk_create(tokens)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE reports_licenserollup")
            cursor.execute("ANALYZE reports_tokenrequestrollup")
    print(
        f"rollups: {LicenseRollup.objects.count()} license and "
        f"{TokenRequestRollup.objects.count()} token rows in the tables; 13 months for "
        f"{len(customers)} customers written in {time.perf_counter() - started:.1f} s"
    )
    return customers[0], user, customers


def delete_customers(customers: list[Customer], watermark: RollupWatermark | None) -> None:
    started = time.perf_counter()
    ids = [c.pk for c in customers]
    History.objects.filter(customer_id__in=ids).delete()
    Event.objects.filter(customer_id__in=ids).delete()
    EventActor.objects.filter(customer_id__in=ids).delete()
    LicenseRollup.objects.filter(customer_id__in=ids).delete()
    TokenRequestRollup.objects.filter(customer_id__in=ids).delete()
    User.objects.filter(customer_id__in=ids).delete()
    Customer.objects.filter(pk__in=ids).delete()
    # The watermark as it was, so a real server's job carries on where it stood.
    RollupWatermark.objects.filter(name=rollups.TOKEN_WATERMARK).delete()
    if watermark is not None:
        watermark.save()
    print(f"deleted the bench customers in {time.perf_counter() - started:.1f} s")


def time_get(get, label: str) -> None:
    """Median and p95 of RUNS calls of `get()`; fails if a call reads History."""
    response = get()  # warm-up
    if response.status_code != 200:
        raise SystemExit(f"{label}: HTTP {response.status_code}")
    timings = []
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = get()
            timings.append((time.perf_counter() - started) * 1000)
        if any("reports_history" in q["sql"] for q in queries.captured_queries):
            raise SystemExit(f"{label}: reads History")
    median = statistics.median(timings)
    p95 = statistics.quantiles(timings, n=20)[18]
    verdict = "ok" if p95 < TARGET_MS else f"over {TARGET_MS} ms"
    print(f"{label:<46} {median:>9.1f} {p95:>8.1f} {len(queries):>8}  {verdict}")


def bench_jobs(customer: Customer, count: int) -> None:
    started = time.perf_counter()
    made, _ = seed(customer, rows=count, events=0)
    print(f"history: {made} rows over 13 months in {time.perf_counter() - started:.1f} s")
    TokenRequestRollup.objects.filter(customer=customer).delete()
    # From scratch, as on the first run after an upgrade: every row above the watermark.
    first_id = History.objects.filter(customer=customer).order_by("pk")[0].pk
    RollupWatermark.objects.update_or_create(
        name=rollups.TOKEN_WATERMARK, defaults={"last_id": first_id - 1}
    )
    started = time.perf_counter()
    counts = rollups.token_rollup_update(now=timezone.now() + rollups.SETTLE)
    seconds = time.perf_counter() - started
    print(
        f"token job: {counts['scanned']} History rows, {counts['requests']} token requests, "
        f"{counts['batches']} batches in {seconds:.1f} s "
        f"({counts['scanned'] / seconds:,.0f} rows/s)"
    )
    raw = History.objects.filter(customer=customer, action=HistoryAction.TOKEN).count()
    rolled = TokenRequestRollup.objects.filter(customer=customer).aggregate(n=Sum("requests"))["n"]
    assert rolled == raw, f"rollup {rolled} != raw {raw}"
    today = timezone.localdate()
    started = time.perf_counter()
    rollups.token_rollup_rebuild(first=today - timedelta(days=DAYS), last=today, customer=customer)
    print(f"rebuild of 13 months (tokens, one customer): {time.perf_counter() - started:.1f} s")
    rolled = TokenRequestRollup.objects.filter(customer=customer).aggregate(n=Sum("requests"))["n"]
    assert rolled == raw, f"rollup {rolled} != raw {raw} after the rebuild"
    print(f"rollup equals the raw rows: {raw} token requests")
    # The page's numbers again, as seeded (the timings below read 13 months of them).
    TokenRequestRollup.objects.filter(customer=customer).delete()
    rows = rollup_rows(customer, today, timezone.now())
    TokenRequestRollup.objects.bulk_create(r for r in rows if isinstance(r, TokenRequestRollup))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=200, help="other customers (200)")
    parser.add_argument("--history", type=int, default=0, help="History rows to count (0)")
    args = parser.parse_args()
    setup_test_environment()  # lets the test Client's "testserver" host in
    print(f"database: {connection.vendor} {connection.settings_dict.get('NAME')}")

    watermark = RollupWatermark.objects.filter(name=rollups.TOKEN_WATERMARK).first()
    customer, user, customers = create_customers(args.customers)
    try:
        if args.history:
            bench_jobs(customer, args.history)
        portal = Client()
        portal.force_login(user)
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
        six_months = {"range": "6m"}
        print(f"\n{'6 months, from the rollups':<46} {'median ms':>9} {'p95 ms':>8} {'queries':>8}")
        time_get(lambda: portal.get(reverse("reports:dashboard"), six_months), "dashboard page")
        time_get(
            lambda: api.get("/admin/api/v1/dashboard/licenses", six_months),
            "GET /admin/api/v1/dashboard/licenses",
        )
        time_get(
            lambda: api.get("/admin/api/v1/dashboard/tokens", six_months),
            "GET /admin/api/v1/dashboard/tokens",
        )
        time_get(
            lambda: portal.get(reverse("reports:dashboard_tokens"), six_months),
            "the page's poll: /admin/dashboard/tokens",
        )
        time_get(
            lambda: api.get(
                "/admin/api/v1/dashboard/tokens", {"from": "2000-01-01", "to": "2099-12-31"}
            ),
            "GET …/dashboard/tokens, 400 days (the most)",
        )
    finally:
        delete_customers(customers, watermark)


if __name__ == "__main__":
    main()
