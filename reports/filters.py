"""The FilterSets of History and Events, shared by their pages, CSV exports and API lists.

They offer only what an index serves at millions of rows (reports.models): equality on a
column the indexes begin with, a date range on the timestamp, and sorts by those columns.
Each sort is a key (column, created, id) in one direction, which reports.paging pages
through with a row comparison; searching reads trigram indexes on PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field

from reports.models import AppId, Event, EventType, History, HistoryAction, HistoryResult, Severity

# Sorts by their name in `?ordering=`: the columns before the primary key.
HISTORY_SORTS: dict[str, tuple[str, ...]] = {
    "created": ("created",),
    "action": ("action", "created"),
    "token": ("token", "created"),
    "appId": ("app_id", "created"),
    "deviceId": ("device_id", "created"),
    "result": ("result", "created"),
}
EVENT_SORTS: dict[str, tuple[str, ...]] = {
    "created": ("created",),
    "user": ("username", "created"),
    "type": ("type", "created"),
    "severity": ("severity", "created"),
}
# Lists of every customer (staff) sort only by time: the other indexes begin with the
# customer.
ALL_CUSTOMERS_SORTS = ("created", "-created")
SEARCH_MAX_LENGTH = 128


class KeysetOrderingFilter(django_filters.ChoiceFilter):
    """`ordering`: one of the sorts, `-` first for descending. Orders by the sort's
    columns and the primary key, all in the one direction, as keyset paging needs."""

    def __init__(self, *, sorts: dict[str, tuple[str, ...]], **kwargs):
        self.sorts = sorts
        choices = [(name, name) for sort in sorts for name in (sort, f"-{sort}")]
        kwargs.setdefault(
            "help_text",
            "Sort by this column (`-` first: descending); ties are broken by time and id. "
            "Default: -created, newest first.",
        )
        super().__init__(choices=choices, **kwargs)

    def filter(self, queryset: QuerySet, value: str) -> QuerySet:
        if not value:
            return queryset
        sign = "-" if value.startswith("-") else ""
        return queryset.order_by(*(f"{sign}{f}" for f in (*self.sorts[value.lstrip("-")], "id")))


class _IsoDateField(forms.DateField):
    """A day as YYYY-MM-DD and nothing else (the API's schema says `format: date`)."""

    def to_python(self, value):
        if value is None:  # not given
            return None
        if value == "":
            raise ValidationError("expected a date as YYYY-MM-DD, got ''")
        if not _ISO_DATE.fullmatch(str(value)):
            raise ValidationError(f"expected a date as YYYY-MM-DD, got {str(value)[:20]!r}")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValidationError(f"expected a date as YYYY-MM-DD, got {value!r}") from None


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@extend_schema_field({"type": "string", "format": "date", "pattern": f"^{_ISO_DATE.pattern}$"})
class IsoDateFilter(django_filters.DateFilter):
    field_class = _IsoDateField


@extend_schema_field({"type": "string", "maxLength": SEARCH_MAX_LENGTH})
class SearchFilter(django_filters.CharFilter):
    """Free text of at most SEARCH_MAX_LENGTH characters (longer is refused)."""

    def __init__(self, **kwargs):
        super().__init__(max_length=SEARCH_MAX_LENGTH, **kwargs)


@extend_schema_field({"type": "string", "maxLength": 150})
class UsernameFilter(django_filters.CharFilter):
    def __init__(self, **kwargs):
        super().__init__(field_name="username", max_length=150, **kwargs)


class DateRangeFilterSet(django_filters.FilterSet):
    """From and to a day (both included), in the portal's time zone. An empty value is
    refused (the portal drops empty fields before filtering)."""

    dateFrom = IsoDateFilter(
        method="filter_from", label="From", help_text="The first day, e.g. 2026-01-31."
    )
    dateTo = IsoDateFilter(method="filter_to", label="To", help_text="The last day (included).")

    def filter_from(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(created__gte=_day_start(value))

    def filter_to(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(created__lt=_day_start(value + timedelta(days=1)))


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class HistoryFilterSet(DateRangeFilterSet):
    """Shared by the History page, its CSV and GET /admin/api/v1/history."""

    q = SearchFilter(
        method="search",
        label="Token or device ID",
        help_text="Rows whose token or device ID contains this, ignoring case.",
    )
    action = django_filters.ChoiceFilter(choices=HistoryAction.choices)
    appId = django_filters.ChoiceFilter(field_name="app_id", choices=AppId.choices, label="App")
    result = django_filters.ChoiceFilter(choices=HistoryResult.choices)
    ordering = KeysetOrderingFilter(sorts=HISTORY_SORTS)

    class Meta:
        model = History
        fields = ["q", "action", "appId", "result", "dateFrom", "dateTo"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(token__icontains=value) | Q(device_id__icontains=value))


class EventFilterSet(DateRangeFilterSet):
    """Shared by the Events page, its CSV and GET /admin/api/v1/events."""

    q = SearchFilter(
        method="search",
        label="Search",
        help_text="Events whose text contains this, ignoring case.",
    )
    type = django_filters.ChoiceFilter(choices=EventType.choices)
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    user = UsernameFilter(help_text="Events by this user (their login name).")
    ordering = KeysetOrderingFilter(sorts=EVENT_SORTS)

    class Meta:
        model = Event
        fields = ["q", "type", "severity", "user", "dateFrom", "dateTo"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(info__icontains=value)
