from django.urls import path

from licensing import views

app_name = "licensing"

urlpatterns = [
    path("licenses/summary/", views.SummaryView.as_view(), name="summary"),
    path("licenses/assigned/", views.AssignedView.as_view(), name="assigned"),
]
