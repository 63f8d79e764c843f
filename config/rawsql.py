"""Reading raw SQL results the way the ORM would, on PostgreSQL and SQLite alike. The hot
device paths use a few hand-written statements (UPDATE … RETURNING, joins along unique
indexes); their rows come straight from the driver."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.db import connection, models
from django.utils.dateparse import parse_datetime


def db_datetime(value: datetime | str | None) -> datetime | None:
    """An aware date and time: psycopg gives one already; SQLite's driver gives a naive
    one (or text) in UTC, which is how Django stores it there."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def insert_select(row: models.Model, computed: dict[str, str]) -> tuple[str, list[Any]]:
    """`INSERT INTO <table> (<columns>) SELECT <values>` (no FROM: the caller adds it) for
    the unsaved `row`, written as the ORM would write it: every concrete column but the
    primary key, with defaults and auto_now(_add) filled in. `computed` gives a column
    (by attname) an SQL expression instead, such as a column of a CTE. Each value is cast
    to its column's type, as a SELECT list gives the database no column to infer it from.
    For the hot device paths on PostgreSQL, which fold a row's insert into one statement
    with the UPDATE that decides it."""
    quote = connection.ops.quote_name
    columns, selected, params = [], [], []
    for field, cast in _columns(type(row), connection.vendor):
        columns.append(quote(field.column))
        if field.attname in computed:
            selected.append(computed[field.attname])
            continue
        selected.append(cast)
        params.append(field.get_db_prep_save(field.pre_save(row, add=True), connection))
    table = quote(row._meta.db_table)
    return f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(selected)}", params


@cache
def _columns(model: type[models.Model], vendor: str) -> list[tuple[models.Field, str]]:
    """A model's columns but the primary key, each with its cast placeholder."""
    return [
        (field, f"CAST(%s AS {field.cast_db_type(connection)})")
        for field in model._meta.concrete_fields
        if not field.primary_key
    ]
