"""Fill a customer's History and Events with realistic rows, for benchmarks and demos.

    manage.py seed_history --customer acme --rows 1000000 --events 1000000

Rows spread over the last 13 months, oldest first (so ids grow with time, as they do
when devices write them): every action, app and result in believable proportions, a
fleet of devices sharing a dozen tokens, desk phones by MAC, and the hourly jobs, user
changes and license notices of an Events log. PostgreSQL gets the rows through COPY (a
million in seconds) and is then vacuumed and analysed, so the planner and index-only
scans see them; other databases through bulk_create in batches. The same --seed gives
the same rows.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Customer
from reports.models import (
    AppId,
    Event,
    EventActor,
    EventType,
    History,
    HistoryAction,
    HistoryResult,
    Severity,
    event_area,
)

BATCH = 10_000
MONTHS = 13

# (value, weight) tables.
ACTIONS = [
    (HistoryAction.CHECKIN, 40),
    (HistoryAction.TOKEN, 30),
    (HistoryAction.LICENSE, 25),
    (HistoryAction.CODE, 3),
    (HistoryAction.AUTO, 2),
    (HistoryAction.FILE, 5),
]
APPS = [
    (AppId.VOICE, 40),
    (AppId.PTT_PRO, 30),
    (AppId.PTT_PRO_IOS, 10),
    (AppId.PROFILE_CLIENT, 10),
    (AppId.CENTRAL_SERVICE, 10),
]
R = HistoryResult
RESULTS = {
    HistoryAction.TOKEN: [
        (R.OK, 900),
        (R.REVOKED, 20),
        (R.EXPIRED, 20),
        (R.USED_UP, 10),
        (R.APP_MISMATCH, 10),
        (R.BAD_REQUEST, 20),
        (R.RATE_LIMITED, 20),
    ],
    HistoryAction.LICENSE: [
        (R.OK, 930),
        (R.NO_LICENSE, 30),
        (R.PREMIUM_REFUSED, 10),
        (R.UNKNOWN_DEVICE, 20),
        (R.OBSOLETE_DEVICE, 10),
    ],
    HistoryAction.CHECKIN: [(R.OK, 980), (R.UNKNOWN_DEVICE, 15), (R.REVOKED, 5)],
    HistoryAction.CODE: [(R.OK, 900), (R.UNKNOWN_CODE, 60), (R.CODE_USED, 20), (R.EXPIRED, 20)],
    HistoryAction.AUTO: [(R.OK, 950), (R.UNKNOWN_CATEGORY, 30), (R.BAD_REQUEST, 20)],
    HistoryAction.FILE: [
        (R.OK, 960),
        (R.UNKNOWN_TOKEN, 10),
        (R.UNKNOWN_MODEL, 10),
        (R.BOUND_ELSEWHERE, 10),
        (R.UNKNOWN_DEVICE, 10),
        (R.NO_SOFTWARE, 5),
        (R.HTTPS_REQUIRED, 5),
    ],
}
MODELS = ["TC52", "TC21", "TC72", "MC33", "ET40", "iPhone14"]
# (type, weight, severity weights INFO/WARNING/ERROR): hourly jobs dominate a real log.
EVENTS = [
    (EventType.LICENSE_SYNC_GET, 300, (95, 3, 2)),
    (EventType.SITE_SYNC, 250, (97, 2, 1)),
    (EventType.SITE_PROVISIONING_RETRY, 100, (100, 0, 0)),
    (EventType.LICENSE_SYNC, 40, (90, 5, 5)),
    (EventType.LICENSE_RELEASE, 40, (100, 0, 0)),
    (EventType.LICENSE_EXPIRY_NOTICE, 10, (0, 100, 0)),
    (EventType.NO_LICENSE_AVAILABLE, 10, (0, 0, 100)),
    (EventType.SITE_SWEEP, 40, (100, 0, 0)),
    (EventType.SITE_PROVISIONING_FAILED, 10, (0, 0, 100)),
    (EventType.TOKEN_ADDED, 30, (100, 0, 0)),
    (EventType.TOKEN_UPDATED, 40, (100, 0, 0)),
    (EventType.TOKEN_DELETED, 10, (100, 0, 0)),
    (EventType.BOOTSTRAP_ADDED, 10, (100, 0, 0)),
    (EventType.BOOTSTRAP_UPDATED, 20, (100, 0, 0)),
    (EventType.DEVICE_ADDED_DIRECTLY, 20, (100, 0, 0)),
    (EventType.DEVICE_OBSOLETED, 20, (100, 0, 0)),
    (EventType.CODE_ISSUED, 20, (100, 0, 0)),
    (EventType.USER_ADDED, 5, (100, 0, 0)),
    (EventType.USER_UPDATED, 5, (100, 0, 0)),
    (EventType.USER_ROLE_CHANGED, 2, (100, 0, 0)),
    (EventType.PASSWORD_RESET_REQUESTED, 3, (100, 0, 0)),
    (EventType.STAFF_ACTING, 3, (100, 0, 0)),
]
# Jobs act alone; people make the changes.
JOBS = {
    EventType.LICENSE_SYNC_GET,
    EventType.SITE_SYNC,
    EventType.SITE_PROVISIONING_RETRY,
    EventType.LICENSE_SYNC,
    EventType.LICENSE_RELEASE,
    EventType.LICENSE_EXPIRY_NOTICE,
    EventType.NO_LICENSE_AVAILABLE,
    EventType.SITE_SWEEP,
    EventType.SITE_PROVISIONING_FAILED,
    EventType.PASSWORD_RESET_REQUESTED,
}
SEVERITIES = [Severity.INFO, Severity.WARNING, Severity.ERROR]

HISTORY_COLUMNS = [
    "customer_id",
    "created",
    "action",
    "token",
    "app_id",
    "device_id",
    "result",
    "ip_address",
]
EVENT_COLUMNS = [
    "customer_id",
    "created",
    "username",
    "type",
    "severity",
    "area",
    "info",
    "data",
]


def _picker(rng: random.Random, table):
    values = [value for value, *_ in table]
    weights = [row[1] for row in table]

    def pick(k: int) -> list:
        return rng.choices(values, weights, k=k)

    return pick


def _times(rng: random.Random, start: int, size: int, count: int, now: datetime) -> list:
    """The moments of rows start … start + size of `count`, spread over the last MONTHS
    months, oldest first: each batch covers its own slice of the span."""
    span = MONTHS * 30.5 * 86400
    first = span * (1 - start / count)
    last = span * (1 - (start + size) / count)
    offsets = sorted((rng.uniform(last, first) for _ in range(size)), reverse=True)
    return [now - timedelta(seconds=offset) for offset in offsets]


def history_rows(customer: Customer, count: int, rng: random.Random, now: datetime) -> Iterator:
    tokens = [
        f"{customer.slug}-{kind}-{n:02}" for kind in ("voice", "ptt", "fleet") for n in (1, 2, 3, 4)
    ]
    token_weights = [2**-i for i in range(len(tokens))]
    devices = max(50, count // 40)
    actions, apps = _picker(rng, ACTIONS), _picker(rng, APPS)
    results = {action: _picker(rng, table) for action, table in RESULTS.items()}
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        moments = _times(rng, start, size, count, now)
        picked_actions, picked_apps = actions(size), apps(size)
        picked_tokens = rng.choices(tokens, token_weights, k=size)
        for i in range(size):
            action = picked_actions[i]
            n = rng.randrange(devices)
            if action in (HistoryAction.CODE, HistoryAction.AUTO):
                token, app, device = "", "", f"000413{n:06X}"
            else:
                token, app = picked_tokens[i], picked_apps[i]
                device = f"{MODELS[n % len(MODELS)]}_{18304522500000 + n}"
            yield (
                customer.pk,
                moments[i],
                action,
                token,
                app,
                device,
                results[action](1)[0],
                f"10.{n % 200}.{(n // 200) % 250}.{1 + rng.randrange(250)}",
            )


def event_rows(customer: Customer, count: int, rng: random.Random, now: datetime) -> Iterator:
    people = [f"{customer.slug}-admin-{n}" for n in range(1, 6)] + ["support"]
    kinds = _picker(rng, EVENTS)
    severity_of = {kind: weights for kind, _, weights in EVENTS}
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        moments = _times(rng, start, size, count, now)
        for i, kind in enumerate(kinds(size)):
            severity = rng.choices(SEVERITIES, severity_of[kind])[0]
            who = "" if kind in JOBS else rng.choice(people)
            n = rng.randrange(10_000)
            info = f"{kind.label}: item {n}" + (f" by {who}" if who else "")
            yield (
                customer.pk,
                moments[i],
                who,
                kind.value,
                severity,
                event_area(kind),
                info,
                json.dumps({"n": n}),
            )


def _copy(table: str, columns: list[str], rows: Iterator) -> int:
    written = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                written += 1
    return written


def seed(customer: Customer, *, rows: int, events: int, seed: int = 1) -> tuple[int, int]:
    """Add `rows` History rows and `events` Events to `customer`. Returns both counts."""
    rng = random.Random(seed)  # noqa: S311 (made-up rows, repeatable on purpose)
    now = timezone.now()
    postgres = connection.vendor == "postgresql"
    with transaction.atomic():
        if postgres:
            made = _copy(
                History._meta.db_table, HISTORY_COLUMNS, history_rows(customer, rows, rng, now)
            )
            logged = _copy(
                Event._meta.db_table, EVENT_COLUMNS, event_rows(customer, events, rng, now)
            )
        else:
            # bulk_create, keeping the made-up timestamps (see _bulk_with_times).
            made = _bulk_history(customer, rows, rng, now)
            logged = _bulk_events(customer, events, rng, now)
        names = [f"{customer.slug}-admin-{n}" for n in range(1, 6)] + ["support"]
        EventActor.objects.bulk_create(
            [EventActor(customer=customer, username=name) for name in names],
            ignore_conflicts=True,
        )
    if postgres:
        # The planner's statistics and, outside a transaction, the visibility map
        # (index-only counts), as autovacuum would leave them. Inside one (a test, or
        # the demo loader's), VACUUM cannot run: statistics only.
        command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
        with connection.cursor() as cursor:
            cursor.execute(f"{command} reports_history")
            cursor.execute(f"{command} reports_event")
    return made, logged


def _bulk_history(customer, count, rng, now) -> int:
    objects = (
        dict(zip(HISTORY_COLUMNS, row, strict=True))
        for row in history_rows(customer, count, rng, now)
    )
    return _bulk_with_times(History, objects)


def _bulk_events(customer, count, rng, now) -> int:
    objects = (
        dict(zip(EVENT_COLUMNS, row, strict=True)) for row in event_rows(customer, count, rng, now)
    )
    return _bulk_with_times(Event, objects, decode={"data": json.loads})


def _bulk_with_times(model, rows, decode=None) -> int:
    written, batch = 0, []
    created_field = model._meta.get_field("created")

    def flush():
        # bulk_create calls pre_save, which stamps auto_now_add fields with now: switch
        # that off for the seed.
        created_field.auto_now_add = False
        try:
            model.objects.bulk_create(batch)
        finally:
            created_field.auto_now_add = True

    for values in rows:
        for name, function in (decode or {}).items():
            values[name] = function(values[name])
        batch.append(model(**values))
        if len(batch) == BATCH:
            flush()
            written += len(batch)
            batch = []
    if batch:
        flush()
        written += len(batch)
    return written


class Command(BaseCommand):
    help = (
        "Fill a customer's History and Events with realistic rows over the last 13 months "
        "(benchmarks and demos). PostgreSQL: COPY, then VACUUM ANALYZE."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customer", required=True, help="Customer slug")
        parser.add_argument("--rows", type=int, default=0, help="History rows to add")
        parser.add_argument("--events", type=int, default=0, help="Events to add")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (1)")

    def handle(self, *args, **options):
        customer = Customer.objects.filter(slug=options["customer"]).first()
        if customer is None:
            raise CommandError(f"--customer: no customer with slug {options['customer']!r}")
        for name in ("rows", "events"):
            if options[name] < 0:
                raise CommandError(f"--{name}: must be 0 or more, got {options[name]}")
        started = time.perf_counter()
        made, logged = seed(
            customer, rows=options["rows"], events=options["events"], seed=options["seed"]
        )
        self.stdout.write(
            f"Added {made} History row(s) and {logged} Event(s) to {customer.name} in "
            f"{time.perf_counter() - started:.1f} s."
        )
