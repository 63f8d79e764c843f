from django.urls import path

from licensing import views

app_name = "licensing"

# Both lists export CSV with ?format=csv (same view, scope, filters and order).
urlpatterns = [
    path("licenses/summary/", views.SummaryView.as_view(), name="summary"),
    path("licenses/summary/sync/", views.SummarySyncView.as_view(), name="summary_sync"),
    path("licenses/assigned/", views.AssignedView.as_view(), name="assigned"),
]
