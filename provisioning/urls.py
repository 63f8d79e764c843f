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
    # Desk phones: categories and update jobs (System), Add a phone, Register phones and
    # automatic provisioning (Phones).
    path("system/categories/", views.CategoryListView.as_view(), name="category_list"),
    path("system/categories/add", views.CategoryCreateView.as_view(), name="category_add"),
    path(
        "system/categories/<int:pk>/edit",
        views.CategoryUpdateView.as_view(),
        name="category_edit",
    ),
    path(
        "system/categories/<int:pk>/delete",
        views.CategoryDeleteView.as_view(),
        name="category_delete",
    ),
    path("system/jobs/", views.JobListView.as_view(), name="job_list"),
    path(
        "system/jobs/software/add",
        views.SoftwareJobCreateView.as_view(),
        name="job_software_add",
    ),
    path("system/jobs/config/add", views.ConfigJobCreateView.as_view(), name="job_config_add"),
    path(
        "system/jobs/software/<int:pk>/delete",
        views.JobDeleteView.as_view(kind="software"),
        name="job_software_delete",
    ),
    path(
        "system/jobs/config/<int:pk>/delete",
        views.JobDeleteView.as_view(kind="config"),
        name="job_config_delete",
    ),
    path("phones/add", views.PhoneAddView.as_view(), name="phone_add"),
    path("phones/codes/<int:pk>/", views.PhoneCodeView.as_view(), name="phone_code"),
    path("phones/codes/<int:pk>/status", views.CodeStatusView.as_view(), name="code_status"),
    path("phones/rollouts/", views.RolloutListView.as_view(), name="rollout_list"),
    path("phones/rollouts/new/", views.RolloutCheckView.as_view(), name="rollout_check"),
    path(
        "phones/rollouts/new/options",
        views.RolloutOptionsView.as_view(),
        name="rollout_options",
    ),
    path("phones/rollouts/new/users", views.RolloutUsersView.as_view(), name="rollout_users"),
    path("phones/rollouts/<int:pk>/", views.RolloutDetailView.as_view(), name="rollout_detail"),
    path(
        "phones/rollouts/<int:pk>/status",
        views.RolloutStatusView.as_view(),
        name="rollout_status",
    ),
    path(
        "phones/rollouts/<int:pk>/codes.csv",
        views.RolloutCsvView.as_view(),
        name="rollout_csv",
    ),
    path("phones/automatic/", views.AutoProvisioningView.as_view(), name="auto_provisioning"),
    path("phones/automatic/enable", views.AutoEnableView.as_view(), name="auto_enable"),
    path("phones/automatic/line", views.AutoLineView.as_view(), name="auto_line"),
    path("phones/automatic/disable", views.AutoDisableView.as_view(), name="auto_disable"),
]

# Mounted by config/urls.py in the "devices" namespace, beside devices.urls: the page of one
# device combines devices, licensing and reports (see provisioning.views).
device_page_urlpatterns = [
    path("system/devices/<int:pk>/", views.DeviceDetailView.as_view(), name="device_detail"),
    path(
        "system/devices/<int:pk>/obsolete",
        views.DeviceObsoleteView.as_view(),
        name="device_obsolete",
    ),
]
