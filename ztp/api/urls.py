"""The ZTP admin API: /ztp, /ztp/{vendor}/{action}, /ztp/{vendor}/phones."""

from rest_framework.routers import SimpleRouter

from ztp.api import views

router = SimpleRouter(trailing_slash=False)
router.register("ztp", views.ZtpVendorViewSet, basename="ztp")
router.register(
    rf"ztp/(?P<vendor>{views.VENDOR_PATTERN})/phones", views.ZtpPhoneViewSet, basename="ztp-phone"
)

api_urlpatterns = router.urls
