"""The Update jobs pages (System > Update jobs)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import FormView, TemplateView

from accounts.permissions import Action, Area
from accounts.views_base import (
    FilteredListMixin,
    TenantObjectMixin,
    TenantViewMixin,
    add_service_errors,
)
from core.exports import CsvExportMixin, json_cell
from phones.filters import ConfigJobFilterSet, SoftwareJobFilterSet
from phones.forms import ConfigJobForm, SoftwareJobForm
from phones.models import Category, ConfigJob, SoftwareJob
from phones.services.jobs import config_job_create, job_delete, software_job_create
from provisioning.forms import SERVICE_FIELDS
from provisioning.services.bootstraps import parse_parameters

JOB_KINDS = {
    "software": (SoftwareJob, SoftwareJobFilterSet),
    "config": (ConfigJob, ConfigJobFilterSet),
}


class JobListView(CsvExportMixin, FilteredListMixin, TenantViewMixin, TemplateView):
    """Software and config jobs on two tabs (?kind=software|config), newest first."""

    area = Area.PROVISIONING
    template_name = "phones/job_list.html"
    page_title = "Update jobs"

    @property
    def csv_name(self) -> str:
        return f"{self.kind}-jobs"

    @property
    def csv_columns(self):
        what = (
            [("Firmware (JSON)", lambda j: json_cell(j.firmware))]
            if self.kind == "software"
            else [
                ("Config type", lambda j: j.config_type),
                ("Parameters (JSON)", lambda j: json_cell(j.parameters)),
            ]
        )
        return [
            ("Created", lambda j: j.created),
            ("Category", lambda j: j.category.name),
            *what,
            ("Description", lambda j: j.description),
            ("Created by", lambda j: j.created_by.username if j.created_by else ""),
        ]

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        kind = request.GET.get("kind", "")
        self.kind = kind if kind in JOB_KINDS else "software"
        self.model, self.filterset_class = JOB_KINDS[self.kind]

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("category", "created_by")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**self.tab_context(), **kwargs)
        context["current_ids"] = self.current_ids(context["object_list"])
        return context

    def current_ids(self, jobs) -> set[int]:
        """Which of the page's jobs phones registering now receive: the newest of each
        category (and config type). One query for the page."""
        categories = {job.category_id for job in jobs}
        if not categories:
            return set()
        partition = [F("category")] + ([F("config_type")] if self.kind == "config" else [])
        newest = (
            self.model.objects.for_customer(self.customer)
            .filter(category__in=categories)
            .annotate(
                rank=Window(
                    RowNumber(),
                    partition_by=partition,
                    order_by=[F("created").desc(), F("pk").desc()],
                )
            )
            .filter(rank=1)
            .values_list("pk", flat=True)
        )
        return set(newest) & {job.pk for job in jobs}

    def tab_context(self) -> dict:
        config_types = None
        if self.kind == "config":
            config_types = (
                ConfigJob.objects.for_customer(self.customer)
                .order_by("config_type")
                .values_list("config_type", flat=True)
                .distinct()
            )
        return {
            "kind": self.kind,
            "software_total": SoftwareJob.objects.for_customer(self.customer).count(),
            "config_total": ConfigJob.objects.for_customer(self.customer).count(),
            "category_names": Category.objects.for_customer(self.customer)
            .order_by("name")
            .values_list("name", flat=True),
            "config_types": config_types,
        }


class _JobCreateView(TenantViewMixin, FormView):
    area = Area.PROVISIONING
    action = Action.CHANGE
    template_name = "phones/job_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "customer": self.customer}

    def get_context_data(self, **kwargs):
        has_categories = Category.objects.for_customer(self.customer).exists()
        return super().get_context_data(kind=self.kind, has_categories=has_categories, **kwargs)

    def form_valid(self, form):
        try:
            job = self.create(form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc, {**SERVICE_FIELDS, **self.renamed})
            return self.form_invalid(form)
        messages.success(
            self.request, f"{self.label} job {job.pk} for category {job.category.name} added."
        )
        return redirect(f"{reverse('phones:job_list')}?kind={self.kind}")


class SoftwareJobCreateView(_JobCreateView):
    model = SoftwareJob
    form_class = SoftwareJobForm
    page_title = "Add software job"
    kind = "software"
    label = "Software"
    # parse_parameters names the JSON field "parameters"; on this form it is the firmware.
    renamed = {"parameters": "firmware"}

    def create(self, data) -> SoftwareJob:
        return software_job_create(
            customer=self.customer,
            user=self.request.user,
            category=data["category"],
            firmware=parse_parameters(data["firmware"]),
            description=data["description"],
        )


class ConfigJobCreateView(_JobCreateView):
    model = ConfigJob
    form_class = ConfigJobForm
    page_title = "Add config job"
    kind = "config"
    label = "Config"
    renamed: dict = {}

    def create(self, data) -> ConfigJob:
        return config_job_create(
            customer=self.customer,
            user=self.request.user,
            category=data["category"],
            config_type=data["config_type"],
            parameters=parse_parameters(data["parameters"]),
            description=data["description"],
        )


class JobDeleteView(TenantObjectMixin, TenantViewMixin, TemplateView):
    """GET asks for confirmation; POST deletes. `kind` is set by the URL."""

    gone_url_name = "phones:job_list"

    area = Area.PROVISIONING
    action = Action.CHANGE
    template_name = "phones/job_confirm_delete.html"
    page_title = "Delete update job"
    kind = "software"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.model = JOB_KINDS[self.kind][0]

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("category", "created_by")

    def get_context_data(self, **kwargs):
        return super().get_context_data(kind=self.kind, **kwargs)

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        job = self.get_object()
        job_delete(job=job, user=request.user)
        messages.success(request, f"Job {job.pk} ({job.category.name}) deleted.")
        return redirect(f"{reverse('phones:job_list')}?kind={self.kind}")
