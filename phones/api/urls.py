"""The desk-phone admin API: categories, codes and update jobs."""

from rest_framework.routers import SimpleRouter

from phones.api import views

router = SimpleRouter(trailing_slash=False)
router.register("categories", views.CategoryViewSet, basename="category")
router.register("codes", views.ProvisioningCodeViewSet, basename="code")
router.register("jobs/software", views.SoftwareJobViewSet, basename="software-job")
router.register("jobs/config", views.ConfigJobViewSet, basename="config-job")

api_urlpatterns = router.urls
