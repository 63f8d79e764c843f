"""Bootstrap, token, device and desk-phone admin API (the guide's paths as scripts call them)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from provisioning.api import phones, views

router = SimpleRouter(trailing_slash=False)
# /devices, /devices/{deviceId}, /devices/merge: devices.api.views, plus DELETE from here.
router.register("devices", views.DeviceViewSet, basename="device")
router.register("categories", phones.CategoryViewSet, basename="category")
router.register("codes", phones.ProvisioningCodeViewSet, basename="code")
router.register("jobs/software", phones.SoftwareJobViewSet, basename="software-job")
router.register("jobs/config", phones.ConfigJobViewSet, basename="config-job")

api_urlpatterns = [
    path("bootstrap", views.BootstrapView.as_view(), name="bootstrap"),
    path("bootstraps", views.BootstrapListViewSet.as_view({"get": "list"}), name="bootstrap-list"),
    path("token", views.TokenView.as_view(), name="token"),
    path("tokens", views.TokenListViewSet.as_view({"get": "list"}), name="token-list"),
    path("import", views.CatalogImportView.as_view(), name="catalog_import"),
    *router.urls,
]
