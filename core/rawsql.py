"""Reading raw SQL results the way the ORM would, on PostgreSQL and SQLite alike. The hot
device paths use a few hand-written statements (UPDATE … RETURNING, joins along unique
indexes); their rows come straight from the driver, and on PostgreSQL each is prepared
once per connection (`prepared_cursor`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.utils import CursorWrapper
from django.utils import timezone
from django.utils.dateparse import parse_datetime


def db_datetime(value: datetime | str | None) -> datetime | None:
    """An aware date and time: psycopg gives one already; SQLite's driver gives a naive
    one (or text) in UTC, which is how Django stores it there."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def insert_select(
    model: type[models.Model], values: dict[str, Any], computed: dict[str, str]
) -> tuple[str, list[Any]]:
    """`INSERT INTO <table> (<columns>) SELECT <values>` (no FROM: the caller adds it) for
    a new row of `model` with `values` (by attname), written as the ORM would write it:
    every concrete column but the primary key, with defaults and auto_now(_add) filled
    in. `computed` gives a column an SQL expression instead, such as a column of a CTE.
    Each value is cast to its column's type, as a SELECT list gives the database no column
    to infer it from. For the hot device paths on PostgreSQL, which fold a row's insert
    into one statement with the UPDATE that decides it: the statement's text and the
    defaults are worked out once per model, only the values per call."""
    db = connections[DEFAULT_DB_ALIAS]  # `connection` looks it up on each use
    sql, columns = _insert_plan(model, tuple(sorted(computed.items())), db.vendor)
    now = None
    params = []
    for field, default in columns:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            now = now or timezone.now()
            value = now
        elif field.attname in values:
            value = values[field.attname]
        elif default is not _PER_ROW:
            params.append(default)
            continue
        else:
            value = field.get_default()
        params.append(field.get_db_prep_save(value, db))
    return sql, params


# A default that must be worked out for each row (a callable one).
_PER_ROW = object()


@cache
def _insert_plan(
    model: type[models.Model], computed: tuple[tuple[str, str], ...], vendor: str
) -> tuple[str, list[tuple[models.Field, Any]]]:
    """The INSERT … SELECT text of insert_select, and its parameters' fields, each with
    its default ready for the database (or _PER_ROW)."""
    quote = connection.ops.quote_name
    expressions = dict(computed)
    columns, selected, fields = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(quote(field.column))
        if field.attname in expressions:
            selected.append(expressions[field.attname])
            continue
        selected.append(f"CAST(%s AS {field.cast_db_type(connection)})")
        default = (
            _PER_ROW
            if field.has_default() and callable(field.default)
            else field.get_db_prep_save(field.get_default(), connection)
        )
        fields.append((field, default))
    table = quote(model._meta.db_table)
    return f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(selected)}", fields


@contextmanager
def prepared_cursor() -> Iterator[Any]:
    """`connection.cursor()` for the hot device statements. On PostgreSQL each statement
    is sent with its parameters apart and prepared: the server parses and plans it on a
    connection's first use and then only executes it, which is most of its work saved
    for the long WITH statements of redemption and check-in. Django's own cursors bind
    parameters into the text and prepare nothing (its default, which keeps connection
    poolers working: a transaction-mode pooler in front of PostgreSQL would need these
    statements not to be prepared). Statements run through it are logged as any other,
    by their text with placeholders."""
    db = connections[DEFAULT_DB_ALIAS]  # `connection` looks it up on each use
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            yield cursor
        return
    prepared, logged = _prepared_cursor_classes()
    # As connection.cursor() does: a kept connection that died while idle is replaced.
    db.close_if_health_check_failed()
    db.ensure_connection()
    with db.wrap_database_errors:
        raw = prepared(db.connection)
    with (logged if db.queries_logged else CursorWrapper)(raw, db) as cursor:
        yield cursor


@cache
def _prepared_cursor_classes() -> tuple[type, type]:
    # The PostgreSQL backend imports psycopg: only when the database is PostgreSQL.
    from django.db.backends.postgresql.base import CursorDebugWrapper, ServerBindingCursor

    class PreparedCursor(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

    class LoggedCursor(CursorDebugWrapper):
        # Django's log asks the driver for the last query, which psycopg does not keep
        # for a prepared statement: the text as written is logged instead.
        def execute(self, sql, params=None):
            with self.debug_sql(sql, params):
                return self._execute_with_wrappers(sql, params, many=False, executor=self._execute)

    return PreparedCursor, LoggedCursor
