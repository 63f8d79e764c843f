from django.views.generic import TemplateView

from accounts.permissions import Area
from accounts.views_base import FilteredListMixin, PlaceholderView, TenantViewMixin
from reports.filters import EventFilterSet, HistoryFilterSet
from reports.models import Event, History, HistoryAction, HistoryResult, Severity


class DashboardView(PlaceholderView):
    area = Area.DASHBOARD
    page_title = "Dashboard"
    empty_title = "No activity yet"
    empty_text = (
        "Graphs of assigned licenses and token requests appear here once devices start "
        "redeeming tokens. Create a token under Tokens to get started."
    )


class HistoryView(FilteredListMixin, TenantViewMixin, TemplateView):
    """Every request a device made: token redemptions and license requests."""

    area = Area.REPORTS
    model = History
    filterset_class = HistoryFilterSet
    template_name = "reports/history.html"
    page_title = "History"
    count_cap = 10_000

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            actions=HistoryAction.choices, results=HistoryResult.choices, **kwargs
        )


class EventListView(FilteredListMixin, TenantViewMixin, TemplateView):
    """Who changed what, and what background jobs did."""

    area = Area.REPORTS
    model = Event
    filterset_class = EventFilterSet
    template_name = "reports/event_list.html"
    page_title = "Events"
    count_cap = 10_000

    def get_context_data(self, **kwargs):
        scoped = self.get_queryset()
        return super().get_context_data(
            types=scoped.order_by("type").values_list("type", flat=True).distinct(),
            usernames=scoped.exclude(username="")
            .order_by("username")
            .values_list("username", flat=True)
            .distinct(),
            severities=Severity.choices,
            **kwargs,
        )
