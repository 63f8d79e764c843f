from django.urls import path

from gateway import views

app_name = "gateway"

# The device page combines several apps: the registry, its licenses, its requests and the
# jobs it received.
urlpatterns = [
    path("system/devices/<int:pk>/", views.DeviceDetailView.as_view(), name="device_detail"),
    path(
        "system/devices/<int:pk>/obsolete",
        views.DeviceObsoleteView.as_view(),
        name="device_obsolete",
    ),
    path(
        "system/devices/<int:pk>/lines",
        views.DeviceLineSetView.as_view(),
        name="device_line_set",
    ),
    path(
        "system/devices/<int:pk>/lines/<int:position>/delete",
        views.DeviceLineDeleteView.as_view(),
        name="device_line_delete",
    ),
    path(
        "system/devices/<int:pk>/binding/release",
        views.DeviceBindingReleaseView.as_view(),
        name="device_binding_release",
    ),
]
