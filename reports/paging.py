"""Keyset ("seek") paging and bounded counts for History and Events, shared by their
pages and API lists.

A page is "the `size` rows after row N" in the list's order, never "skip 50,000 rows":
the ordering is a key of columns ending in the primary key, all in one direction, that
an index covers (see reports.models), and the next page starts where the last row's key
is, with one row comparison `(token, created, id) < (…)` the index seeks to. Page 2,000
costs what page 1 costs.

A cursor names the row a page starts from, so every cursor that matches CURSOR_PATTERN
is well formed: `n123` is the rows after row 123, `p123` the rows before it, `last` the
last page. The row's key values are read from the list's scope (the customer's rows the
user may see), unfiltered, so a cursor keeps working when a filter changes; a row that
is gone (the retention job deleted it) is `CursorGone`.

Counts are exact up to a cap (a COUNT over at most cap + 1 rows, without ORDER BY) and
past it an estimate: PostgreSQL's planner's, from EXPLAIN; elsewhere none ("more than").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import F, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan

CURSOR_PATTERN = r"^(?:[np][1-9][0-9]{0,17}|last)$"
_CURSOR = re.compile(CURSOR_PATTERN)


class CursorError(ValueError):
    """A cursor that is not of the form this paging hands out."""


class CursorGone(LookupError):
    """The row a cursor starts from is not in the list any more."""


@dataclass(frozen=True)
class Cursor:
    direction: str  # "" (first page), "n" (after), "p" (before), "l" (last page)
    anchor: int | None = None

    @classmethod
    def parse(cls, raw: str | None) -> Cursor:
        if not raw:
            return cls("")
        if not _CURSOR.fullmatch(raw):
            raise CursorError(
                f"expected n<row id>, p<row id> or last, as the links give it; got {raw[:30]!r}"
            )
        if raw == "last":
            return cls("l")
        return cls(raw[0], int(raw[1:]))


@dataclass
class KeysetPage:
    rows: list[Any]
    next_cursor: str | None
    previous_cursor: str | None
    # The first page: the one live refresh keeps up to date.
    is_first: bool

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.previous_cursor is not None


def sort_key(queryset: QuerySet) -> tuple[list[str], bool]:
    """The ordering's columns and whether it is descending. The ordering must end in the
    primary key with every column in one direction, as the filters' sorts are."""
    ordering = [str(o) for o in queryset.query.order_by] or list(queryset.model._meta.ordering)
    descending = {o.startswith("-") for o in ordering}
    fields = [o.lstrip("-") for o in ordering]
    if len(descending) != 1 or fields[-1] not in {"id", "pk"}:
        raise ValueError(f"keyset paging needs a one-way ordering ending in id, not {ordering}")
    fields[-1] = "pk"
    return fields, descending.pop()


def keyset_page(queryset: QuerySet, *, cursor: Cursor, size: int, anchors: QuerySet) -> KeysetPage:
    """The page of `queryset` (filtered and ordered) that `cursor` names. `anchors` is the
    unfiltered scope the cursor's row is looked up in. Queries: the anchor (with a
    cursor), the page, and once in a while the first page again (see below)."""
    fields, descending = sort_key(queryset)
    rows_qs = queryset
    if cursor.anchor is not None:
        key = anchors.filter(pk=cursor.anchor).values_list(*fields).first()
        if key is None:
            raise CursorGone(f"row {cursor.anchor} is not in this list any more")
        after = cursor.direction == "n"
        lookup = TupleLessThan if after == descending else TupleGreaterThan
        rows_qs = rows_qs.filter(lookup(Tuple(*(F(f) for f in fields)), key))
    backward = cursor.direction in {"p", "l"}
    if backward:
        rows_qs = rows_qs.reverse()
    rows = list(rows_qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backward:
        rows.reverse()
        if cursor.direction == "p" and not more:
            # Back at the start: show the first page as it is, a full one, rather than
            # the few rows before the anchor.
            return keyset_page(queryset, cursor=Cursor(""), size=size, anchors=anchors)
        has_previous, has_next = more, cursor.direction == "p"
    else:
        has_next, has_previous = more, cursor.direction == "n"
    return KeysetPage(
        rows=rows,
        next_cursor=f"n{rows[-1].pk}" if has_next and rows else None,
        previous_cursor=f"p{rows[0].pk}" if has_previous and rows else None,
        is_first=cursor.direction == "",
    )


@dataclass(frozen=True)
class RowCount:
    """How many rows a list has: exact up to `cap`; past it `estimate` (None where the
    database gives none)."""

    exact: int | None
    cap: int
    estimate: int | None = None

    @property
    def capped(self) -> bool:
        return self.exact is None


def row_count(queryset: QuerySet, *, cap: int) -> RowCount:
    """One COUNT over at most cap + 1 rows (no ORDER BY, no join), plus on PostgreSQL past
    the cap one EXPLAIN for the planner's estimate."""
    rows = queryset.order_by().values("pk")
    seen = rows[: cap + 1].count()
    if seen <= cap:
        return RowCount(exact=seen, cap=cap)
    estimate = planner_estimate(rows)
    return RowCount(exact=None, cap=cap, estimate=max(estimate, cap + 1) if estimate else None)


def planner_estimate(queryset: QuerySet) -> int | None:
    """PostgreSQL's estimate of the rows `queryset` returns (EXPLAIN, nothing is run)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
