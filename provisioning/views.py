"""The Tokens and Bootstraps pages, the device page, and the desk phone pages (categories,
update jobs, Add a phone, Register phones, automatic provisioning). The rules are in
provisioning.services and provisioning.phones; these views shape the pages, call the
services and show their errors on the right field."""

from __future__ import annotations

import io
import json

import segno
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import content_disposition_header
from django.views.generic import FormView, TemplateView, View

from accounts.filters import UserFilterSet
from accounts.models import User
from accounts.permissions import Action, Area, can
from accounts.views import add_service_errors
from accounts.views_base import FilteredListMixin, TenantViewMixin
from core.client import client_ip
from core.errors import InUse, StaleVersion
from core.exports import CsvExportMixin, csv_response
from devices.models import Device, DeviceKind, DeviceState
from provisioning import phones, services
from provisioning.filters import (
    BootstrapFilterSet,
    CategoryFilterSet,
    ConfigJobFilterSet,
    ProvisioningCodeFilterSet,
    RolloutFilterSet,
    SoftwareJobFilterSet,
    TokenFilterSet,
)
from provisioning.forms import (
    SERVICE_FIELDS,
    AutoEnableForm,
    AutoLineForm,
    BootstrapForm,
    CategoryForm,
    ConfigJobForm,
    PhoneAddForm,
    RolloutOptionsForm,
    SoftwareJobForm,
    TokenForm,
    VersionForm,
)
from provisioning.models import (
    AutoProvisioning,
    Bootstrap,
    Category,
    CodeState,
    ConfigJob,
    JobDelivery,
    ProvisioningCode,
    Rollout,
    SoftwareJob,
    Token,
)
from reports.models import AppId, History


def _show_service_errors(form, error: ValidationError, renamed: dict | None = None) -> None:
    """A service's ValidationError on the form's fields (`renamed` maps more names)."""
    if hasattr(error, "error_dict"):
        fields = {**SERVICE_FIELDS, **(renamed or {})}
        error = ValidationError(
            {fields.get(key, key): value for key, value in error.error_dict.items()}
        )
    add_service_errors(form, error)


class _ObjectMixin:
    """Edit, delete and QR pages: the object comes from the tenant queryset, so another
    customer's pk is a 404."""

    object = None

    def get_object(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        return super().get_context_data(object=self.object, **kwargs)


def _json_text(value) -> str:
    """JSON for a CSV cell."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# --- Bootstraps ------------------------------------------------------------------------


class BootstrapListView(CsvExportMixin, FilteredListMixin, TenantViewMixin, TemplateView):
    area = Area.BOOTSTRAPS
    model = Bootstrap
    filterset_class = BootstrapFilterSet
    template_name = "provisioning/bootstrap_list.html"
    page_title = "Bootstraps"
    csv_name = "bootstraps"
    csv_columns = [
        ("Name", lambda b: b.name),
        ("Parameters (JSON)", lambda b: _json_text(b.parameters)),
        ("Tokens", lambda b: b.token_count),
        ("Version", lambda b: b.version),
        ("Updated", lambda b: b.updated),
        ("Created", lambda b: b.created),
    ]

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        # How many tokens use each bootstrap, in the same query as the page.
        return queryset.annotate(token_count=Count("tokens"))


class _BootstrapFormView(_ObjectMixin, TenantViewMixin, FormView):
    area = Area.BOOTSTRAPS
    action = Action.CHANGE
    model = Bootstrap
    form_class = BootstrapForm
    template_name = "provisioning/bootstrap_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": self.object}

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        valid = form.is_valid()
        if "convert" in request.POST and not form.has_upload:
            form.add_error("xml_file", "choose an XML settings file to convert")
            return self.form_invalid(form)
        if form.has_upload:
            # Converting an XML file only fills in the parameters for review; saving is
            # a separate, deliberate click.
            if "xml_file" in form.errors:
                return self.form_invalid(form)
            return self.render_to_response(
                self.get_context_data(form=form.review_form(), converted=True)
            )
        return self.form_valid(form) if valid else self.form_invalid(form)

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            bootstrap, created = services.bootstrap_save(
                customer=self.customer,
                user=self.request.user,
                name=data["name"],
                parameters=services.parse_parameters(data["parameters"]),
                instance=self.object,
                expected_version=data["version"],
                add_only=self.object is None,
            )
        except StaleVersion as exc:
            form.add_error(None, exc.sentence)
            return self.form_invalid(form)
        except ValidationError as exc:
            _show_service_errors(form, exc)
            return self.form_invalid(form)
        verb = "added" if created else "saved"
        messages.success(self.request, f"Bootstrap {bootstrap.name} {verb}.")
        return redirect("provisioning:bootstrap_list")


class BootstrapCreateView(_BootstrapFormView):
    page_title = "Add bootstrap"


class BootstrapUpdateView(_BootstrapFormView):
    gone_url_name = "provisioning:bootstrap_list"
    page_title = "Edit bootstrap"

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().post(request, *args, **kwargs)


class BootstrapDeleteView(_ObjectMixin, TenantViewMixin, TemplateView):
    gone_url_name = "provisioning:bootstrap_list"
    area = Area.BOOTSTRAPS
    action = Action.CHANGE
    model = Bootstrap
    template_name = "provisioning/bootstrap_confirm_delete.html"
    page_title = "Delete bootstrap"

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.annotate(token_count=Count("tokens"))

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        bootstrap = self.get_object()
        form = VersionForm(request.POST)
        if not form.is_valid():
            messages.error(request, "This page is out of date; check the bootstrap again.")
            return redirect("provisioning:bootstrap_delete", pk=bootstrap.pk)
        try:
            services.bootstrap_delete(
                bootstrap=bootstrap,
                user=request.user,
                expected_version=form.cleaned_data["version"],
            )
        except StaleVersion as exc:
            # Show the bootstrap as it is now and let the user decide again.
            messages.error(request, exc.sentence)
            return redirect("provisioning:bootstrap_delete", pk=bootstrap.pk)
        except InUse as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, f"Bootstrap {bootstrap.name} deleted.")
        return redirect("provisioning:bootstrap_list")


# --- Tokens ----------------------------------------------------------------------------


class TokenListView(CsvExportMixin, FilteredListMixin, TenantViewMixin, TemplateView):
    area = Area.TOKENS
    model = Token
    filterset_class = TokenFilterSet
    template_name = "provisioning/token_list.html"
    page_title = "Tokens"
    csv_name = "tokens"
    csv_columns = [
        ("Token", lambda t: t.value),
        ("App", lambda t: t.app_id),
        ("Bootstrap", lambda t: t.bootstrap.name),
        ("Description", lambda t: t.description),
        ("Redemptions", lambda t: t.redemption_count),
        ("Max redemptions", lambda t: t.max_redemptions),
        ("Expires", lambda t: t.expires_at),
        ("Revoked", lambda t: "yes" if t.revoked else "no"),
        ("Last redeemed", lambda t: t.last_redeemed),
        ("Updated", lambda t: t.updated),
        ("Created", lambda t: t.created),
    ]

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("bootstrap")

    def get_context_data(self, **kwargs):
        return super().get_context_data(app_ids=AppId.choices, **kwargs)


class _TokenFormView(_ObjectMixin, TenantViewMixin, FormView):
    area = Area.TOKENS
    action = Action.CHANGE
    model = Token
    form_class = TokenForm
    template_name = "provisioning/token_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "customer": self.customer, "instance": self.object}

    def get_context_data(self, **kwargs):
        has_bootstraps = Bootstrap.objects.for_customer(self.customer).exists()
        return super().get_context_data(has_bootstraps=has_bootstraps, **kwargs)

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            token, created = services.token_save(
                customer=self.customer,
                user=self.request.user,
                value=data["token"],
                app_id=data["app_id"],
                bootstrap=data["bootstrap"],
                description=data["description"],
                expires_at=data["expires_at"],
                max_redemptions=data["max_redemptions"],
                revoked=data["revoked"],
                instance=self.object,
                expected_version=data["version"],
                add_only=self.object is None,
            )
        except StaleVersion as exc:
            form.add_error(None, exc.sentence)
            return self.form_invalid(form)
        except ValidationError as exc:
            _show_service_errors(form, exc)
            return self.form_invalid(form)
        verb = "added" if created else "saved"
        messages.success(self.request, f"Token {token.value} {verb}.")
        return redirect("provisioning:token_list")


class TokenCreateView(_TokenFormView):
    page_title = "Add token"

    def get_initial(self):
        # A value nobody can guess, since the token is the device's only credential;
        # the administrator may type their own instead.
        return {"token": services.new_token_value(self.customer.slug or "token")}


class TokenUpdateView(_TokenFormView):
    gone_url_name = "provisioning:token_list"
    page_title = "Edit token"

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().post(request, *args, **kwargs)


class TokenDeleteView(_ObjectMixin, TenantViewMixin, TemplateView):
    gone_url_name = "provisioning:token_list"
    area = Area.TOKENS
    action = Action.CHANGE
    model = Token
    template_name = "provisioning/token_confirm_delete.html"
    page_title = "Delete token"

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("bootstrap")

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        token = self.get_object()
        form = VersionForm(request.POST)
        if not form.is_valid():
            messages.error(request, "This page is out of date; check the token again.")
            return redirect("provisioning:token_delete", pk=token.pk)
        try:
            services.token_delete(
                token=token, user=request.user, expected_version=form.cleaned_data["version"]
            )
        except StaleVersion as exc:
            messages.error(request, exc.sentence)
            return redirect("provisioning:token_delete", pk=token.pk)
        else:
            messages.success(request, f"Token {token.value} deleted.")
        return redirect("provisioning:token_list")


class TokenQrView(_ObjectMixin, TenantViewMixin, TemplateView):
    """The token's QR code, large enough to print and scan, with its downloads."""

    area = Area.TOKENS
    model = Token
    template_name = "provisioning/token_qr.html"
    page_title = "Token QR code"

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("bootstrap")

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().get(request, *args, **kwargs)


QR_FORMATS = {"png": "image/png", "svg": "image/svg+xml"}


class TokenQrDownloadView(_ObjectMixin, TenantViewMixin, View):
    """The QR code as a file: ?format=png (default) or ?format=svg."""

    area = Area.TOKENS
    model = Token

    def get(self, request, *args, **kwargs):
        token = self.get_object()
        kind = request.GET.get("format", "png")
        if kind not in QR_FORMATS:
            return HttpResponseBadRequest("format: choose png or svg")
        buffer = io.BytesIO()
        segno.make(token.value, error="m").save(buffer, kind=kind, scale=10, border=4)
        response = HttpResponse(buffer.getvalue(), content_type=QR_FORMATS[kind])
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=f"{token.value}-qr.{kind}"
        )
        # The token is a device's credential: keep its picture out of shared caches.
        add_never_cache_headers(response)
        return response


# --- The device page -------------------------------------------------------------------
# A device's page shows what several apps know of it (the registry, its licenses, its
# requests) and obsoleting it returns its licenses to the pool, so it lives here, above
# devices and licensing; config/urls.py mounts it in the devices namespace.

# The detail page shows the newest requests of a device, not its whole past.
DEVICE_HISTORY_ROWS = 50


class _DeviceMixin:
    """Detail and obsolete pages: the device comes from the tenant queryset, so another
    customer's pk is a 404."""

    model = Device
    object = None

    def get_object(self) -> Device:
        return get_object_or_404(
            self.get_queryset().select_related("site", "provisioned_site"), pk=self.kwargs["pk"]
        )

    def get_context_data(self, **kwargs):
        return super().get_context_data(object=self.object, device=self.object, **kwargs)


class DeviceDetailView(_DeviceMixin, TenantViewMixin, TemplateView):
    area = Area.DEVICES
    template_name = "provisioning/device_detail.html"
    page_title = "Device"

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        self.page_title = f"Device {self.object.device_id}"
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        history = History.objects.for_customer(self.customer).filter(
            device_id=self.object.device_id
        )[:DEVICE_HISTORY_ROWS]
        # Licenses only for roles that may view them; None hides the section.
        licenses = None
        if can(self.request.user, Area.LICENSES):
            licenses = self.object.assignments.select_related("entitlement").order_by(
                F("released_at").desc(nulls_first=True), "-last_contact"
            )
        return super().get_context_data(
            history=history,
            history_limit=DEVICE_HISTORY_ROWS,
            licenses=licenses,
            jobs_received=_jobs_received(self.object),
            **kwargs,
        )


def _jobs_received(device: Device) -> list[JobDelivery] | None:
    """A desk phone's latest delivery of each kind of job (software; each config type),
    software first: one query, however many registrations delivered jobs. None for other
    devices, which receive no jobs."""
    if device.kind != DeviceKind.DESK_PHONE:
        return None
    # Software deliveries have no config job, so their config type is NULL: one partition.
    kind = F("config_job__config_type")
    return list(
        JobDelivery.objects.filter(customer_id=device.customer_id, device=device)
        .select_related("software_job", "config_job")
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[kind],
                order_by=[F("delivered_at").desc(), F("pk").desc()],
            )
        )
        .filter(rank=1)
        .order_by(kind.asc(nulls_first=True))
    )


class DeviceObsoleteView(_DeviceMixin, TenantViewMixin, TemplateView):
    """GET asks for confirmation; POST marks the device obsolete."""

    gone_url_name = "devices:device_list"

    area = Area.DEVICES
    action = Action.CHANGE
    template_name = "provisioning/device_confirm_obsolete.html"
    page_title = "Mark device obsolete"

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        device = self.get_object()
        was_obsolete = device.state == DeviceState.OBSOLETE
        # The service decides what is left to do (an obsolete device may still hold
        # licenses to give back); the page only words the outcome.
        services.device_obsolete(device=device, user=request.user)
        if was_obsolete:
            messages.info(request, f"Device {device.device_id} was already obsolete.")
        else:
            messages.success(request, f"Device {device.device_id} marked obsolete.")
        return redirect("devices:device_detail", pk=device.pk)


# --- Desk phones ------------------------------------------------------------------------
# Categories, update jobs, Add a phone, Register phones (rollouts) and automatic
# provisioning. The rules live in provisioning.phones; these views shape the pages.

# How many of their own codes the Add a phone page lists.
RECENT_CODES = 10
# A rollout's live refresh asks for at most this many codes at once (a page of them).
STATUS_IDS_MAX = 200


def _base_url(request) -> str:
    """Where phones reach this server: PUBLIC_URL, else the address of this request."""
    return settings.PUBLIC_URL or request.build_absolute_uri("/").rstrip("/")


def _error_sentences(error: ValidationError) -> list[str]:
    """A ValidationError as sentences for a page without a field to put them on."""
    if hasattr(error, "error_dict"):
        return [f"{key}: {' '.join(value)}" for key, value in error.message_dict.items()]
    return list(error.messages)


def _never_cached(response):
    add_never_cache_headers(response)
    return response


# --- Categories -----------------------------------------------------------------------


def _category_usage(customer, categories: list[Category]) -> list[Category]:
    """Set device_count, job_count, pending_count and rollout_count on `categories` (a page
    of them): one grouped query per count, whatever the number of rows."""
    if not categories:
        return categories
    pks = [c.pk for c in categories]

    def counted(queryset, key: str) -> dict:
        return dict(queryset.order_by().values_list(key).annotate(n=Count("pk")))

    devices = counted(
        Device.objects.for_customer(customer).filter(category__in=[c.name for c in categories]),
        "category",
    )
    software = counted(SoftwareJob.objects.filter(category__in=pks), "category")
    config = counted(ConfigJob.objects.filter(category__in=pks), "category")
    pending = counted(
        ProvisioningCode.objects.filter(
            category__in=pks, used_at__isnull=True, expires_at__gt=timezone.now()
        ),
        "category",
    )
    rollouts = counted(Rollout.objects.filter(category__in=pks), "category")
    for category in categories:
        category.device_count = devices.get(category.name, 0)
        category.job_count = software.get(category.pk, 0) + config.get(category.pk, 0)
        category.pending_count = pending.get(category.pk, 0)
        category.rollout_count = rollouts.get(category.pk, 0)
    return categories


class CategoryListView(CsvExportMixin, FilteredListMixin, TenantViewMixin, TemplateView):
    area = Area.PROVISIONING
    model = Category
    filterset_class = CategoryFilterSet
    template_name = "provisioning/category_list.html"
    page_title = "Categories"
    csv_name = "categories"
    csv_columns = [
        ("Name", lambda c: c.name),
        ("Provisioning category", lambda c: "yes" if c.is_provisioning else "no"),
        ("Bootstrap", lambda c: c.bootstrap.name if c.bootstrap else ""),
        ("Description", lambda c: c.description),
        ("Updated", lambda c: c.updated),
    ]

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("bootstrap")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # The page's rows, evaluated once here; the template reads the same objects.
        context["object_list"] = _category_usage(self.customer, list(context["object_list"]))
        return context


class _CategoryFormView(_ObjectMixin, TenantViewMixin, FormView):
    area = Area.PROVISIONING
    action = Action.CHANGE
    model = Category
    form_class = CategoryForm
    template_name = "provisioning/category_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "customer": self.customer, "instance": self.object}

    def get_context_data(self, **kwargs):
        has_bootstraps = Bootstrap.objects.for_customer(self.customer).exists()
        return super().get_context_data(has_bootstraps=has_bootstraps, **kwargs)

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            category, created = phones.category_save(
                customer=self.customer,
                user=self.request.user,
                name=data["name"],
                is_provisioning=data["is_provisioning"],
                bootstrap=data["bootstrap"],
                description=data["description"],
                instance=self.object,
                expected_version=data["version"],
            )
        except StaleVersion as exc:
            form.add_error(None, exc.sentence)
            return self.form_invalid(form)
        except ValidationError as exc:
            _show_service_errors(form, exc)
            return self.form_invalid(form)
        verb = "added" if created else "saved"
        messages.success(self.request, f"Category {category.name} {verb}.")
        return redirect("provisioning:category_list")


class CategoryCreateView(_CategoryFormView):
    page_title = "Add category"


class CategoryUpdateView(_CategoryFormView):
    gone_url_name = "provisioning:category_list"
    page_title = "Edit category"

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().post(request, *args, **kwargs)


class CategoryDeleteView(_ObjectMixin, TenantViewMixin, TemplateView):
    gone_url_name = "provisioning:category_list"
    area = Area.PROVISIONING
    action = Action.CHANGE
    model = Category
    template_name = "provisioning/category_confirm_delete.html"
    page_title = "Delete category"

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("bootstrap")

    def get(self, request, *args, **kwargs):
        self.object = _category_usage(self.customer, [self.get_object()])[0]
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        category = self.get_object()
        form = VersionForm(request.POST)
        if not form.is_valid():
            messages.error(request, "This page is out of date; check the category again.")
            return redirect("provisioning:category_delete", pk=category.pk)
        try:
            phones.category_delete(
                category=category,
                user=request.user,
                expected_version=form.cleaned_data["version"],
            )
        except StaleVersion as exc:
            messages.error(request, exc.sentence)
            return redirect("provisioning:category_delete", pk=category.pk)
        except InUse as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, f"Category {category.name} deleted.")
        return redirect("provisioning:category_list")


# --- Update jobs ------------------------------------------------------------------------

JOB_KINDS = {
    "software": (SoftwareJob, SoftwareJobFilterSet),
    "config": (ConfigJob, ConfigJobFilterSet),
}


class JobListView(CsvExportMixin, FilteredListMixin, TenantViewMixin, TemplateView):
    """Software and config jobs on two tabs (?kind=software|config), newest first."""

    area = Area.PROVISIONING
    template_name = "provisioning/job_list.html"
    page_title = "Update jobs"

    @property
    def csv_name(self) -> str:
        return f"{self.kind}-jobs"

    @property
    def csv_columns(self):
        what = (
            [("Firmware (JSON)", lambda j: _json_text(j.firmware))]
            if self.kind == "software"
            else [
                ("Config type", lambda j: j.config_type),
                ("Parameters (JSON)", lambda j: _json_text(j.parameters)),
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
    template_name = "provisioning/job_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "customer": self.customer}

    def get_context_data(self, **kwargs):
        has_categories = Category.objects.for_customer(self.customer).exists()
        return super().get_context_data(kind=self.kind, has_categories=has_categories, **kwargs)

    def form_valid(self, form):
        try:
            job = self.create(form.cleaned_data)
        except ValidationError as exc:
            _show_service_errors(form, exc, self.renamed)
            return self.form_invalid(form)
        messages.success(
            self.request, f"{self.label} job {job.pk} for category {job.category.name} added."
        )
        return redirect(f"{reverse('provisioning:job_list')}?kind={self.kind}")


class SoftwareJobCreateView(_JobCreateView):
    model = SoftwareJob
    form_class = SoftwareJobForm
    page_title = "Add software job"
    kind = "software"
    label = "Software"
    # parse_parameters names the JSON field "parameters"; on this form it is the firmware.
    renamed = {"parameters": "firmware"}

    def create(self, data) -> SoftwareJob:
        return phones.software_job_create(
            customer=self.customer,
            user=self.request.user,
            category=data["category"],
            firmware=services.parse_parameters(data["firmware"]),
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
        return phones.config_job_create(
            customer=self.customer,
            user=self.request.user,
            category=data["category"],
            config_type=data["config_type"],
            parameters=services.parse_parameters(data["parameters"]),
            description=data["description"],
        )


class JobDeleteView(_ObjectMixin, TenantViewMixin, TemplateView):
    """GET asks for confirmation; POST deletes. `kind` is set by the URL."""

    gone_url_name = "provisioning:job_list"

    area = Area.PROVISIONING
    action = Action.CHANGE
    template_name = "provisioning/job_confirm_delete.html"
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
        phones.job_delete(job=job, user=request.user)
        messages.success(request, f"Job {job.pk} ({job.category.name}) deleted.")
        return redirect(f"{reverse('provisioning:job_list')}?kind={self.kind}")


# --- Add a phone ------------------------------------------------------------------------


def _code_state(code: ProvisioningCode, now) -> CodeState:
    if code.used_at is not None:
        return CodeState.REGISTERED
    return CodeState.EXPIRED if code.expires_at <= now else CodeState.PENDING


def _code_status(code: ProvisioningCode, now) -> dict:
    """What the live pages show of a code (the JSON of code_status and rollout_status)."""
    state = _code_state(code, now)
    device = code.device if code.used_at else None
    return {
        "id": code.pk,
        "state": state.value,
        "stateLabel": state.label,
        "expiresAt": code.expires_at.isoformat(),
        "secondsLeft": (
            max(0, int((code.expires_at - now).total_seconds()))
            if state == CodeState.PENDING
            else 0
        ),
        "registeredAt": code.used_at.isoformat() if code.used_at else None,
        "device": None
        if device is None
        else {
            "mac": device.mac or device.device_id,
            "model": device.model,
            "url": reverse("devices:device_detail", args=[device.pk]),
        },
    }


class _CodeScopeMixin:
    """The codes a person may follow: their own; Super-Admins, Admins and staff may follow
    any of the customer's. Anyone else's code is a 404, as another customer's is."""

    model = ProvisioningCode

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.followed_by(self.request.user).select_related("category", "device")

    def own_codes(self) -> QuerySet:
        """The codes this person issued for themselves on Add a phone. Staff belong to no
        customer, so theirs are issued for nobody: they see the customer's such codes."""
        codes = ProvisioningCode.objects.for_customer(self.customer).select_related(
            "category", "device"
        )
        if self.request.user.customer_id == self.customer.pk:
            return codes.filter(user=self.request.user)
        return codes.filter(user__isnull=True, rollout__isnull=True)


class PhoneAddView(_CodeScopeMixin, TenantViewMixin, FormView):
    """Pick a provisioning category; POST issues a 10-minute code for the user."""

    area = Area.PHONES
    action = Action.CHANGE
    form_class = PhoneAddForm
    template_name = "provisioning/phone_add.html"
    page_title = "Add a phone"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "customer": self.customer}

    def get_initial(self):
        default = phones.default_provisioning_category(self.customer)
        return {"category": default.pk if default else None}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        recent = list(self.own_codes()[:RECENT_CODES])
        for code in recent:
            code.current_state = _code_state(code, now)
        context.update(
            recent_codes=recent,
            categories=list(context["form"].fields["category"].queryset),
            can_manage=can(self.request.user, Area.PROVISIONING, Action.CHANGE),
            code_minutes=int(phones.CODE_LIFETIME.total_seconds() // 60),
        )
        return context

    def form_valid(self, form):
        user = self.request.user
        try:
            code = phones.provisioning_code_issue(
                customer=self.customer,
                user=user,
                category=form.cleaned_data["category"],
                for_user=user if user.customer_id == self.customer.pk else None,
                ip_address=client_ip(self.request) or None,
            )
        except ValidationError as exc:
            _show_service_errors(form, exc)
            return self.form_invalid(form)
        return redirect("provisioning:phone_code", pk=code.pk)


class PhoneCodeView(_CodeScopeMixin, _ObjectMixin, TenantViewMixin, TemplateView):
    """One code in large digits, its countdown and its state, refreshed live."""

    area = Area.PHONES
    template_name = "provisioning/phone_code.html"
    page_title = "Add a phone"

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        response = super().get(request, *args, **kwargs)
        # The code is a credential until it is used: keep it out of shared caches.
        return _never_cached(response)

    def get_context_data(self, **kwargs):
        code = self.object.code
        status = _code_status(self.object, timezone.now())
        return super().get_context_data(
            code=self.object,
            groups=[code[i : i + 4] for i in range(0, len(code), 4)],
            status=status,
            **kwargs,
        )


class CodeStatusView(_CodeScopeMixin, _ObjectMixin, TenantViewMixin, View):
    """The state of one code as JSON, for the Add a phone page's live refresh."""

    area = Area.PHONES

    def get(self, request, *args, **kwargs):
        code = self.get_object()
        return _never_cached(JsonResponse(_code_status(code, timezone.now())))


# --- Register phones (rollouts) ------------------------------------------------------------


class _RolloutMixin:
    area = Area.PROVISIONING
    action = Action.CHANGE
    page_title = "Register phones"

    def get_rollout(self) -> Rollout:
        return get_object_or_404(
            Rollout.objects.for_customer(self.customer).select_related("category", "created_by"),
            pk=self.kwargs["pk"],
        )


class RolloutListView(
    CsvExportMixin, _RolloutMixin, FilteredListMixin, TenantViewMixin, TemplateView
):
    """Past rollouts, newest first; each reopens its codes (step 4)."""

    model = Rollout
    filterset_class = RolloutFilterSet
    template_name = "provisioning/rollout_list.html"
    csv_name = "rollouts"
    csv_columns = [
        ("Created", lambda r: r.created),
        ("Category", lambda r: r.category.name),
        ("Phone app", lambda r: r.app_id),
        ("Created by", lambda r: r.created_by.username if r.created_by else ""),
        ("Codes", lambda r: r.code_count),
        ("Registered", lambda r: r.registered_count),
    ]

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        # One join to the codes counts both columns in the page's own query.
        return queryset.select_related("category", "created_by").annotate(
            code_count=Count("codes"),
            registered_count=Count("codes", filter=Q(codes__used_at__isnull=False)),
        )


class RolloutCheckView(_RolloutMixin, TenantViewMixin, TemplateView):
    """Step 1: what phones need before codes are handed out. Nothing here goes over the
    network: it reads the settings and the customer's data."""

    model = Category
    template_name = "provisioning/rollout_check.html"

    def get_context_data(self, **kwargs):
        base_url = _base_url(self.request)
        return super().get_context_data(
            step=1,
            public_url=settings.PUBLIC_URL,
            base_url=base_url,
            device_url=phones.device_url(customer=self.customer, base_url=base_url),
            categories=list(phones.provisioning_categories(self.customer)),
            user_count=User.objects.for_customer(self.customer).filter(is_active=True).count(),
            **kwargs,
        )


class RolloutOptionsView(_RolloutMixin, TenantViewMixin, TemplateView):
    """Step 2: the provisioning category and the phone app. The form goes to step 3 by
    GET, so Back and Forward keep the choice."""

    model = Category
    template_name = "provisioning/rollout_options.html"

    def get_context_data(self, **kwargs):
        form = RolloutOptionsForm(customer=self.customer, initial=self.request.GET.dict())
        categories = list(form.fields["category"].queryset)
        return super().get_context_data(step=2, form=form, categories=categories, **kwargs)


def _selected_ids(data) -> set[int]:
    chosen = set()
    for value in data.getlist("users")[: phones.ROLLOUT_MAX_USERS + 1]:
        try:
            chosen.add(int(value))
        except ValueError:
            continue
    return chosen


class RolloutUsersView(_RolloutMixin, TenantViewMixin, TemplateView):
    """Step 3: choose portal users, then create the rollout.

    One POST form carries the whole choice: the boxes ticked on this page, the ones ticked
    on other pages (hidden fields), and "all users matching the search", which sends the
    search rather than thousands of IDs. Search and paging buttons post the form too, so
    nothing ticked is lost on the way; GET shows the first page."""

    model = User
    template_name = "provisioning/rollout_users.html"
    paginate_by = 50

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.filter(is_active=True)

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(data=request.GET))

    def post(self, request, *args, **kwargs):
        data = request.POST
        if data.get("go") != "create":
            return self.render_to_response(self.get_context_data(data=data))
        return self.create(data)

    def matching(self, search: str) -> QuerySet:
        filterset = UserFilterSet({"q": search}, queryset=self.get_queryset())
        filterset.is_valid()
        return filterset.qs.order_by("username", "pk")

    def get_context_data(self, *, data, errors=(), **kwargs):
        options = RolloutOptionsForm(data, customer=self.customer)
        options.is_valid()
        search = data.get("q", "").strip()
        users = self.matching(search)
        page = Paginator(users, self.paginate_by).get_page(data.get("page"))
        rows = list(page.object_list)
        selected = _selected_ids(data)
        on_page = {u.pk for u in rows}
        select_all = data.get("all") == "1"
        if select_all:
            selected_count = page.paginator.count
        elif selected:
            # Only the IDs that are still this customer's active users count.
            selected_count = self.get_queryset().filter(pk__in=selected).count()
        else:
            selected_count = 0
        return super().get_context_data(
            step=3,
            options=options,
            category=options.cleaned_data.get("category"),
            app_id=options.cleaned_data.get("app_id", ""),
            search=search,
            page_obj=page,
            object_list=rows,
            selected=selected & on_page,
            carried=sorted(selected - on_page),
            select_all=select_all,
            selected_count=selected_count,
            errors=errors,
            **kwargs,
        )

    def create(self, data):
        options = RolloutOptionsForm(data, customer=self.customer)
        if not options.is_valid():
            return self.render_to_response(self.get_context_data(data=data))
        shown = data.get("shown_q", "").strip()
        if data.get("all") == "1":
            if data.get("q", "").strip() != shown:
                return self.render_to_response(
                    self.get_context_data(
                        data=data,
                        errors=[
                            "The search changed since the list was shown: check who matches "
                            "now, then create the rollout."
                        ],
                    )
                )
            users = self.matching(shown)
        else:
            users = self.get_queryset().filter(pk__in=_selected_ids(data)).order_by("pk")
        # Only the key goes to the service: a rollout of 10,000 users loads no more.
        chosen = list(users.only("pk", "customer_id")[: phones.ROLLOUT_MAX_USERS + 1])
        try:
            rollout = phones.rollout_create(
                customer=self.customer,
                user=self.request.user,
                category=options.cleaned_data["category"],
                users=chosen,
                app_id=options.cleaned_data["app_id"],
                ip_address=client_ip(self.request) or None,
            )
        except ValidationError as exc:
            return self.render_to_response(
                self.get_context_data(data=data, errors=_error_sentences(exc))
            )
        messages.success(
            self.request,
            f"{len(chosen)} provisioning code(s) created, valid for "
            f"{phones.ROLLOUT_CODE_LIFETIME.days} days.",
        )
        return redirect("provisioning:rollout_detail", pk=rollout.pk)


class _RolloutCodesMixin(_RolloutMixin):
    model = ProvisioningCode
    rollout = None

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.filter(rollout=self.rollout).select_related("user", "device")


class RolloutDetailView(_RolloutCodesMixin, FilteredListMixin, TenantViewMixin, TemplateView):
    """Step 4: the rollout's codes with their state, refreshed live; CSV download."""

    filterset_class = ProvisioningCodeFilterSet
    template_name = "provisioning/rollout_detail.html"

    def get(self, request, *args, **kwargs):
        self.rollout = self.get_rollout()
        return _never_cached(super().get(request, *args, **kwargs))

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return super().refine_queryset(queryset).order_by("user__username")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        rows = list(context["object_list"])
        for code in rows:
            code.current_state = _code_state(code, now)
        totals = self.rollout.codes.aggregate(
            total=Count("pk"),
            registered=Count("pk", filter=Q(used_at__isnull=False)),
            expired=Count("pk", filter=Q(used_at__isnull=True, expires_at__lte=now)),
        )
        totals["pending"] = totals["total"] - totals["registered"] - totals["expired"]
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            step=4,
            rollout=self.rollout,
            object_list=rows,
            totals=totals,
            states=CodeState.choices,
            csv_query=query.urlencode(),
        )
        return context


class RolloutStatusView(_RolloutCodesMixin, TenantViewMixin, View):
    """The state of some of a rollout's codes (?ids=1,2,3: the page shown) and the
    rollout's totals, as JSON for step 4's live refresh."""

    def get(self, request, *args, **kwargs):
        self.rollout = self.get_rollout()
        ids = []
        for value in request.GET.get("ids", "").split(",")[:STATUS_IDS_MAX]:
            if value.strip().isdigit():
                ids.append(int(value))
        now = timezone.now()
        codes = self.get_queryset().filter(pk__in=ids) if ids else []
        totals = self.rollout.codes.aggregate(
            total=Count("pk"),
            registered=Count("pk", filter=Q(used_at__isnull=False)),
            expired=Count("pk", filter=Q(used_at__isnull=True, expires_at__lte=now)),
        )
        totals["pending"] = totals["total"] - totals["registered"] - totals["expired"]
        return _never_cached(
            JsonResponse(
                {
                    "codes": [_code_status(code, now) for code in codes],
                    "totals": totals,
                }
            )
        )


class RolloutCsvView(_RolloutCodesMixin, TenantViewMixin, View):
    """The rollout's codes as CSV (the page's search and sort apply), streamed."""

    def get(self, request, *args, **kwargs):
        self.rollout = self.get_rollout()
        queryset = self.get_queryset().order_by("user__username")
        filterset = ProvisioningCodeFilterSet(request.GET, queryset=queryset)
        codes = filterset.qs if filterset.is_valid() else queryset.none()
        now = timezone.now()

        def rows():
            for code in codes.iterator(chunk_size=1000):
                user = code.user
                yield [
                    user.username if user else "",
                    user.name if user else "",
                    code.code,
                    _code_state(code, now).label,
                    code.expires_at,
                ]

        response = csv_response(
            f"rollout-{self.rollout.pk}-codes.csv",
            ["user", "name", "code", "state", "expires"],
            rows(),
        )
        return _never_cached(response)


# --- Automatic provisioning -----------------------------------------------------------------


class _AutoMixin:
    area = Area.PROVISIONING
    model = AutoProvisioning
    page_title = "Automatic provisioning"

    def auto_context(self) -> dict:
        """The status, the device URL and the provisioning categories, read once."""
        if not hasattr(self, "_auto_context"):
            base_url = _base_url(self.request)
            self._auto_context = {
                "public_url": settings.PUBLIC_URL,
                "device_url": phones.device_url(customer=self.customer, base_url=base_url),
                "categories": list(phones.provisioning_categories(self.customer)),
                "setup": self.get_queryset().first(),
            }
        return self._auto_context

    def get_context_data(self, **kwargs):
        return super().get_context_data(**{**self.auto_context(), **kwargs})


class AutoProvisioningView(_AutoMixin, TenantViewMixin, TemplateView):
    """Status; for Super-Admins and Admins: enable or rotate, build the line, disable."""

    template_name = "provisioning/auto_provisioning.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if context["can_change"]:
            context["line_form"] = AutoLineForm(customer=self.customer)
        return context


class AutoEnableView(_AutoMixin, TenantViewMixin, FormView):
    """Enable, or rotate the token. The answer shows the token once: only a keyed hash of
    it is stored, so no later page can show it again."""

    action = Action.CHANGE
    form_class = AutoEnableForm
    template_name = "provisioning/auto_enable.html"

    def form_valid(self, form):
        try:
            token = phones.auto_provisioning_enable(
                customer=self.customer, user=self.request.user, token=form.cleaned_data["token"]
            )
        except ValidationError as exc:
            _show_service_errors(form, exc)
            return self.form_invalid(form)
        # Read after the change, so the status shows the new token's hint.
        self.__dict__.pop("_auto_context", None)
        context = self.auto_context()
        lines = [
            (
                category,
                *phones.auto_provisioning_line(
                    url=context["device_url"], token=token, category=category.name
                ),
            )
            for category in context["categories"]
        ]
        response = self.response_class(
            request=self.request,
            template=["provisioning/auto_token.html"],
            context=self.get_context_data(token=token, lines=lines),
        )
        return _never_cached(response)


class AutoLineView(_AutoMixin, TenantViewMixin, FormView):
    """Build the configuration line again from the token (POST; nothing is stored)."""

    action = Action.CHANGE
    form_class = AutoLineForm
    template_name = "provisioning/auto_line.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "customer": self.customer}

    def form_valid(self, form):
        if not phones.auto_provisioning_token_matches(
            customer=self.customer, token=form.cleaned_data["token"]
        ):
            form.add_error(
                "token",
                "This is not the current token: phones would be refused. Paste the token "
                "shown when it was set, or set a new one.",
            )
            return self.form_invalid(form)
        context = self.auto_context()
        full_url, line = phones.auto_provisioning_line(
            url=context["device_url"],
            token=form.cleaned_data["token"],
            category=form.cleaned_data["category"].name,
        )
        response = self.render_to_response(
            self.get_context_data(
                form=form, full_url=full_url, line=line, chosen=form.cleaned_data["category"]
            )
        )
        return _never_cached(response)


class AutoDisableView(_AutoMixin, TenantViewMixin, TemplateView):
    """GET asks for confirmation; POST disables and forgets the token."""

    action = Action.CHANGE
    template_name = "provisioning/auto_confirm_disable.html"

    def post(self, request, *args, **kwargs):
        phones.auto_provisioning_disable(customer=self.customer, user=request.user)
        messages.success(request, "Automatic provisioning disabled; its token no longer works.")
        return redirect("provisioning:auto_provisioning")
