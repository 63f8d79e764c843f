from django.urls import path
from rest_framework.routers import SimpleRouter

from gateway.api import device, views

# Mounted at /device/api/v1/; devices post to these exact paths.
device_urlpatterns = [
    path("bootstrap", device.BootstrapView.as_view(), name="bootstrap"),
    path("license", device.LicenseView.as_view(), name="license"),
    path("checkin", device.CheckinView.as_view(), name="checkin"),
    path("code", device.CodeView.as_view(), name="code"),
    path("auto", device.AutoView.as_view(), name="auto"),
]

router = SimpleRouter(trailing_slash=False)
# /devices, /devices/{deviceId}, /devices/merge: devices.api.views, plus DELETE from here.
router.register("devices", views.DeviceViewSet, basename="device")

# The admin API's device routes (config/urls.py gathers every app's api_urlpatterns).
api_urlpatterns = router.urls
