"""Licenses > Summary and Licenses > Assigned, their CSV exports and the Sync now button.

Super-Admins see their customer's licenses; staff see every customer's, or one customer's
through the customer filter. Admins and Users do not have the area (404). The rows and
their computed columns come from licensing.filters, shared with the API."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.generic import TemplateView, View

from accounts.models import Customer
from accounts.permissions import Action, Area
from accounts.tenancy import StaffScopeMixin
from accounts.views_base import FilteredListMixin, PortalView
from core.exports import csv_response, filter_errors_response
from licensing.filters import (
    AssignmentFilterSet,
    EntitlementFilterSet,
    LicenseStatus,
    UseStatus,
)
from licensing.models import Assignment, Entitlement, EntitlementState, Feature, LicenseType
from licensing.sync import SyncNotQueued, entitlement_sync_queue

logger = logging.getLogger(__name__)

# The filters of each page that narrow the rows (the customer filter aside): with any of
# them set, an empty list says "nothing matches" rather than "nothing yet".
SUMMARY_FILTERS = ("q", "state", "licenseType")
ASSIGNED_FILTERS = ("q", "license", "licenseType", "feature")


# --- Sync ------------------------------------------------------------------------------


# --- Scope -----------------------------------------------------------------------------


# --- Pages -----------------------------------------------------------------------------


class LicensingListView(StaffScopeMixin, FilteredListMixin, PortalView, TemplateView):
    """A license list. Staff choose the customer with `?customer=<slug>` (the customer
    filter); without it they see every customer, so they need not pick one first.
    `?format=csv` exports the rows instead (see `csv_export`)."""

    area = Area.LICENSES
    needs_customer = False
    filter_names: tuple[str, ...] = ()

    def get(self, request, *args, **kwargs):
        self.scope_from_query()
        if request.GET.get("format") == "csv":
            return self.csv_export()
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        is_staff = self.request.user.is_staff
        return super().get_context_data(
            customers=Customer.objects.order_by("name").only("slug", "name") if is_staff else None,
            customer_slug=self.customer_slug,
            listed_customer=self.listed_customer,
            unknown_customer=bool(self.customer_slug) and self.listed_customer is None,
            filtered=any(self.request.GET.get(name) for name in self.filter_names),
            **kwargs,
        )

    # CSV export (`?format=csv`): the same scope, filters and order as the page, not
    # paged, streamed. Activation IDs stay masked, as on the page.
    csv_name = ""
    csv_header: list[str] = []

    def csv_row(self, row) -> list[Any]:
        raise NotImplementedError

    def csv_export(self):
        filterset = self.filterset_class(self.request.GET, queryset=self.get_queryset())
        if not filterset.is_valid():
            return filter_errors_response(filterset.errors)
        who = self.listed_customer.slug if self.listed_customer else "all-customers"
        filename = f"{self.csv_name}-{who}-{timezone.localdate():%Y-%m-%d}.csv"
        rows = (self.csv_row(row) for row in filterset.qs.iterator(chunk_size=2000))
        return csv_response(filename, self.csv_header, rows)


class SummaryView(LicensingListView):
    """Purchased licenses per entitlement line, how many are used, when they expire."""

    model = Entitlement
    filterset_class = EntitlementFilterSet
    filter_names = SUMMARY_FILTERS
    template_name = "licensing/summary.html"
    page_title = "Licenses: Summary"
    csv_name = "licenses-summary"
    csv_header = [
        "Customer",
        "State",
        "License",
        "AID",
        "Term",
        "Total Purchased",
        "Total Used",
        "Expiration",
        "Last verified",
        "Created",
    ]

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            states=EntitlementState.choices,
            license_types=LicenseType.choices,
            sync_customer=self.sync_customer(),
            **kwargs,
        )

    def sync_customer(self) -> Customer | None:
        """Whom Sync now syncs: the customer listed, else the one staff act for. None for
        roles that may not sync (only staff have "change" on licenses)."""
        if not self.can_change:
            return None
        return self.listed_customer or self.customer

    def csv_row(self, row: Entitlement) -> list[Any]:
        return [
            row.customer.name,
            row.get_current_state_display(),
            row.get_license_type_display(),
            row.masked_activation_id,
            row.term,
            row.total,
            row.used,
            row.expiration,
            row.verified_at,
            row.created,
        ]


class AssignedView(LicensingListView):
    """Each license a device holds or held: feature, expiration, whether it is in use."""

    model = Assignment
    filterset_class = AssignmentFilterSet
    filter_names = ASSIGNED_FILTERS
    template_name = "licensing/assigned.html"
    page_title = "Licenses: Assigned"
    csv_name = "licenses-assigned"
    csv_header = [
        "Customer",
        "License",
        "Use Status",
        "Device ID",
        "Feature",
        "License type",
        "Expiration",
        "AID",
        "App Version",
        "Last contact",
        "First assigned",
        "Released",
    ]

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            license_statuses=LicenseStatus.choices,
            license_types=LicenseType.choices,
            features=Feature.choices,
            release_days=settings.LICENSE_RELEASE_DAYS,
            **kwargs,
        )

    def csv_row(self, row: Assignment) -> list[Any]:
        return [
            row.customer.name,
            LicenseStatus(row.license_status).label,
            UseStatus(row.use_status).label,
            row.device.device_id,
            row.feature,
            row.get_license_type_display(),
            row.entitlement.expiration,
            row.entitlement.masked_activation_id,
            row.app_version,
            row.last_seen,
            row.created,
            row.released_at,
        ]


class SummarySyncView(PortalView, View):
    """Sync now: queue a full sync of one customer's entitlements. POST only.

    Needs "change" on licenses, which only staff have: a Super-Admin, who may view
    licenses, gets 403; Admins and Users, who may not, get 404. Staff name the customer
    (the one the Summary shows, else the one they act for); anyone else syncs their own."""

    area = Area.LICENSES
    action = Action.CHANGE
    needs_customer = False
    http_method_names = ["post"]

    def dispatch(self, request, *args, **kwargs):
        # A method the button does not use is 405 for everyone, signed in or not.
        if request.method.lower() not in self.http_method_names:
            return self.http_method_not_allowed(request, *args, **kwargs)
        return super().dispatch(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        slug = request.POST.get("customer", "").strip() if request.user.is_staff else ""
        target = Customer.objects.filter(slug=slug).first() if slug else self.customer
        back = reverse("licensing:summary")
        if slug:
            back += "?" + urlencode({"customer": slug})
        if target is None:
            messages.error(request, "Choose the customer whose licenses to sync first.")
            return redirect(back)
        try:
            entitlement_sync_queue(customer=target, user=self.request.user)
        except SyncNotQueued as exc:
            messages.error(request, f"Sync of {target.name}'s licenses not queued: {exc}.")
        else:
            messages.success(
                request,
                f"Sync queued for {target.name}. The lines update when the entitlement "
                "back end answers; click Refresh in a minute.",
            )
        return redirect(back)
