from django.db.models import QuerySet
from django.http import HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.generic import TemplateView, View

from accounts.models import Customer
from accounts.permissions import Action, Area, can
from accounts.views_base import PortalView
from core.exports import csv_response, filter_errors_response
from reports.api.dashboard import (
    DashboardQuerySerializer,
    LicenseChartSerializer,
    TokenChartSerializer,
)
from reports.filters import EventFilterSet, HistoryFilterSet
from reports.lists import EVENT_CSV, HISTORY_CSV, ReportScopeMixin, csv_header, csv_rows
from reports.models import (
    AppId,
    Event,
    EventActor,
    EventType,
    History,
    HistoryAction,
    HistoryResult,
    Severity,
    event_area,
    hidden_event_areas,
)
from reports.paging import Cursor, CursorError, CursorGone, keyset_page, row_count
from reports.rollups import RANGE_MONTHS, dashboard_span, license_chart, token_chart

# The dashboard's graphs: name → (area, chart, serializer). The page and its polling read
# the daily rollups only (reports.rollups), so a page costs the same for any range.
DASHBOARD_GRAPHS = {
    "licenses": (Area.LICENSES, license_chart, LicenseChartSerializer),
    "tokens": (Area.DASHBOARD, token_chart, TokenChartSerializer),
}
# How often the page fetches the graphs again while the tab is visible.
DASHBOARD_POLL_SECONDS = 60


class DashboardView(PortalView, TemplateView):
    """The guide's Assigned licenses and Token requests graphs for a range of days (1, 3
    or 6 months, or chosen dates), each with its numbers as a table. The license graph is
    only for roles that may view licenses. Bad dates in the query show the default range
    and say what was wrong."""

    area = Area.DASHBOARD
    page_title = "Dashboard"
    template_name = "reports/dashboard.html"

    def get_context_data(self, **kwargs):
        query = DashboardQuerySerializer(data=self.request.GET)
        valid = query.is_valid()
        span = query.span() if valid else dashboard_span()
        graphs = {}
        for name, (area, chart, serializer) in DASHBOARD_GRAPHS.items():
            if can(self.request.user, area, Action.VIEW):
                built = chart(customer=self.customer, span=span)
                graphs[name] = {"chart": built, "data": serializer(built).data}
        params = query.validated_data if valid else {}
        return super().get_context_data(
            graphs=graphs,
            span=span,
            ranges=[
                (key, f"{months} month{'s' if months > 1 else ''}")
                for key, months in RANGE_MONTHS.items()
            ],
            current_range="" if params.get("from") else params.get("range", "1m"),
            query_errors=query.errors if not valid else {},
            poll_seconds=DASHBOARD_POLL_SECONDS,
            **kwargs,
        )


class DashboardGraphView(PortalView, View):
    """One graph's numbers as JSON (the answer of GET /admin/api/v1/dashboard/<graph>),
    which the dashboard page polls with its session. 400 naming the parameter at fault."""

    graph = ""

    def get(self, request):
        _, chart, serializer = DASHBOARD_GRAPHS[self.graph]
        query = DashboardQuerySerializer(data=request.GET)
        if not query.is_valid():
            return JsonResponse(query.errors, status=400)
        built = chart(customer=self.customer, span=query.span())
        response = JsonResponse(serializer(built).data)
        response["Cache-Control"] = "no-store"
        return response


class DashboardLicensesView(DashboardGraphView):
    area = Area.LICENSES
    graph = "licenses"


class DashboardTokensView(DashboardGraphView):
    area = Area.DASHBOARD
    graph = "tokens"


# --- History and Events ---------------------------------------------------------------


class ReportListView(ReportScopeMixin, PortalView, TemplateView):
    """Base of the History and Events pages: the scope of reports.lists, the FilterSet
    shared with the API, keyset paging (reports.paging), a count exact up to `count_cap`
    and estimated past it, `?format=csv` (every row the filters show, streamed) and live
    refresh (`?live=<newest id>`: the table again when newer rows match, else 204).

    A constant number of queries per page, whatever the depth: the cursor's row (when
    paging), the page, the count, the estimate (past the cap), and the filter menus that
    are not fixed choices (staff's customers; the users of Events)."""

    area = Area.REPORTS
    needs_customer = False
    count_cap = 10_000
    paginate_by = 25
    max_page_size = 200
    # How often the first page asks for newer rows while the tab is visible.
    live_seconds = 5
    table_template = ""
    csv_name = ""
    csv_columns: list = []

    def get(self, request, *args, **kwargs):
        self.scope_from_query()
        # The form sends its empty fields too: empty means "no filter" here.
        query = request.GET.copy()
        for name in [name for name, value in query.items() if value == ""]:
            query.pop(name)
        self.filterset = self.filterset_class(query, queryset=self.get_queryset())
        self.errors = {} if self.filterset.is_valid() else dict(self.filterset.errors)
        problem = self.sort_problem(request.GET.get("ordering", ""))
        if problem and not self.errors:
            self.errors["ordering"] = [problem]
        if request.GET.get("format") == "csv":
            return self.csv_export()
        if "live" in request.GET:
            return self.live_table()
        return super().get(request, *args, **kwargs)

    def rows(self) -> QuerySet:
        """The filtered, sorted rows (none when a filter is bad)."""
        if self.errors:
            return self.filterset.queryset.none()
        return self.filterset.qs

    @property
    def default_order(self) -> bool:
        return self.request.GET.get("ordering", "") in {"", "-created"}

    def page_size(self) -> int:
        try:
            size = int(self.request.GET.get("pageSize", self.paginate_by))
        except ValueError:
            return self.paginate_by
        return min(max(size, 1), self.max_page_size)

    def get_context_data(self, **kwargs):
        notice = ""
        try:
            cursor = Cursor.parse(self.request.GET.get("cursor"))
        except CursorError as exc:
            self.errors.setdefault("cursor", []).append(str(exc))
            cursor = Cursor("")
        rows = self.rows()
        try:
            page = keyset_page(
                rows, cursor=cursor, size=self.page_size(), anchors=self.get_queryset()
            )
        except CursorGone:
            notice = "The row this page started from has been deleted: here are the newest."
            cursor = Cursor("")
            page = keyset_page(rows, cursor=cursor, size=self.page_size(), anchors=rows)
        count = row_count(rows, cap=self.count_cap) if page.rows or cursor.direction else None
        live = page.is_first and self.default_order and not self.errors
        return super().get_context_data(
            filterset=self.filterset,
            filter_errors=self.errors,
            page=page,
            object_list=page.rows,
            count=count,
            notice=notice,
            ordering=self.request.GET.get("ordering", ""),
            filtered=any(
                self.request.GET.get(name)
                for name in self.filterset.get_filters()
                if name != "ordering"
            ),
            all_customers=self.all_customers,
            sortable=not self.all_customers,
            listed_customer=self.listed_customer,
            customer_slug=self.customer_slug,
            unknown_customer=bool(self.customer_slug) and self.listed_customer is None,
            customers=(
                Customer.objects.order_by("name").only("slug", "name")
                if self.request.user.is_staff
                else None
            ),
            live=live,
            live_seconds=self.live_seconds,
            newest=page.rows[0].pk if live and page.rows else 0,
            table_template=self.table_template,
            **kwargs,
        )

    def live_table(self):
        """The table again when rows newer than `?live=<id>` match the filters; 204 when
        none do (one indexed query), or when this is not the first page in the default
        order (live refresh would move rows under the reader's eyes)."""
        newest = self.request.GET.get("live", "")
        unchanged = HttpResponse(status=204)
        if self.errors or not newest.isdigit() or not self.default_order:
            return unchanged
        if self.request.GET.get("cursor") or not self.rows().filter(pk__gt=int(newest)).exists():
            return unchanged
        response = TemplateResponse(
            self.request, self.table_template, self.get_context_data(live_refresh=True)
        )
        add_never_cache_headers(response)
        return response

    def csv_export(self):
        if self.errors:
            return filter_errors_response(self.errors)
        who = self.listed_customer.slug if self.listed_customer else "all-customers"
        filename = f"{self.csv_name}-{who}-{timezone.localdate():%Y-%m-%d}.csv"
        return csv_response(
            filename, csv_header(self.csv_columns), csv_rows(self.rows(), self.csv_columns)
        )


class HistoryView(ReportListView):
    """Every request a device made: redemptions, license requests, check-ins, codes."""

    model = History
    filterset_class = HistoryFilterSet
    template_name = "reports/history.html"
    table_template = "reports/includes/history_table.html"
    page_title = "History"
    csv_name = "history"
    csv_columns = HISTORY_CSV

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("customer")

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            actions=HistoryAction.choices,
            results=HistoryResult.choices,
            app_ids=AppId.choices,
            **kwargs,
        )


class EventListView(ReportListView):
    """Who changed what, and what background jobs did: only events about areas the role
    may view (Event.objects.visible_to)."""

    model = Event
    filterset_class = EventFilterSet
    template_name = "reports/event_list.html"
    table_template = "reports/includes/event_table.html"
    page_title = "Events"
    csv_name = "events"
    csv_columns = EVENT_CSV

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("customer")

    def get_context_data(self, **kwargs):
        if kwargs.get("live_refresh"):
            return super().get_context_data(**kwargs)
        hidden = set(hidden_event_areas(self.request.user))
        actors = EventActor.objects.order_by("username")
        if self.all_customers:
            usernames = actors.values_list("username", flat=True).distinct()
        else:
            usernames = actors.filter(customer=self.listed_customer).values_list(
                "username", flat=True
            )
        return super().get_context_data(
            types=[
                (value, label)
                for value, label in EventType.choices
                if event_area(value) not in hidden
            ],
            usernames=usernames,
            severities=Severity.choices,
            **kwargs,
        )
