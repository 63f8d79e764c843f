"""Bootstrap, token and device admin API. The paths are the ones existing scripts call."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from provisioning.api import views

router = SimpleRouter(trailing_slash=False)
# /devices, /devices/{deviceId}, /devices/merge: devices.api.views, plus DELETE from here.
router.register("devices", views.DeviceViewSet, basename="device")

api_urlpatterns = [
    path("bootstrap", views.BootstrapView.as_view(), name="bootstrap"),
    path("bootstraps", views.BootstrapListViewSet.as_view({"get": "list"}), name="bootstrap-list"),
    path("token", views.TokenView.as_view(), name="token"),
    path("tokens", views.TokenListViewSet.as_view({"get": "list"}), name="token-list"),
    path("import", views.CatalogImportView.as_view(), name="catalog_import"),
    *router.urls,
]
