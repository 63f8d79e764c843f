"""Helpers of the History and Events tests: rows with chosen timestamps, written in bulk."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta

from django.utils import timezone

from reports.models import Event, History, HistoryAction, HistoryResult, Severity, event_area

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.get_fixed_timezone(0))


@contextmanager
def _stamped(model):
    # bulk_create stamps auto_now_add fields with now; these rows bring their own time.
    field = model._meta.get_field("created")
    field.auto_now_add = False
    try:
        yield
    finally:
        field.auto_now_add = True


def make_history(
    customer, count: int, *, start: datetime = T0, step=timedelta(minutes=1), **fields
):
    """`count` History rows of `customer`, one `step` apart from `start` (oldest first).
    Fields may be values or functions of the row's index."""
    rows = []
    for i in range(count):
        values = {
            "action": HistoryAction.TOKEN,
            "result": HistoryResult.OK,
            "token": f"tok-{i:03}",
            "device_id": f"TC52_{i:04}",
            "app_id": "WFC_VOICE_ANDROID",
            "ip_address": "10.0.0.1",
            **{k: (v(i) if callable(v) else v) for k, v in fields.items()},
        }
        rows.append(History(customer=customer, created=start + step * i, **values))
    with _stamped(History):
        return History.objects.bulk_create(rows)


def make_events(customer, count: int, *, start: datetime = T0, step=timedelta(minutes=1), **fields):
    """`count` Events of `customer`, oldest first; `type` sets the area too."""
    rows = []
    for i in range(count):
        values = {
            "type": "TOKEN_ADDED",
            "severity": Severity.INFO,
            "username": "ada",
            "info": f"Token tok-{i:03} added",
            **{k: (v(i) if callable(v) else v) for k, v in fields.items()},
        }
        values.setdefault("area", event_area(values["type"]))
        rows.append(Event(customer=customer, created=start + step * i, **values))
    with _stamped(Event):
        return Event.objects.bulk_create(rows)
