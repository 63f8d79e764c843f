from django.urls import path

from provisioning import views

app_name = "provisioning"

urlpatterns = [
    path("tokens/", views.TokenListView.as_view(), name="token_list"),
    path("tokens/bootstraps/", views.BootstrapListView.as_view(), name="bootstrap_list"),
]
