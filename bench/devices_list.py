"""Time the Devices page over a large fleet.

Meant to run against PostgreSQL, the production database, through DATABASE_URL (the
database must be migrated: `manage.py migrate`); SQLite works for a quick check:

    DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/pm_dev \\
        DJANGO_SETTINGS_MODULE=config.settings .venv/bin/python bench/devices_list.py \\
        --devices 100000

It creates a throwaway customer with N devices (bulk_create in batches) spread over ~20
sites, signs a Super-Admin in with Django's test Client, times a few Devices pages (the
median of 5 runs after one warm-up) with the number of queries each runs, prints a table
and deletes everything it created, also when interrupted. It needs no pytest.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from math import ceil
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Customer, Role, User  # noqa: E402
from devices.models import Device, DeviceKind, DeviceState, Site, SiteStatus  # noqa: E402
from reports.models import AppId, Event  # noqa: E402

RUNS = 5
BATCH = 5000
SITES = 20
MODELS = ["TC52", "TC21", "TC72", "MC33", "ET40", "iPhone14"]
APPS = [AppId.PTT_PRO, AppId.VOICE, AppId.PTT_PRO_IOS]
# One device in this many is in trouble with its site, one in OBSOLETE_EVERY is obsolete.
TROUBLE_EVERY = 50
OBSOLETE_EVERY = 10


def create_fleet(count: int) -> tuple[Customer, User]:
    tag = secrets.token_hex(4)
    customer = Customer.objects.create(name=f"Bench {tag}", slug=f"bench-{tag}", ptt_server="bench")
    user = User(username=f"bench-{tag}", customer=customer, role=Role.SUPER_ADMIN)
    user.set_unusable_password()
    user.save()
    now = timezone.now()
    sites = Site.objects.bulk_create(
        [
            Site(customer=customer, name=f"Site {i:02}", server_name="bench", synced_at=now)
            for i in range(SITES)
        ]
    )
    started = time.perf_counter()
    for start in range(0, count, BATCH):
        rows = []
        for i in range(start, min(start + BATCH, count)):
            # Three devices in five are registered on a site.
            site = sites[i % SITES] if i % 5 < 3 else None
            status = SiteStatus.PROVISIONED if site else SiteStatus.NONE
            error = ""
            if site and i % TROUBLE_EVERY == 0:
                status, error = SiteStatus.CONFLICT, f"PTT Pro: entered by hand in {site.name}"
            model = MODELS[i % len(MODELS)]
            rows.append(
                Device(
                    customer=customer,
                    device_id=f"{model}_{18304522500000 + i}",
                    state=DeviceState.OBSOLETE if i % OBSOLETE_EVERY == 0 else DeviceState.ACTIVE,
                    kind=DeviceKind.IOS if model.startswith("iPhone") else DeviceKind.VENDOR,
                    model=model,
                    os="Android 11 11-26-05.00-RG-U00-STD-HEL-04",
                    app_id=APPS[i % len(APPS)],
                    app_version="3.3.10200",
                    last_checkin=now,
                    site=site,
                    provisioned_site=site if status == SiteStatus.PROVISIONED else None,
                    site_status=status,
                    site_error=error,
                    site_assigned_at=now if site else None,
                )
            )
        with transaction.atomic():
            Device.objects.bulk_create(rows)
    print(
        f"created {count} devices and {SITES} sites in {time.perf_counter() - started:.1f} s "
        f"(customer {customer.slug})"
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE devices_device")
    return customer, user


def delete_fleet(customer: Customer) -> None:
    started = time.perf_counter()
    Device.objects.filter(customer=customer).delete()
    Site.objects.filter(customer=customer).delete()
    Event.objects.filter(customer=customer).delete()
    User.objects.filter(customer=customer).delete()
    customer.delete()
    print(f"deleted the bench customer in {time.perf_counter() - started:.1f} s")


def time_page(client: Client, url: str, params: dict) -> tuple[float, int, int]:
    """(median seconds, queries, rows on the page)."""
    response = client.get(url, params)  # warm-up
    if response.status_code != 200:
        raise SystemExit(f"{url} {params}: HTTP {response.status_code}")
    timings = []
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url, params)
            timings.append(time.perf_counter() - started)
    rows = len(response.context["object_list"])
    return statistics.median(timings), len(queries), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100_000, help="how many (100000)")
    args = parser.parse_args()
    setup_test_environment()  # lets the test Client's "testserver" host in
    database = connection.settings_dict
    print(f"database: {connection.vendor} {database.get('NAME')}")

    customer, user = create_fleet(args.devices)
    try:
        client = Client()
        client.force_login(user)
        url = reverse("devices:device_list")
        middle = max(1, ceil(args.devices / 25) // 2)
        pages = [
            ("first page", {}),
            (f"middle page ({middle})", {"page": middle}),
            (
                "sorted by site, active + provisioned, page 3",
                {"ordering": "-site", "state": "active", "siteStatus": "provisioned", "page": 3},
            ),
            ("device ID search (q=tc72_18304522500)", {"q": "tc72_18304522500"}),
        ]
        print(f"\n{'page':<48} {'median ms':>9} {'queries':>8} {'rows':>5}")
        for label, params in pages:
            seconds, queries, rows = time_page(client, url, params)
            print(f"{label:<48} {seconds * 1000:>9.1f} {queries:>8} {rows:>5}")
        seconds, queries, rows = time_page(client, reverse("devices:site_list"), {})
        print(f"{'Sites page (device counts)':<48} {seconds * 1000:>9.1f} {queries:>8} {rows:>5}")
        client.logout()
    finally:
        delete_fleet(customer)


if __name__ == "__main__":
    main()
