"""Writing the two logs, and keeping History to its retention. Every app records its
changes and device requests through here."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Customer, User
from core.rawsql import insert_select, prepared_cursor
from reports.models import Event, EventActor, EventType, History, Severity, event_area

# Rows per DELETE of the retention job: each statement is a short transaction, so it
# never holds many locks for long.
HISTORY_PURGE_BATCH = 5_000


def event_log(
    *,
    customer: Customer | None,
    user: User | None,
    type: EventType | str,
    info: str,
    severity: str = Severity.INFO,
    data: dict[str, Any] | None = None,
) -> Event:
    """Record who did what. `type` is one of EventType (anything else is a ValueError: a
    new kind of event is added there, with its area). `data` carries details such as
    {"before": …, "after": …}."""
    kind = EventType(type)
    return Event.objects.create(
        customer=customer,
        user=user if user is not None and user.is_authenticated else None,
        username=user.get_username() if user is not None and user.is_authenticated else "",
        type=kind,
        area=event_area(kind),
        severity=severity,
        info=info[:500],
        data=data or {},
    )


def event_actor_note(*, customer: Customer, username: str) -> None:
    """`username` appears in `customer`'s Events: list them in its user filter."""
    EventActor.objects.bulk_create(
        [EventActor(customer=customer, username=username)], ignore_conflicts=True
    )


def history_values(
    *,
    customer_id: int | None,
    action: str,
    result: str,
    token: str = "",
    app_id: str = "",
    device_id: str = "",
    ip_address: str | None = None,
) -> dict[str, Any]:
    """A History row's values (by attname), its inputs cut to the column sizes: a device
    request is recorded whatever it sent, never refused."""
    return {
        "customer_id": customer_id,
        "action": action,
        "result": result,
        "token": token[:64],
        "app_id": app_id[:40],
        "device_id": device_id[:128],
        "ip_address": ip_address,
    }


def history_record(**values: Any) -> None:
    """One row per device request (history_values), as one INSERT prepared once per
    connection (core.rawsql): every device request writes one, refused or not."""
    sql, params = insert_select(History, history_values(**values), {})
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)


def history_purge(
    *, days: int | None = None, now: datetime | None = None, batch: int = HISTORY_PURGE_BATCH
) -> int:
    """Delete the History rows older than `days` (HISTORY_RETENTION_DAYS) and log how many.

    The oldest `batch` rows at a time, found through the timestamp index, one DELETE per
    batch, each committed on its own: the job never holds many locks or a long
    transaction, and devices go on writing meanwhile. It does not assume ids grow with
    time (imported or seeded rows need not). Safe to run twice at once: the second finds
    the rows gone. The dashboard's daily rollups are separate tables and stay, so graphs
    still cover older days."""
    days = settings.HISTORY_RETENTION_DAYS if days is None else days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    oldest = History.objects.filter(created__lt=cutoff).order_by("created")
    deleted = 0
    while True:
        with transaction.atomic():
            # DELETE … WHERE id IN (SELECT id … ORDER BY created LIMIT batch)
            count, _ = History.objects.filter(pk__in=oldest.values("pk")[:batch]).delete()
        deleted += count
        if count < batch:
            break
    event_log(
        customer=None,
        user=None,
        type=EventType.HISTORY_DELETED,
        info=f"{deleted} History row(s) older than {days} days deleted",
        data={"deleted": deleted, "days": days, "before": cutoff.isoformat()},
    )
    return deleted
