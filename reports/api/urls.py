"""Reports admin API. Every app's api/urls.py exports api_urlpatterns; config/urls.py
collects them under /admin/api/v1/."""

from django.urls import path

from reports.api import dashboard, views

api_urlpatterns = [
    path(
        "dashboard/licenses", dashboard.DashboardLicensesView.as_view(), name="dashboard-licenses"
    ),
    path("dashboard/tokens", dashboard.DashboardTokensView.as_view(), name="dashboard-tokens"),
    path("history", views.HistoryViewSet.as_view({"get": "list"}), name="history-list"),
    path("events", views.EventViewSet.as_view({"get": "list"}), name="event-list"),
]
