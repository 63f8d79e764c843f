"""The one base of every admin API view: method check, role check, tenant scoping, the
version handshake (ETag / If-Match) and the mapping of service refusals to HTTP.

`AdminAPIView` is for endpoints with hand-written handlers, `TenantViewSet` for resource
viewsets; both take their plumbing from `AdminAPIMixin`. TenantViewSet's
`get_queryset()` scopes to the acting customer and cannot be overridden (subclasses
narrow it with `refine_queryset()`).
"""

from __future__ import annotations

import json
import re

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import permissions, serializers, viewsets
from rest_framework.exceptions import MethodNotAllowed, NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.utils import encoders
from rest_framework.views import APIView

from accounts.api.pagination import PagePagination
from accounts.models import Customer
from accounts.permissions import Action, can
from accounts.tenancy import ScopedQuerysetMixin, acting_customer, staff_acting_record

CUSTOMER_PARAMETER = OpenApiParameter(
    "customer",
    OpenApiTypes.STR,
    description="Staff only: the slug of the customer the request acts for.",
)
ETAG_HEADER = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    response=[200, 201],
    description='The version of the object, e.g. "3". Send it back in If-Match.',
)
IF_MATCH_HEADER = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    description='Optional: the ETag you read, e.g. "3". If the object has changed since, '
    "the request is refused with 409 stale_version and nothing changes.",
)


class ErrorSerializer(serializers.Serializer):
    """The body of every refusal that is not a field error."""

    error = serializers.CharField(
        help_text="A stable code: stale_version, exists, in_use, not_found, too_large, …"
    )
    detail = serializers.CharField(help_text="What went wrong, for people.")


VALIDATION_ERROR = OpenApiResponse(
    OpenApiTypes.OBJECT, description='Bad input: {"field": ["message"]} naming each field.'
)
FORBIDDEN = OpenApiResponse(description="Your role may only read.")
STALE = OpenApiResponse(ErrorSerializer, description="stale_version: If-Match is out of date.")

# "3", 3 or W/"3": the value of the ETag this API sends, however a client echoes it.
_IF_MATCH = re.compile(r'(?:W/)?(?:"(\d{1,10})"|(\d{1,10}))')


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


class AdminAPIMixin:
    """Plumbing of every admin API view.

    - A method the path does not have is 405 for everyone, before authentication.
    - The role must allow the view's `area` (AreaPermission).
    - `self.customer` is the acting customer: the user's own, or the one staff name with
      `?customer=<slug>` (recorded in the audit log once per access token).
    - Service refusals become answers (accounts.api.exceptions, the API's one exception
      handler): a django ValidationError is 400 naming the fields (renamed through
      `service_fields`), a ServiceError is {"error", "detail"} with its status.
    """

    area: str = ""
    permission_classes = [permissions.IsAuthenticated, AreaPermission]
    # The services' field names that this API calls otherwise.
    service_fields: dict[str, str] = {}

    def initial(self, request, *args, **kwargs):
        if not self.area:
            raise ImproperlyConfigured(f"{type(self).__name__} declares no area")
        method = request.method.lower()
        if method != "options" and (
            method not in self.http_method_names or not hasattr(self, method)
        ):
            raise MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)
        self.customer = self.resolve_customer(request)

    def resolve_customer(self, request) -> Customer:
        slug = request.query_params.get("customer") if request.user.is_staff else None
        customer = acting_customer(request.user, slug=slug)
        if customer is None:
            if request.user.is_staff:
                detail = "staff name the customer they act for with ?customer=<slug>"
                if slug:
                    detail = f"no customer with slug {slug!r}"
                raise ValidationError({"customer": [detail]})
            raise NotFound
        if slug:
            self._record_staff_acting(request, customer)
        return customer

    @staticmethod
    def _record_staff_acting(request, customer: Customer) -> None:
        # Once per access token and customer, as the portal records one switch: a script
        # calling a thousand times under one login is one entry, not a thousand.
        token_id = request.auth.get("jti", "") if request.auth is not None else ""
        key = f"staff-acting:{request.user.pk}:{customer.pk}:{token_id}"
        lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()
        if cache.add(key, 1, timeout=int(lifetime)):
            staff_acting_record(user=request.user, customer=customer, via="api")

    def if_match_version(self) -> int | None:
        """The version a client says it edited (If-Match), or None when it sent none."""
        header = self.request.headers.get("If-Match")
        if header is None:
            return None
        match = _IF_MATCH.fullmatch(header.strip())
        if match is None:
            raise ValidationError(
                {"If-Match": [f'expected the ETag of the object, e.g. "3"; got {header[:40]!r}']}
            )
        return int(match.group(1) or match.group(2))

    @staticmethod
    def with_etag(response: Response, version: int) -> Response:
        response["ETag"] = f'"{version}"'
        return response


PAGE_PARAMETERS = [
    OpenApiParameter(
        "page",
        OpenApiTypes.INT,
        description="Page through the rows instead: the answer is then "
        '{"count", "next", "previous", "results"} with pageSize rows.',
    ),
    OpenApiParameter(
        "pageSize",
        OpenApiTypes.INT,
        description=f"Rows per page when paging (at most {settings.API_PAGE_SIZE_MAX}).",
    ),
]


class AllRowsListMixin:
    """A list that answers every row, as the guide's "get a list of all …" endpoints do:
    one JSON array written a batch of rows at a time from a database cursor, so memory
    stays flat however many rows there are. With ?page= or ?pageSize= it answers a page
    (`page_class`) instead. Filters and ordering apply either way."""

    # Paging only on request, so the schema (and DRF) answer the plain array by default.
    pagination_class = None
    page_class = PagePagination
    stream_batch = 500

    def list(self, request, *args, **kwargs):
        if "page" in request.query_params or "pageSize" in request.query_params:
            self._paginator = self.page_class()
            return super().list(request, *args, **kwargs)
        queryset = self.filter_queryset(self.get_queryset())
        serializer_class = self.get_serializer_class()
        context = self.get_serializer_context()

        def batches(rows: list) -> str:
            return json.dumps(
                serializer_class(rows, many=True, context=context).data,
                cls=encoders.JSONEncoder,
                ensure_ascii=False,
            )[1:-1]

        def body():
            yield "["
            rows, separator = [], ""
            for row in queryset.iterator(chunk_size=self.stream_batch):
                rows.append(row)
                if len(rows) == self.stream_batch:
                    yield separator + batches(rows)
                    rows, separator = [], ","
            if rows:
                yield separator + batches(rows)
            yield "]"

        return StreamingHttpResponse(body(), content_type="application/json")


class AdminAPIView(AdminAPIMixin, APIView):
    """An admin API endpoint with hand-written handlers (get, post, delete…)."""


class TenantViewSet(ScopedQuerysetMixin, AdminAPIMixin, viewsets.GenericViewSet):
    """An admin API resource over the acting customer's rows."""
