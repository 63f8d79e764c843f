"""History retention: rows older than HISTORY_RETENTION_DAYS go, in short batches, by the
nightly task or the command; newer rows, Events and the dashboard's rollups stay; the
job logs what it did. And seed_history, which fills a customer for benchmarks."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reports import services, tasks
from reports.models import Event, EventActor, EventType, History, HistoryAction, HistoryResult
from reports.schedule import SCHEDULE
from tests.reports.rows import make_events, make_history


@pytest.fixture
def aged(customer, other_customer):
    """History of two customers, one row a day for 20 days up to now, written out of id
    order (as an import could), and a few Events."""
    now = timezone.now()
    make_history(customer, 10, start=now - timedelta(days=9, hours=1), step=timedelta(days=1))
    make_history(
        other_customer, 10, start=now - timedelta(days=19, hours=1), step=timedelta(days=1)
    )
    make_events(customer, 3, start=now - timedelta(days=30))
    return now


@pytest.mark.django_db
def test_old_history_goes_in_batches_and_the_rest_stays(aged, settings):
    settings.HISTORY_RETENTION_DAYS = 5
    with CaptureQueriesContext(connection) as queries:
        deleted = services.history_purge(batch=3)
    assert deleted == 15  # the 5 oldest of one customer, the 10 of the other
    cutoff = aged - timedelta(days=5)
    assert not History.objects.filter(created__lt=cutoff).exists()
    assert History.objects.count() == 5
    assert Event.objects.filter(type=EventType.TOKEN_ADDED).count() == 3  # Events stay
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 6  # 3 + 3 + 3 + 3 + 3, then one finding none
    assert all("LIMIT 3" in sql for sql in deletes)
    event = Event.objects.get(type=EventType.HISTORY_DELETED)
    assert (event.customer, event.data["deleted"], event.data["days"]) == (None, 15, 5)
    assert event.info == "15 History row(s) older than 5 days deleted"


@pytest.mark.django_db
def test_running_it_again_deletes_nothing_more(aged, settings):
    settings.HISTORY_RETENTION_DAYS = 5
    assert services.history_purge() == 15
    assert services.history_purge() == 0
    assert History.objects.count() == 5


@pytest.mark.django_db
def test_the_nightly_task_and_the_command(aged, settings):
    settings.HISTORY_RETENTION_DAYS = 400
    assert tasks.delete_old_history() == 0
    entry = SCHEDULE["reports-delete-old-history"]
    assert entry["task"] == "reports.tasks.delete_old_history"
    out = io.StringIO()
    call_command("delete_old_history", "--days", "15", stdout=out)
    assert out.getvalue().strip() == "Deleted 5 History row(s) older than 15 days."
    with pytest.raises(CommandError, match="--days: must be at least 1"):
        call_command("delete_old_history", "--days", "0")


@pytest.mark.django_db
def test_the_dashboards_rollups_are_kept(aged, customer, settings):
    from reports.models import TokenRequestRollup

    TokenRequestRollup.objects.create(
        customer=customer, day=date(2020, 1, 1), app_id="WFC_VOICE_ANDROID", requests=7
    )
    settings.HISTORY_RETENTION_DAYS = 1
    services.history_purge()
    assert TokenRequestRollup.objects.get(day=date(2020, 1, 1)).requests == 7


def test_retention_setting_default_and_validation(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from config.env import env_int

    monkeypatch.delenv("HISTORY_RETENTION_DAYS", raising=False)
    assert env_int("HISTORY_RETENTION_DAYS", 400, minimum=1) == 400
    monkeypatch.setenv("HISTORY_RETENTION_DAYS", "0")
    with pytest.raises(ImproperlyConfigured, match="HISTORY_RETENTION_DAYS: must be at least 1"):
        env_int("HISTORY_RETENTION_DAYS", 400, minimum=1)


# --- seed_history ----------------------------------------------------------------------


@pytest.mark.django_db
def test_seed_history_fills_a_customer_over_13_months(customer):
    out = io.StringIO()
    call_command(
        "seed_history", "--customer", "acme", "--rows", "3000", "--events", "600", stdout=out
    )
    assert "Added 3000 History row(s) and 600 Event(s) to Acme Logistics" in out.getvalue()
    rows = History.objects.filter(customer=customer)
    assert rows.count() == 3000
    assert set(rows.values_list("action", flat=True)) == set(HistoryAction.values)
    assert len(set(rows.values_list("result", flat=True))) >= len(HistoryResult.values) - 2
    assert len(set(rows.exclude(app_id="").values_list("app_id", flat=True))) == 5
    oldest, newest = rows.order_by("created")[0].created, rows.order_by("-created")[0].created
    assert timedelta(days=360) < newest - oldest < timedelta(days=400)
    # Oldest first: ids grow with time, as when devices write the rows.
    times = list(rows.order_by("pk").values_list("created", flat=True))
    assert times == sorted(times)
    events = Event.objects.filter(customer=customer)
    assert events.count() == 600
    assert events.filter(area="licenses").exists() and events.exclude(area="").exists()
    assert EventActor.objects.filter(customer=customer).count() == 6


@pytest.mark.django_db
def test_seed_history_refuses_an_unknown_customer():
    with pytest.raises(CommandError, match="--customer: no customer with slug 'nobody'"):
        call_command("seed_history", "--customer", "nobody", "--rows", "1")
