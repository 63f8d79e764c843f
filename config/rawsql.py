"""Reading raw SQL results the way the ORM would, on PostgreSQL and SQLite alike. The hot
device paths use a few hand-written statements (UPDATE … RETURNING, joins along unique
indexes); their rows come straight from the driver."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime


def db_datetime(value: datetime | str | None) -> datetime | None:
    """An aware date and time: psycopg gives one already; SQLite's driver gives a naive
    one (or text) in UTC, which is how Django stores it there."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
