"""CSV exports of the portal's lists, for every app: `?format=csv` on a list page gives
exactly the rows its filters and sort show, every page of them. Times are in the page's
time zone (the customer's) with their UTC offset, e.g. 2026-11-29T19:33:00-05:00.

The file is streamed (StreamingHttpResponse) from a database cursor a chunk of rows at a
time, so exporting a million rows keeps the server's memory flat. Cells a spreadsheet
would run as a formula are escaped (CSV injection)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, tzinfo
from typing import Any

from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.utils import timezone

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection):
# such cells get a leading apostrophe, which spreadsheets show as text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any, zone: tzinfo | None = None) -> str:
    """A cell; a moment in `zone` (default: the current one) with its UTC offset."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return timezone.localtime(value, zone).isoformat(timespec="seconds")
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def json_cell(value: Any) -> str:
    """JSON for a CSV cell."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


class _Echo:
    """csv.writer writes each row here and gets the line back, to stream it."""

    def write(self, value: str) -> str:
        return value


def csv_response(filename: str, header: list[str], rows: Iterable[Sequence[Any]]):
    """Stream rows as CSV (UTF-8 with a BOM, so spreadsheets read names correctly)."""
    writer = csv.writer(_Echo())
    # The page's zone (the customer's), taken now: the body is written after the request's
    # middleware has finished, when the server's zone is back.
    zone = timezone.get_current_timezone()

    def lines() -> Iterator[str]:
        yield "\ufeff" + writer.writerow(header)
        for row in rows:
            yield writer.writerow([csv_cell(value, zone) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def filter_errors_response(errors) -> HttpResponseBadRequest:
    """A list's bad filters, as text (an export has no page to show them on)."""
    text = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())
    return HttpResponseBadRequest(text, content_type="text/plain; charset=utf-8")


class CsvExportMixin:
    """`?format=csv` on a list page (FilteredListMixin and a FilterSet): the rows of the
    page's scope, filters and sort, not paged, streamed. A view names the file
    (`csv_name`) and its columns (`csv_columns`: a header and how to read it from a row).
    The template's button is includes/csv_button.html."""

    csv_name = ""
    csv_columns: Sequence[tuple[str, Callable[[Any], Any]]] = ()
    csv_chunk_size = 2000

    def get(self, request, *args, **kwargs):
        if request.GET.get("format") == "csv":
            return self.csv_export()
        return super().get(request, *args, **kwargs)

    def csv_export(self):
        filterset = self.filterset_class(self.request.GET, queryset=self.get_queryset())
        if not filterset.is_valid():
            return filter_errors_response(filterset.errors)
        customer = getattr(self, "customer", None)
        who = f"-{customer.slug}" if customer is not None else ""
        filename = f"{self.csv_name}{who}-{timezone.localdate():%Y-%m-%d}.csv"
        rows = (
            [read(row) for _, read in self.csv_columns]
            for row in filterset.qs.iterator(chunk_size=self.csv_chunk_size)
        )
        return csv_response(filename, [header for header, _ in self.csv_columns], rows)
