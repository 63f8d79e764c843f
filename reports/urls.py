from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("reports/history/", views.HistoryView.as_view(), name="history"),
    path("reports/events/", views.EventListView.as_view(), name="event_list"),
]
