"""Time license requests (gateway.services.licenses.license_request, whose pool side is
licensing.services.license_take): one at a time, then from many threads at once.

Meant to run against PostgreSQL, the production database, through DATABASE_URL (the
database must be migrated: `manage.py migrate`); SQLite works for a quick check but
serialises every write, so its threaded figures say nothing:

    DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/pm_dev \\
        DJANGO_SETTINGS_MODULE=config.settings .venv/bin/python bench/license_assign.py \\
        --devices 2000 --threads 8

It creates a throwaway customer with its Direct Access token (provisioning.services), N
devices and one Standard entitlement with N free seats, beside `--assigned` seats other
devices already hold (the cost of a request must not grow with them). The sequential
run licenses every device from this thread; their assignments are then deleted and the
threaded run licenses them again from T threads, each closing its database connection
when done. Each run prints assignments per second and the p50/p95 latency of one call,
and checks that every device got a license, none was handed out twice and the seat
counter equals the live licenses. Everything it created is deleted afterwards, also when
interrupted. It needs no pytest.

DEBUG=true only spares setting SECRET_KEY: the bench turns query logging off before it
measures anything.
"""

from __future__ import annotations

import argparse
import os
import queue
import secrets
import statistics
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.db.models import F  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Customer  # noqa: E402
from devices.models import Device, DeviceKind  # noqa: E402
from gateway.services.licenses import license_request  # noqa: E402
from licensing.models import Assignment, Entitlement, LicenseType  # noqa: E402
from provisioning.models import Bootstrap, Token  # noqa: E402
from provisioning.services.tokens import customer_defaults_create  # noqa: E402
from reports.models import Event, History, HistoryResult  # noqa: E402

BATCH = 5000
FEATURE = "CUCM"  # a Standard license


def create_pool(count: int, assigned: int) -> tuple[Customer, Entitlement, str, list[str]]:
    """A customer, its token value, `count` devices to license and an entitlement with
    `count` free seats beside `assigned` seats already held by other devices."""
    tag = secrets.token_hex(4)
    customer = Customer.objects.create(name=f"Bench {tag}", slug=f"bench-{tag}")
    token = customer_defaults_create(customer=customer)[0].value
    device_ids = [f"BENCH_{tag}_{i:06}" for i in range(count)]
    holders = [f"HELD_{tag}_{i:07}" for i in range(assigned)]
    entitlement = Entitlement.objects.create(
        customer=customer,
        activation_id=f"bench-{tag}-{secrets.token_hex(8)}",
        license_type=LicenseType.STANDARD,
        term="Bench",
        total=count + assigned,
        used=assigned,
        expiration=timezone.now() + timedelta(days=365),
    )
    for names, hold in ((device_ids, False), (holders, True)):
        for start in range(0, len(names), BATCH):
            with transaction.atomic():
                devices = Device.objects.bulk_create(
                    Device(customer=customer, device_id=device_id, kind=DeviceKind.VENDOR)
                    for device_id in names[start : start + BATCH]
                )
                if hold:
                    Assignment.objects.bulk_create(
                        Assignment(
                            customer=customer,
                            entitlement=entitlement,
                            device=device,
                            license_type=LicenseType.STANDARD,
                            feature=FEATURE,
                            last_contact=timezone.now(),
                        )
                        for device in devices
                    )
    print(
        f"created customer {customer.slug}: {count} devices to license, 1 entitlement of "
        f"{count + assigned} seats of which {assigned} are held (no ANALYZE)"
    )
    return customer, entitlement, token, device_ids


def free_seats(entitlement: Entitlement, device_ids: list[str]) -> None:
    """Give back the seats the measured devices took, leaving the held ones."""
    taken = Assignment.objects.filter(
        entitlement=entitlement, device__device_id__in=device_ids
    ).delete()[0]
    Entitlement.objects.filter(pk=entitlement.pk).update(used=F("used") - taken)


def delete_pool(customer: Customer) -> None:
    started = time.perf_counter()
    # Assignments first: an entitlement with assignments is protected.
    Assignment.objects.filter(customer=customer).delete()
    Entitlement.objects.filter(customer=customer).delete()
    History.objects.filter(customer=customer).delete()
    Event.objects.filter(customer=customer).delete()
    Device.objects.filter(customer=customer).delete()
    Token.objects.filter(customer=customer).delete()
    Bootstrap.objects.filter(customer=customer).delete()
    customer.delete()
    print(f"deleted the bench customer in {time.perf_counter() - started:.1f} s")


def assign_one(token: str, device_id: str) -> float:
    started = time.perf_counter()
    answer = license_request(token=token, device_id=device_id, feature=FEATURE)
    elapsed = time.perf_counter() - started
    if not answer.ok:
        raise RuntimeError(f"{device_id}: {answer.result} {answer.detail}")
    return elapsed


def run_sequential(token: str, device_ids: list[str]) -> tuple[float, list[float]]:
    started = time.perf_counter()
    latencies = [assign_one(token, device_id) for device_id in device_ids]
    return time.perf_counter() - started, latencies


def run_threaded(token: str, device_ids: list[str], threads: int) -> tuple[float, list[float]]:
    todo: queue.SimpleQueue[str] = queue.SimpleQueue()
    for device_id in device_ids:
        todo.put(device_id)
    latencies: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    ready = threading.Barrier(threads + 1)

    def work() -> None:
        mine: list[float] = []
        try:
            # Connect before the clock starts, so the run times requests, not connects.
            connection.ensure_connection()
            ready.wait()
            while True:
                try:
                    device_id = todo.get_nowait()
                except queue.Empty:
                    break
                mine.append(assign_one(token, device_id))
        except BaseException as exc:  # reported by the main thread
            with lock:
                errors.append(exc)
        finally:
            with lock:
                latencies.extend(mine)
            connections.close_all()  # this thread's connections only

    workers = [threading.Thread(target=work, name=f"assign-{n}") for n in range(threads)]
    for worker in workers:
        worker.start()
    ready.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return elapsed, latencies


def check(entitlement: Entitlement, expected: int) -> None:
    live = Assignment.objects.filter(entitlement=entitlement, released_at__isnull=True)
    count = live.count()
    devices = live.values("device").distinct().count()
    if count != expected or devices != expected:
        raise SystemExit(f"expected {expected} live licenses on distinct devices, got {count}")
    entitlement.refresh_from_db()
    if entitlement.used != count:
        raise SystemExit(f"the seat counter says {entitlement.used}, {count} are live")


def report(label: str, elapsed: float, latencies: list[float]) -> None:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    print(
        f"{label:<22} {len(latencies) / elapsed:>10.0f} {cuts[49] * 1000:>9.2f} "
        f"{cuts[94] * 1000:>9.2f} {elapsed:>8.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=2000, help="devices and seats (2000)")
    parser.add_argument("--threads", type=int, default=8, help="threads of the second run (8)")
    parser.add_argument(
        "--assigned", type=int, default=0, help="seats already held by other devices (0)"
    )
    args = parser.parse_args()
    if args.devices < 2 or args.threads < 1 or args.assigned < 0:
        parser.error("--devices must be at least 2, --threads at least 1, --assigned at least 0")
    database = connection.settings_dict
    print(f"database: {connection.vendor} {database.get('NAME')}")
    if connection.vendor == "sqlite":
        print("warning: SQLite serialises writes; the threaded figures mean little there")

    customer, entitlement, token, device_ids = create_pool(args.devices, args.assigned)
    settings.DEBUG = False  # no query log: time the requests, not the bookkeeping
    try:
        assign_one(token, device_ids[0])  # warm-up: imports, connection, plans
        free_seats(entitlement, device_ids)

        print(f"\n{'run':<22} {'assign/s':>10} {'p50 ms':>9} {'p95 ms':>9} {'total s':>8}")
        elapsed, latencies = run_sequential(token, device_ids)
        check(entitlement, args.devices + args.assigned)
        report("sequential", elapsed, latencies)

        free_seats(entitlement, device_ids)
        elapsed, latencies = run_threaded(token, device_ids, args.threads)
        check(entitlement, args.devices + args.assigned)
        report(f"{args.threads} threads", elapsed, latencies)

        # The pool is full now: one more request must be refused, not over-allocate.
        extra = Device.objects.create(customer=customer, device_id=f"{device_ids[0]}_extra")
        answer = license_request(token=token, device_id=extra.device_id, feature=FEATURE)
        if answer.result != HistoryResult.NO_LICENSE:
            raise SystemExit(f"a full pool answered {answer.result}, expected NO_LICENSE")
        print(f"\nall {args.devices} devices licensed in each run; a full pool answers 409")
    finally:
        connections.close_all()
        delete_pool(customer)


if __name__ == "__main__":
    main()
