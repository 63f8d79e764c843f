from django.urls import path

from devices import views

app_name = "devices"

urlpatterns = [
    path("system/sites/", views.SiteListView.as_view(), name="site_list"),
    path("system/devices/", views.DeviceListView.as_view(), name="device_list"),
]
