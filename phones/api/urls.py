"""The desk-phone admin API: categories, codes, update jobs and desk phones' lines."""

from rest_framework.routers import SimpleRouter

from phones.api import views

router = SimpleRouter(trailing_slash=False)
router.register("categories", views.CategoryViewSet, basename="category")
router.register("codes", views.ProvisioningCodeViewSet, basename="code")
router.register("jobs/software", views.SoftwareJobViewSet, basename="software-job")
router.register("jobs/config", views.ConfigJobViewSet, basename="config-job")
router.register(r"devices/(?P<deviceId>[0-9A-F]{12})/lines", views.LineViewSet, basename="line")

api_urlpatterns = router.urls
