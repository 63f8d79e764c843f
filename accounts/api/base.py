"""Base classes for every admin API view: role check and tenant scoping in one place.

`TenantViewSet.get_queryset()` scopes to the acting customer and cannot be overridden;
subclasses narrow it with `refine_queryset()`.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import permissions, viewsets
from rest_framework.exceptions import NotFound, ValidationError

from accounts.models import Customer
from accounts.permissions import Action, can
from accounts.tenancy import acting_customer

CUSTOMER_PARAMETER = OpenApiParameter(
    "customer",
    OpenApiTypes.STR,
    description="Staff only: the slug of the customer the request acts for.",
)


class AreaPermission(permissions.BasePermission):
    """Reads need "view" on the view's area, writes need "change". An area the role may
    not view answers 404, exactly as for an object of another customer."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user.is_authenticated:
            return False
        if not can(user, view.area, Action.VIEW):
            raise NotFound
        if request.method in permissions.SAFE_METHODS:
            return True
        return can(user, view.area, Action.CHANGE)


class CustomerScopedMixin:
    """Resolves `self.customer` for the request: the user's own, or the one staff name."""

    area: str = ""
    permission_classes = [permissions.IsAuthenticated, AreaPermission]

    def initial(self, request, *args, **kwargs):
        if not self.area:
            raise ImproperlyConfigured(f"{type(self).__name__} declares no area")
        super().initial(request, *args, **kwargs)
        self.customer = self._resolve_customer(request)

    def _resolve_customer(self, request) -> Customer:
        slug = request.query_params.get("customer") if request.user.is_staff else None
        customer = acting_customer(request.user, slug=slug)
        if customer is None:
            if request.user.is_staff:
                detail = "staff name the customer they act for with ?customer=<slug>"
                if slug:
                    detail = f"no customer with slug {slug!r}"
                raise ValidationError({"customer": [detail]})
            raise NotFound
        return customer


class TenantViewSet(CustomerScopedMixin, viewsets.GenericViewSet):
    model = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise ImproperlyConfigured(
                f"{cls.__name__} overrides get_queryset(); override refine_queryset() instead"
            )

    def get_queryset(self) -> QuerySet:
        # Schema generation has no real user or customer.
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        return self.refine_queryset(self.model.objects.for_customer(self.customer))

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset
