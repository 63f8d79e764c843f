"""What the History and Events lists share between their pages, CSV exports and API
lists: whose rows they show (the scope), the role rule of Events, and the CSV columns.

Scope, as on the license lists: a portal user sees their customer's rows. Staff see every
customer's rows (with a customer column and filter, and rows of no customer such as
refused unknown tokens and system jobs), or one customer's with `?customer=<slug>`. Events
about an area the user's role may not view are never listed (Event.objects.visible_to).
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import QuerySet

from accounts.tenancy import StaffScopeMixin
from reports.filters import ALL_CUSTOMERS_SORTS
from reports.models import Event


class ReportScopeMixin(StaffScopeMixin):
    """The scope of the History and Events lists (pages, CSV and API): the staff scope
    (accounts.tenancy.StaffScopeMixin) and, for Events, only what the user's role may
    see. Subclasses narrow rows in `refine_queryset()`."""

    def scope(self) -> QuerySet:
        queryset = super().scope()
        if self.model is Event:
            queryset = queryset.visible_to(self.request.user)
        return queryset

    def sort_problem(self, ordering: str) -> str | None:
        """Why `ordering` cannot be served, or None. Lists of every customer sort only by
        time: the indexes of the other sorts begin with the customer."""
        if self.all_customers and ordering and ordering not in ALL_CUSTOMERS_SORTS:
            return (
                f"sorting by {ordering.lstrip('-')} needs one customer: choose a customer "
                "first (every customer's rows sort by time only)"
            )
        return None


def _data(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""


# CSV columns: (header, column read with values_list, how to show it).
HISTORY_CSV: list[tuple[str, str, Any]] = [
    ("Customer", "customer__name", None),
    ("Timestamp", "created", None),
    ("Action", "action", None),
    ("Token", "token", None),
    ("App", "app_id", None),
    ("Device ID", "device_id", None),
    ("Result", "result", None),
    ("IP", "ip_address", None),
]
EVENT_CSV: list[tuple[str, str, Any]] = [
    ("Customer", "customer__name", None),
    ("Timestamp", "created", None),
    ("User", "username", lambda name: name or "system"),
    ("Type", "type", None),
    ("Severity", "severity", None),
    ("Info", "info", None),
    ("Details", "data", _data),
]
CSV_CHUNK_SIZE = 2000


def csv_rows(queryset: QuerySet, columns: list[tuple[str, str, Any]]):
    """The rows of `queryset` (in its order) as CSV values, read a chunk at a time from a
    database cursor as plain tuples: memory stays flat whatever the number of rows."""
    shows = [show for _, _, show in columns]
    rows = queryset.values_list(*(column for _, column, _ in columns))
    for row in rows.iterator(chunk_size=CSV_CHUNK_SIZE):
        yield [show(value) if show else value for show, value in zip(shows, row, strict=True)]


def csv_header(columns: list[tuple[str, str, Any]]) -> list[str]:
    return [header for header, _, _ in columns]
