"""Time History and Events at a million rows each, and their CSV export's memory.

Meant to run against PostgreSQL, the production database, through DATABASE_URL (the
database must be migrated: `manage.py migrate`); SQLite works for a quick check:

    DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/pm_dev \\
        DJANGO_SETTINGS_MODULE=config.settings .venv/bin/python bench/reports.py \\
        --history 1000000 --events 1000000 --noise 1000000

It creates a throwaway customer with a Super-Admin and a User, fills it with `--history`
History rows and `--events` Events over 13 months (reports' seed_history: COPY, then
VACUUM ANALYZE), and `--noise` History rows and Events of a second customer, so the
tables hold more than one customer's rows. Then, 20 times each after a warm-up, it times
the History and Events pages (first page, page 2,000 by keyset, sorted, searched,
filtered; Events as a User, whose license events are filtered out) and the History API,
printing the median, the 95th percentile and the queries of each. It exports the
customer's whole History as CSV, timing it and sampling the process's resident memory
while it streams, and, where the dashboard's rollups exist, times the dashboard for 6
months after rebuilding them. Everything it created is deleted at the end, also when
interrupted. It needs no pytest.
"""

from __future__ import annotations

import argparse
import gc
import os
import secrets
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

from accounts.models import Customer, Role, User  # noqa: E402
from reports.management.commands.seed_history import seed  # noqa: E402
from reports.models import Event, EventActor, History  # noqa: E402

RUNS = 20
PAGE_TARGET_MS = 150
DASHBOARD_TARGET_MS = 100
EXPORT_TARGET_MB = 50
DEPTH_PAGE = 2_000  # page 2,000 at 25 rows a page: 50,000 rows deep


def make_customer(tag: str, name: str) -> Customer:
    return Customer.objects.create(name=f"{name} {tag}", slug=f"{name.lower()}-{tag}")


def make_user(customer: Customer, role: str) -> User:
    user = User(username=f"{customer.slug}-{role}", customer=customer, role=role)
    user.set_unusable_password()
    user.save()
    return user


def delete_customers(customers: list[Customer]) -> None:
    started = time.perf_counter()
    ids = [c.pk for c in customers]
    History.objects.filter(customer_id__in=ids).delete()
    Event.objects.filter(customer_id__in=ids).delete()
    EventActor.objects.filter(customer_id__in=ids).delete()
    try:
        from reports.models import LicenseRollup, TokenRequestRollup

        LicenseRollup.objects.filter(customer_id__in=ids).delete()
        TokenRequestRollup.objects.filter(customer_id__in=ids).delete()
    except ImportError:
        pass
    User.objects.filter(customer_id__in=ids).delete()
    Customer.objects.filter(pk__in=ids).delete()
    print(f"deleted the bench customers in {time.perf_counter() - started:.1f} s")


def timed(get, label: str, target_ms: float = PAGE_TARGET_MS) -> None:
    """Median and p95 of RUNS calls of `get()`, with the queries of the last."""
    response = get()  # warm-up
    if response.status_code != 200:
        raise SystemExit(f"{label}: HTTP {response.status_code}")
    timings = []
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = get()
            if response.streaming:
                b"".join(response.streaming_content)
            timings.append((time.perf_counter() - started) * 1000)
    median = statistics.median(timings)
    p95 = statistics.quantiles(timings, n=20)[18]
    verdict = "ok" if median < target_ms else f"over {target_ms} ms"
    print(f"{label:<52} {median:>8.1f} {p95:>8.1f} {len(queries):>7}  {verdict}")


def deep_cursor(queryset, depth: int) -> str:
    """The cursor of the page that starts `depth` rows in (found once, untimed); half-way
    in a smaller run."""
    depth = min(depth, queryset.count() // 2) or 1
    pk = queryset.values_list("pk", flat=True)[depth - 1 : depth].get()
    return f"n{pk}"


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def export(client: Client, url: str) -> None:
    """Stream the CSV as a browser would read it, sampling resident memory meanwhile."""
    gc.collect()
    baseline = peak = rss_bytes()
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_bytes())
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    response = client.get(url, {"format": "csv"})
    rows = size = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        rows += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    peak = max(peak, rss_bytes())
    growth = (peak - baseline) / 2**20
    verdict = "ok" if growth < EXPORT_TARGET_MB else f"over {EXPORT_TARGET_MB} MB"
    print(
        f"CSV export: {rows - 1:,} rows, {size / 2**20:.0f} MB in {seconds:.1f} s "
        f"({(rows - 1) / seconds:,.0f} rows/s); resident memory grew {growth:.1f} MB at "
        f"its peak  {verdict}"
    )


def bench_dashboard(client: Client, customer: Customer) -> None:
    from licensing.services import rollups_rebuild

    today = timezone.localdate()
    started = time.perf_counter()
    rollups_rebuild(first=today.replace(year=today.year - 2), last=today, customer=customer)
    print(f"dashboard rollups rebuilt in {time.perf_counter() - started:.1f} s")
    url = reverse("reports:dashboard")
    timed(lambda: client.get(url, {"range": "6m"}), "Dashboard, both graphs, 6 months", 100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history", type=int, default=1_000_000, help="rows (1000000)")
    parser.add_argument("--events", type=int, default=1_000_000, help="events (1000000)")
    parser.add_argument(
        "--noise", type=int, default=0, help="History rows and Events of a second customer"
    )
    parser.add_argument("--no-export", action="store_true", help="skip the CSV export")
    args = parser.parse_args()
    setup_test_environment()  # lets the test Client's "testserver" host in
    print(f"database: {connection.vendor} {connection.settings_dict.get('NAME')}")

    tag = secrets.token_hex(4)
    customer = make_customer(tag, "Bench")
    customers = [customer]
    try:
        super_admin = make_user(customer, Role.SUPER_ADMIN)
        viewer = make_user(customer, Role.USER)
        if args.noise:
            other = make_customer(tag, "Noise")
            customers.append(other)
            started = time.perf_counter()
            seed(other, rows=args.noise, events=args.noise, seed=2)
            print(f"noise: {args.noise:,} rows and events in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        made, logged = seed(customer, rows=args.history, events=args.events)
        print(
            f"seeded {made:,} History rows and {logged:,} Events over 13 months in "
            f"{time.perf_counter() - started:.1f} s (customer {customer.slug})"
        )

        admin_client, user_client = Client(), Client()
        admin_client.force_login(super_admin)
        user_client.force_login(viewer)
        api = APIClient()
        api.credentials(
            HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(super_admin).access_token}"
        )
        history, events = reverse("reports:history"), reverse("reports:event_list")
        rows = History.objects.filter(customer=customer).order_by("-created", "-id")
        by_token = History.objects.filter(customer=customer).order_by("-token", "-created", "-id")
        deep = deep_cursor(rows, 25 * (DEPTH_PAGE - 1))
        deep_token = deep_cursor(by_token, 25 * (DEPTH_PAGE - 1))
        visible = Event.objects.filter(customer=customer).visible_to(viewer)
        deep_event = deep_cursor(visible.order_by("-created", "-id"), 25 * (DEPTH_PAGE - 1))
        device = rows.values_list("device_id", flat=True)[1000:1001].get()
        serial = device.split("_")[-1][-8:]
        middle = min(200_000, args.history // 2)
        day = timezone.localdate(rows.values_list("created", flat=True)[middle : middle + 1].get())

        def page(client, url, **query):
            return lambda: client.get(url, query)

        print(f"\n{'':<52} {'median':>8} {'p95':>8} {'queries':>7}   (ms)")
        cases = [
            ("History, first page", page(admin_client, history)),
            ("History, page 2,000 (keyset)", page(admin_client, history, cursor=deep)),
            ("History, last page", page(admin_client, history, cursor="last")),
            ("History, sorted by token", page(admin_client, history, ordering="-token")),
            (
                "History, sorted by token, page 2,000",
                page(admin_client, history, ordering="-token", cursor=deep_token),
            ),
            ("History, sorted by result", page(admin_client, history, ordering="result")),
            (f"History, search device {serial}", page(admin_client, history, q=serial)),
            ("History, search a token (many rows)", page(admin_client, history, q="voice-01")),
            ("History, filtered result=REVOKED", page(admin_client, history, result="REVOKED")),
            ("History, filtered action=AUTO", page(admin_client, history, action="AUTO")),
            (
                "History, filtered app + result",
                page(admin_client, history, appId="WFC_PRO_IOS", result="NO_LICENSE"),
            ),
            (
                f"History, one day ({day})",
                page(admin_client, history, dateFrom=str(day), dateTo=str(day)),
            ),
            ("History, as a User", page(user_client, history)),
            ("Events, first page (Super-Admin)", page(admin_client, events)),
            ("Events, first page as a User (no license events)", page(user_client, events)),
            ("Events, page 2,000 as a User", page(user_client, events, cursor=deep_event)),
            (
                "Events, filtered type=TOKEN_UPDATED",
                page(admin_client, events, type="TOKEN_UPDATED"),
            ),
            ("Events, filtered severity=ERROR", page(user_client, events, severity="ERROR")),
            (
                "Events, filtered user",
                page(admin_client, events, user=f"{customer.slug}-admin-3"),
            ),
            ("Events, sorted by type", page(admin_client, events, ordering="type")),
            ("Events, search text", page(admin_client, events, q="item 4242")),
            ("API GET /history, first page", page(api, "/admin/api/v1/history")),
            ("API GET /history, page 2,000", page(api, "/admin/api/v1/history", cursor=deep)),
            (
                "API GET /events?severity=WARNING",
                page(api, "/admin/api/v1/events", severity="WARNING"),
            ),
        ]
        for label, get in cases:
            timed(get, label)
        if not args.no_export:
            print()
            export(admin_client, history)
        print()
        bench_dashboard(admin_client, customer)
    finally:
        delete_customers(customers)


if __name__ == "__main__":
    main()
