from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts import views as accounts_views
from accounts.api.urls import api_urlpatterns as accounts_api
from config.health import probe_urlpatterns
from gateway.api.files import phone_file_view
from gateway.api.urls import api_urlpatterns as gateway_api
from gateway.api.urls import device_urlpatterns
from licensing.api.urls import api_urlpatterns as licensing_api
from phones.api.urls import api_urlpatterns as phones_api
from provisioning.api.urls import api_urlpatterns as provisioning_api
from reports.api.urls import api_urlpatterns as reports_api
from ztp.api.urls import api_urlpatterns as ztp_api

# The portal's error pages (core.error_pages; also under DEBUG, through its middleware).
handler403 = "core.error_pages.permission_denied"
handler404 = "core.error_pages.page_not_found"
handler500 = "core.error_pages.server_error"

admin.site.site_header = "Provisioning Manager: support"
admin.site.site_title = "Provisioning Manager support"

# Every app's api/urls.py exports api_urlpatterns; they share one prefix and namespace.
api_urlpatterns = [
    *accounts_api,
    *reports_api,
    *provisioning_api,
    *gateway_api,
    *phones_api,
    *licensing_api,
    *ztp_api,
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="reports:dashboard", permanent=False)),
    # /healthz, /readyz, /metrics (config.health.ProbeMiddleware answers them early).
    *probe_urlpatterns,
    path("favicon.ico", accounts_views.favicon, name="favicon"),
    path("staff/", admin.site.urls),
    path("admin/api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("admin/api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger_ui"),
    path("admin/api/v1/", include((api_urlpatterns, "api"))),
    path("device/api/v1/", include((device_urlpatterns, "device"))),
    # What desk phones fetch: their configuration in their vendor's format.
    path("phones/<str:secret>/<str:vendor>/<path:name>", phone_file_view, name="phone_file"),
    path("admin/", include("accounts.urls")),
    path("admin/", include("reports.urls")),
    path("admin/", include("provisioning.urls")),
    path("admin/", include("phones.urls")),
    path("admin/", include("licensing.urls")),
    path("admin/", include("devices.urls")),
    path("admin/", include("gateway.urls")),
    path("admin/", include("ztp.urls")),
]
