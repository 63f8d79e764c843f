"""Devices admin API: /devices, /devices/{deviceId}, /devices/merge."""

from rest_framework.routers import SimpleRouter

from devices.api import views

router = SimpleRouter(trailing_slash=False)
router.register("devices", views.DeviceViewSet, basename="device")

api_urlpatterns = [*router.urls]
