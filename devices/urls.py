from django.urls import path

from devices import views

app_name = "devices"

urlpatterns = [
    path("system/sites/", views.SiteListView.as_view(), name="site_list"),
    path("system/sites/sync", views.SiteSyncView.as_view(), name="site_sync"),
    path("system/sites/<int:pk>/", views.SiteDetailView.as_view(), name="site_detail"),
    path("system/devices/", views.DeviceListView.as_view(), name="device_list"),
    path("system/devices/add", views.DeviceAddView.as_view(), name="device_add"),
    # The device page itself (gateway:device_detail, gateway:device_obsolete) is in
    # gateway.urls: it combines several apps.
]
