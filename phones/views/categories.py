"""The Categories pages (System > Categories)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.shortcuts import redirect
from django.utils import timezone
from django.views.generic import FormView, TemplateView

from accounts.permissions import Action, Area
from accounts.views_base import (
    FilteredListMixin,
    TenantObjectMixin,
    TenantViewMixin,
    add_service_errors,
)
from core.client import public_base_url
from core.errors import InUse, StaleVersion
from core.exports import CsvExportMixin
from devices.models import Device
from phones.files.access import secret_masked
from phones.filters import CategoryFilterSet
from phones.forms import CategoryForm
from phones.models import Category, ConfigJob, ProvisioningCode, Rollout, SoftwareJob
from phones.services.categories import category_delete, category_save
from phones.services.templates import category_preview
from provisioning.forms import SERVICE_FIELDS, VersionForm
from provisioning.models import Bootstrap


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
    template_name = "phones/category_list.html"
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


class _CategoryFormView(TenantObjectMixin, TenantViewMixin, FormView):
    area = Area.PROVISIONING
    action = Action.CHANGE
    model = Category
    form_class = CategoryForm
    template_name = "phones/category_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "customer": self.customer, "instance": self.object}

    def get_context_data(self, **kwargs):
        has_bootstraps = Bootstrap.objects.for_customer(self.customer).exists()
        return super().get_context_data(has_bootstraps=has_bootstraps, **kwargs)

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            category, created = category_save(
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
            add_service_errors(form, exc, SERVICE_FIELDS)
            return self.form_invalid(form)
        verb = "added" if created else "saved"
        messages.success(self.request, f"Category {category.name} {verb}.")
        return redirect("phones:category_list")


class CategoryCreateView(_CategoryFormView):
    page_title = "Add category"


class CategoryUpdateView(_CategoryFormView):
    gone_url_name = "phones:category_list"
    page_title = "Edit category"

    def get_context_data(self, **kwargs):
        previews = [
            (vendor, model, name, secret_masked(body))
            for vendor, model, name, body in category_preview(
                self.object, base_url=public_base_url(self.request)
            )
        ]
        return super().get_context_data(previews=previews, **kwargs)

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().post(request, *args, **kwargs)


class CategoryDeleteView(TenantObjectMixin, TenantViewMixin, TemplateView):
    gone_url_name = "phones:category_list"
    area = Area.PROVISIONING
    action = Action.CHANGE
    model = Category
    template_name = "phones/category_confirm_delete.html"
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
            return redirect("phones:category_delete", pk=category.pk)
        try:
            category_delete(
                category=category,
                user=request.user,
                expected_version=form.cleaned_data["version"],
            )
        except StaleVersion as exc:
            messages.error(request, exc.sentence)
            return redirect("phones:category_delete", pk=category.pk)
        except InUse as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, f"Category {category.name} deleted.")
        return redirect("phones:category_list")
