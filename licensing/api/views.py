"""The licenses admin API: the Summary and Assigned lists (paged, the pages' FilterSets)
and Sync now. Read-only apart from queueing a sync; the rules live in licensing.services.

Scope, as on the pages: a Super-Admin gets their customer's rows; staff get every
customer's rows, or one customer's with `?customer=<slug>` (an unknown slug is 400, as
everywhere in the API). Admins and Users do not have the area: 404."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from accounts.api.base import (
    CUSTOMER_PARAMETER,
    VALIDATION_ERROR,
    AdminAPIMixin,
    AdminAPIView,
    error_response,
)
from accounts.permissions import Area
from accounts.tenancy import StaffScopeMixin
from core.api.pagination import PagePagination
from licensing.api.serializers import (
    AssignmentSerializer,
    EntitlementSummarySerializer,
    SyncQueuedSerializer,
)
from licensing.filters import AssignmentFilterSet, EntitlementFilterSet
from licensing.models import Assignment, Entitlement
from licensing.sync import entitlement_sync_queue

TAG = "licenses"

LIST_CUSTOMER_PARAMETER = OpenApiParameter(
    "customer",
    OpenApiTypes.STR,
    description=(
        "Staff only: the slug of the customer whose licenses to list; without it, every "
        "customer's. Ignored for everyone else, who only ever see their own customer's."
    ),
)


class LicenseListViewSet(
    StaffScopeMixin, AdminAPIMixin, mixins.ListModelMixin, viewsets.GenericViewSet
):
    """Base of the license lists: the staff scope (accounts.tenancy.StaffScopeMixin)."""

    area = Area.LICENSES
    pagination_class = PagePagination

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.scope_from_customer()

    def resolve_customer(self, request):
        if request.user.is_staff and not request.query_params.get("customer"):
            return None  # staff without ?customer= list every customer
        return super().resolve_customer(request)


class EntitlementSummaryViewSet(LicenseListViewSet):
    model = Entitlement
    serializer_class = EntitlementSummarySerializer
    filterset_class = EntitlementFilterSet

    @extend_schema(
        tags=[TAG],
        operation_id="licenses_summary",
        summary="License summary: one row per entitlement line",
        description=(
            "Paged; soonest expiration first unless `ordering` says otherwise. `totalUsed` "
            "counts the licenses of the line assigned now. `q` searches the term and the "
            "visible part of the activation ID."
        ),
        parameters=[LIST_CUSTOMER_PARAMETER],
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class AssignmentViewSet(LicenseListViewSet):
    model = Assignment
    serializer_class = AssignmentSerializer
    filterset_class = AssignmentFilterSet

    @extend_schema(
        tags=[TAG],
        operation_id="licenses_assigned",
        summary="Assigned licenses: one row per license a device holds or held",
        description=(
            "Paged; latest contact first unless `ordering` says otherwise. Released "
            "licenses are kept as history (`license`: unassigned). `q` searches the device "
            "ID and the feature."
        ),
        parameters=[LIST_CUSTOMER_PARAMETER],
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class LicenseSyncView(AdminAPIView):
    """Sync now. Needs "change" on licenses, which only staff have: Super-Admins may view
    licenses but not trigger a sync (403); Admins and Users do not have the area (404)."""

    area = Area.LICENSES

    @extend_schema(
        tags=[TAG],
        operation_id="licenses_sync",
        summary="Queue a full sync of a customer's entitlements",
        description=(
            "Staff only; name the customer with `?customer=<slug>`. The sync runs in the "
            "background: the Summary shows the new lines, and an Event records the outcome, "
            "when the entitlement back end has answered."
        ),
        parameters=[CUSTOMER_PARAMETER],
        request=None,
        responses={
            202: SyncQueuedSerializer,
            400: VALIDATION_ERROR,
            403: error_response("Your role may view licenses but not sync them."),
            404: error_response("Your role has no access to licenses."),
            503: error_response(
                "Not queued: no entitlement back end is configured, the task queue cannot be "
                "reached, or the database is not answering."
            ),
        },
    )
    def post(self, request, *args, **kwargs):
        entitlement_sync_queue(customer=self.customer, user=request.user)
        return Response(
            {"queued": True, "customer": self.customer.slug}, status=status.HTTP_202_ACCEPTED
        )
