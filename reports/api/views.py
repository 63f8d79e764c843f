"""The History and Events admin API: GET /history and GET /events, read only.

The same FilterSets, scope and role rule as the pages (reports.filters, reports.lists):
a Super-Admin, Admin or User gets their customer's rows, and events about areas their
role may not view are never listed; staff get every customer's rows, or one customer's
with `?customer=<slug>`. Paged by keyset (reports.paging): follow `next` and `previous`.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from accounts.api.base import AdminAPIMixin
from accounts.permissions import Area
from core.api.pagination import PagePagination
from reports.api.serializers import EventSerializer, HistorySerializer
from reports.filters import EventFilterSet, HistoryFilterSet
from reports.lists import ReportScopeMixin
from reports.models import Event, History
from reports.paging import CURSOR_PATTERN, Cursor, CursorError, CursorGone, keyset_page

TAG = "reports"

LIST_CUSTOMER_PARAMETER = OpenApiParameter(
    "customer",
    OpenApiTypes.STR,
    description=(
        "Staff only: the slug of the customer whose rows to list; without it, every "
        "customer's (sorted by time only). Ignored for everyone else, who only ever see "
        "their own customer's."
    ),
)


class KeysetPagination(BasePagination):
    """`?cursor=` (from a `next` or `previous` link) and `?pageSize=`: the rows after or
    before a row, in the list's order, whatever the depth in the same time."""

    page_size = 50
    max_page_size = settings.API_PAGE_SIZE_MAX

    def paginate_queryset(self, queryset, request, view=None):
        raw = request.query_params.get("cursor")
        try:
            if raw == "":  # given but empty: not a cursor this API hands out
                raise CursorError("expected n<row id>, p<row id> or last; got ''")
            cursor = Cursor.parse(raw)
        except CursorError as exc:
            raise ValidationError({"cursor": [str(exc)]}) from None
        sizes = PagePagination()
        sizes.page_size, sizes.max_page_size = self.page_size, self.max_page_size
        try:
            self.page = keyset_page(
                queryset,
                cursor=cursor,
                size=sizes.get_page_size(request),
                anchors=view.get_queryset(),
            )
        except CursorGone as exc:
            raise NotFound(f"cursor: {exc}; start again from the first page") from None
        self.request = request
        return self.page.rows

    def get_paginated_response(self, data):
        return Response(
            {
                "next": self._link(self.page.next_cursor),
                "previous": self._link(self.page.previous_cursor),
                "results": data,
            }
        )

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, "cursor", cursor)

    def get_paginated_response_schema(self, schema):
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {**link, "description": "The next page; null on the last."},
                "previous": {**link, "description": "The previous page; null on the first."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "cursor",
                "required": False,
                "in": "query",
                "description": "Where the page starts, as the `next` and `previous` links "
                "give it: n<id> (the rows after that row), p<id> (before it) or last (the "
                "last page). Without it, the first page. A cursor whose row is gone (the "
                "retention job deleted it) answers 404: start again.",
                "schema": {"type": "string", "pattern": CURSOR_PATTERN},
            },
            {
                "name": "pageSize",
                "required": False,
                "in": "query",
                "description": f"Rows per page (default {self.page_size}); a larger size "
                f"than {self.max_page_size} is served as {self.max_page_size}.",
                "schema": {"type": "integer", "minimum": 1},
            },
        ]


class ReportListViewSet(
    ReportScopeMixin, AdminAPIMixin, mixins.ListModelMixin, viewsets.GenericViewSet
):
    """Base of the two lists: the scope of reports.lists and keyset paging."""

    area = Area.REPORTS
    pagination_class = KeysetPagination

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.scope_from_customer()
        problem = self.sort_problem(request.query_params.get("ordering", ""))
        if problem:
            raise ValidationError({"ordering": [problem]})

    def resolve_customer(self, request):
        if request.user.is_staff and not request.query_params.get("customer"):
            return None  # staff without ?customer= list every customer
        return super().resolve_customer(request)

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("customer")


class HistoryViewSet(ReportListViewSet):
    model = History
    serializer_class = HistorySerializer
    filterset_class = HistoryFilterSet

    @extend_schema(
        tags=[TAG],
        operation_id="history_list",
        summary="History: one row per device request",
        description=(
            "Newest first unless `ordering` says otherwise. `q` finds the rows whose token "
            "or device ID contains it (ignoring case); `dateFrom` and `dateTo` are days in "
            "the server's time zone, both included. Follow `next` to page: every page "
            "costs the same, however deep."
        ),
        parameters=[LIST_CUSTOMER_PARAMETER],
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class EventViewSet(ReportListViewSet):
    model = Event
    serializer_class = EventSerializer
    filterset_class = EventFilterSet

    @extend_schema(
        tags=[TAG],
        operation_id="events_list",
        summary="Events: who changed what, and what background jobs did",
        description=(
            "Newest first unless `ordering` says otherwise. Only events about areas your "
            "role may view are listed: a User or Admin gets no license or portal-user "
            "events. `q` finds the events whose text contains it (ignoring case); `user` "
            "is a login name. Follow `next` to page."
        ),
        parameters=[LIST_CUSTOMER_PARAMETER],
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)
