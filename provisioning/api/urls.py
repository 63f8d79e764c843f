"""Bootstrap and token admin API (the guide's paths as scripts call them)."""

from django.urls import path

from provisioning.api import views

api_urlpatterns = [
    path("bootstrap", views.BootstrapView.as_view(), name="bootstrap"),
    path("bootstraps", views.BootstrapListViewSet.as_view({"get": "list"}), name="bootstrap-list"),
    path("token", views.TokenView.as_view(), name="token"),
    path("tokens", views.TokenListViewSet.as_view({"get": "list"}), name="token-list"),
    path("import", views.CatalogImportView.as_view(), name="catalog_import"),
]
