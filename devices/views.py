"""The Devices and Sites pages. The rules are in devices.services; these views shape the
pages, call the services and show their errors on the right field or as a message."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import FormView, TemplateView

from accounts.permissions import Action, Area
from accounts.views_base import FilteredListMixin, TenantViewMixin, add_service_errors
from core.errors import AlreadyExists
from core.exports import CsvExportMixin
from devices import services, sites
from devices.filters import SITE_STATUS_CHOICES, DeviceFilterSet, SiteFilterSet
from devices.forms import SERVICE_FIELDS, DeviceAddForm
from devices.models import Device, DeviceState, Site
from devices.ptt import PttError
from reports.models import AppId


def _without_prefix(message: str, field: str) -> str:
    # The services speak API ("id: device … already exists"); on a form the field is known.
    text = message.removeprefix(f"{field}: ")
    return text[:1].upper() + text[1:]


# --- Devices ---------------------------------------------------------------------------


class DeviceListView(CsvExportMixin, FilteredListMixin, TenantViewMixin, TemplateView):
    """All devices of the customer. A constant number of queries whatever the page:
    the count, the page joined to its sites, and the site names of the filter."""

    area = Area.DEVICES
    model = Device
    filterset_class = DeviceFilterSet
    template_name = "devices/device_list.html"
    page_title = "Devices"
    csv_name = "devices"
    csv_columns = [
        ("Device ID", lambda d: d.device_id),
        ("State", lambda d: d.get_state_display()),
        ("Kind", lambda d: d.get_kind_display()),
        ("Model", lambda d: d.model),
        ("OS", lambda d: d.os),
        ("App", lambda d: d.app_id),
        ("App version", lambda d: d.app_version),
        ("Site", lambda d: d.site.name if d.site else ""),
        ("Site status", lambda d: d.get_site_status_display()),
        ("Assigned on", lambda d: d.site_assigned_at),
        ("Last check-in", lambda d: d.last_checkin),
        ("Updated", lambda d: d.updated),
        ("Created", lambda d: d.created),
    ]

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("site")

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            states=DeviceState.choices,
            site_statuses=SITE_STATUS_CHOICES,
            app_ids=AppId.choices,
            site_names=Site.objects.for_customer(self.customer)
            .order_by("name")
            .values_list("name", flat=True),
            **kwargs,
        )


class DeviceAddView(TenantViewMixin, FormView):
    """Direct add, for devices that cannot redeem a token themselves."""

    area = Area.DEVICES
    action = Action.CHANGE
    model = Device
    form_class = DeviceAddForm
    template_name = "devices/device_form.html"
    page_title = "Add device"

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            device, _ = services.device_merge(
                customer=self.customer,
                user=self.request.user,
                kind=data["kind"],
                device_id=data["device_id"],
                # Empty means "not given": the service checks only what it is handed.
                password=data["password"] or None,
                phone_number=data["phone_number"] or None,
            )
        except AlreadyExists as exc:
            form.add_error("device_id", _without_prefix(exc.detail, "id"))
            return self.form_invalid(form)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                exc = ValidationError(
                    {SERVICE_FIELDS.get(key, key): value for key, value in exc.error_dict.items()}
                )
            add_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"Device {device.device_id} added.")
        return redirect("gateway:device_detail", pk=device.pk)


# --- Sites -----------------------------------------------------------------------------


class SiteListView(CsvExportMixin, FilteredListMixin, TenantViewMixin, TemplateView):
    area = Area.SITES
    model = Site
    filterset_class = SiteFilterSet
    template_name = "devices/site_list.html"
    page_title = "Sites"
    csv_name = "sites"
    csv_columns = [
        ("Name", lambda s: s.name),
        ("PTT Pro Server Name", lambda s: s.server_name),
        ("Devices", lambda s: s.device_count),
        ("Synced at", lambda s: s.synced_at),
    ]

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        # Devices per site in the page's own query, not one query per row. A correlated
        # COUNT rather than JOIN … GROUP BY: the paginator's COUNT(*) then drops it and
        # counts sites alone, and only the sites on the page are counted (by the site_id
        # index) instead of grouping every device of the customer on each page view.
        per_site = (
            Device.objects.filter(site=OuterRef("pk"))
            .order_by()
            .values("site")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return queryset.annotate(device_count=Coalesce(Subquery(per_site), 0))


class SiteDetailView(FilteredListMixin, TenantViewMixin, TemplateView):
    """The devices registered on one site, paged, searchable and sortable."""

    area = Area.SITES
    model = Device
    filterset_class = DeviceFilterSet
    template_name = "devices/site_detail.html"
    page_title = "Site"

    def get(self, request, *args, **kwargs):
        self.site = get_object_or_404(Site.objects.for_customer(self.customer), pk=kwargs["pk"])
        self.page_title = f"{self.site.name} devices"
        return super().get(request, *args, **kwargs)

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.filter(site=self.site)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            site=self.site,
            states=DeviceState.choices,
            **kwargs,
        )


class SiteSyncView(TenantViewMixin, TemplateView):
    """GET asks for confirmation; POST copies the site list of the customer's PTT Pro
    server. A server that is down or refuses is a message, never an error page."""

    area = Area.SITES
    action = Action.CHANGE
    model = Site
    template_name = "devices/site_confirm_sync.html"
    page_title = "Sync sites"

    def post(self, request, *args, **kwargs):
        try:
            count = sites.sites_sync(customer=self.customer, user=self.request.user)
        except PttError as exc:
            messages.error(request, f"Site sync failed: {exc}")
        except ValidationError as exc:
            messages.error(request, f"Site sync failed: {' '.join(exc.messages)}")
        else:
            messages.success(
                request,
                f"{count} site{'s' if count != 1 else ''} synced from PTT Pro server "
                f"{self.customer.ptt_server}.",
            )
        return redirect("devices:site_list")
