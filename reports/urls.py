from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("dashboard/licenses", views.DashboardLicensesView.as_view(), name="dashboard_licenses"),
    path("dashboard/tokens", views.DashboardTokensView.as_view(), name="dashboard_tokens"),
    path("reports/history/", views.HistoryView.as_view(), name="history"),
    path("reports/events/", views.EventListView.as_view(), name="event_list"),
]
