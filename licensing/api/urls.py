"""Licenses admin API: /licenses/summary, /licenses/assigned, /licenses/sync."""

from django.urls import path

from licensing.api import views

api_urlpatterns = [
    path(
        "licenses/summary",
        views.EntitlementSummaryViewSet.as_view({"get": "list"}),
        name="license-summary",
    ),
    path(
        "licenses/assigned",
        views.AssignmentViewSet.as_view({"get": "list"}),
        name="license-assigned",
    ),
    path("licenses/sync", views.LicenseSyncView.as_view(), name="license-sync"),
]
