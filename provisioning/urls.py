from django.urls import path

from provisioning import views

app_name = "provisioning"

urlpatterns = [
    path("tokens/", views.TokenListView.as_view(), name="token_list"),
    path("tokens/add", views.TokenCreateView.as_view(), name="token_add"),
    path("tokens/<int:pk>/edit", views.TokenUpdateView.as_view(), name="token_edit"),
    path("tokens/<int:pk>/delete", views.TokenDeleteView.as_view(), name="token_delete"),
    path("tokens/<int:pk>/qr", views.TokenQrView.as_view(), name="token_qr"),
    path(
        "tokens/<int:pk>/qr/download", views.TokenQrDownloadView.as_view(), name="token_qr_download"
    ),
    path("tokens/bootstraps/", views.BootstrapListView.as_view(), name="bootstrap_list"),
    path("tokens/bootstraps/add", views.BootstrapCreateView.as_view(), name="bootstrap_add"),
    path(
        "tokens/bootstraps/<int:pk>/edit",
        views.BootstrapUpdateView.as_view(),
        name="bootstrap_edit",
    ),
    path(
        "tokens/bootstraps/<int:pk>/delete",
        views.BootstrapDeleteView.as_view(),
        name="bootstrap_delete",
    ),
]
