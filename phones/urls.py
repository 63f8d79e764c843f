from django.urls import path

from phones.views import auto, categories, codes, files, jobs, rollouts

app_name = "phones"

urlpatterns = [
    # Desk phones: categories and update jobs (System), Add a phone, Register phones and
    # automatic provisioning (Phones).
    path("system/categories/", categories.CategoryListView.as_view(), name="category_list"),
    path("system/categories/add", categories.CategoryCreateView.as_view(), name="category_add"),
    path(
        "system/categories/<int:pk>/edit",
        categories.CategoryUpdateView.as_view(),
        name="category_edit",
    ),
    path(
        "system/categories/<int:pk>/delete",
        categories.CategoryDeleteView.as_view(),
        name="category_delete",
    ),
    path("system/jobs/", jobs.JobListView.as_view(), name="job_list"),
    path(
        "system/jobs/software/add",
        jobs.SoftwareJobCreateView.as_view(),
        name="job_software_add",
    ),
    path("system/jobs/config/add", jobs.ConfigJobCreateView.as_view(), name="job_config_add"),
    path(
        "system/jobs/software/<int:pk>/delete",
        jobs.JobDeleteView.as_view(kind="software"),
        name="job_software_delete",
    ),
    path(
        "system/jobs/config/<int:pk>/delete",
        jobs.JobDeleteView.as_view(kind="config"),
        name="job_config_delete",
    ),
    path("phones/add", codes.PhoneAddView.as_view(), name="phone_add"),
    path("phones/codes/<int:pk>/", codes.PhoneCodeView.as_view(), name="phone_code"),
    path("phones/codes/<int:pk>/status", codes.CodeStatusView.as_view(), name="code_status"),
    path("phones/rollouts/", rollouts.RolloutListView.as_view(), name="rollout_list"),
    path("phones/rollouts/new/", rollouts.RolloutCheckView.as_view(), name="rollout_check"),
    path(
        "phones/rollouts/new/options",
        rollouts.RolloutOptionsView.as_view(),
        name="rollout_options",
    ),
    path("phones/rollouts/new/users", rollouts.RolloutUsersView.as_view(), name="rollout_users"),
    path("phones/rollouts/<int:pk>/", rollouts.RolloutDetailView.as_view(), name="rollout_detail"),
    path(
        "phones/rollouts/<int:pk>/status",
        rollouts.RolloutStatusView.as_view(),
        name="rollout_status",
    ),
    path(
        "phones/rollouts/<int:pk>/codes.csv",
        rollouts.RolloutCsvView.as_view(),
        name="rollout_csv",
    ),
    path("phones/automatic/", auto.AutoProvisioningView.as_view(), name="auto_provisioning"),
    path("phones/automatic/enable", auto.AutoEnableView.as_view(), name="auto_enable"),
    path("phones/automatic/line", auto.AutoLineView.as_view(), name="auto_line"),
    path("phones/automatic/disable", auto.AutoDisableView.as_view(), name="auto_disable"),
    path("phones/files/", files.PhoneFilesView.as_view(), name="files"),
    path("phones/files/rotate", files.PhoneFilesRotateView.as_view(), name="files_rotate"),
    path(
        "phones/files/templates/<str:vendor>/<str:kind>/",
        files.FileTemplateEditView.as_view(),
        name="files_template_edit",
    ),
    path(
        "phones/files/templates/<str:vendor>/<str:kind>/reset",
        files.FileTemplateResetView.as_view(),
        name="files_template_reset",
    ),
]
