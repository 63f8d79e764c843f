"""The one base of every admin API view: method check, role check, tenant scoping, the
version handshake (ETag / If-Match) and the mapping of service refusals to HTTP.

`AdminAPIView` is for endpoints with hand-written handlers, `TenantViewSet` for resource
viewsets; both take their plumbing from `AdminAPIMixin`. TenantViewSet's
`get_queryset()` scopes to the acting customer and cannot be overridden (subclasses
narrow it with `refine_queryset()`).
"""

from __future__ import annotations

import json
import logging
import re

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import StreamingHttpResponse
from drf_spectacular.drainage import get_override
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_array_type, force_instance, is_serializer
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.exceptions import MethodNotAllowed, NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.utils import encoders
from rest_framework.views import APIView

from accounts.models import Customer
from accounts.permissions import Action, can
from accounts.tenancy import ScopedQuerysetMixin, acting_customer, staff_acting_record
from core.api.exceptions import Refused
from core.api.pagination import PagePagination
from core.errors import ANY_VERSION, StaleVersion

log = logging.getLogger(__name__)

CUSTOMER_PARAMETER = OpenApiParameter(
    "customer",
    OpenApiTypes.STR,
    description="Staff only: the slug of the customer the request acts for.",
)
# "3" (the ETag this API sends), 3 (as scripts echo it), * (any stored version), or a weak
# W/"3", which If-Match's strong comparison never matches (RFC 9110, 13.1.1). ASCII digits
# only (Python's \d also takes other scripts' digits); the schema says the same.
_IF_MATCH = re.compile(r'(W/)?(?:"([0-9]{1,10})"|([0-9]{1,10}))|(\*)')
ETAG_HEADER = OpenApiParameter(
    "ETag",
    {"type": "string", "pattern": r'^"[0-9]+"$'},
    location=OpenApiParameter.HEADER,
    response=[200, 201],
    description='The version of the object, e.g. "3". Send it back in If-Match.',
)
IF_MATCH_HEADER = OpenApiParameter(
    "If-Match",
    # Surrounding blanks are ignored, as HTTP says.
    {"type": "string", "pattern": rf"^[ \t]*(?:{_IF_MATCH.pattern})[ \t]*$"},
    location=OpenApiParameter.HEADER,
    description='Optional: the ETag you read, e.g. "3", or * for any existing version. If '
    "the object has changed since (or, for *, does not exist), the request is refused with "
    '409 stale_version and nothing changes. A weak tag (W/"3") never matches: If-Match '
    "compares strongly.",
)


class ErrorSerializer(serializers.Serializer):
    """The body of every refusal that is not a field error."""

    error = serializers.CharField(
        help_text="A stable code: stale_version, exists, in_use, not_found, too_large, …"
    )
    detail = serializers.CharField(help_text="What went wrong, for people.")


VALIDATION_ERROR = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description='Bad input: {"field": ["message"]} naming each field, or {"error", "detail"} '
    "(for example a NUL character in the address, refused everywhere).",
)


def error_response(description: str) -> OpenApiResponse:
    """An answer with the body {"error", "detail"}."""
    return OpenApiResponse(ErrorSerializer, description=description)


FORBIDDEN = error_response(
    "Your role may only read; or, signed in through the portal, the X-CSRFToken header is "
    "missing or wrong."
)
NOT_FOUND = error_response("No such object in your customer.")
STALE = error_response("stale_version: If-Match is out of date.")

# Every answer an API operation can give besides its own, in one place. APISchema adds the
# ones that apply to each operation (see there); an operation's own @extend_schema
# answers for a status win over these.
ERROR_RESPONSES: dict[int, OpenApiResponse] = {
    400: VALIDATION_ERROR,
    401: error_response(
        "not_authenticated or token_not_valid: log in and send "
        "`authorization: Bearer <accessToken>` (or sign in to the portal)."
    ),
    403: FORBIDDEN,
    404: error_response(
        "not_found: no such object in your customer, or an area your role does not have."
    ),
    409: STALE,
    413: error_response("too_large: the body is larger than this server takes."),
    415: error_response("unsupported_media_type: the body's Content-Type is not one listed."),
    429: error_response("Too many requests; try again after Retry-After seconds."),
    503: error_response(
        "unavailable: the database is not answering; try again after Retry-After seconds."
    ),
}
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _server_page(description: str) -> dict:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


# What gunicorn answers itself, before any of our code runs, on every path: a short HTML
# page (gunicorn.util.write_error). Limits: config/gunicorn.py.
SERVER_RESPONSES = {
    "414": _server_page(
        "The request line (method, path and query) is longer than the server reads "
        "(4,094 bytes): answered by the HTTP server as an HTML page."
    ),
    "431": _server_page(
        "A header is larger than 8,190 bytes or there are more than 100 headers: answered "
        "by the HTTP server as an HTML page."
    ),
}


class APISchema(AutoSchema):
    """The OpenAPI answers of every API view: the operation's own, plus each refusal that
    the plumbing shared by all views can give it, so a client (and Schemathesis) knows
    every status it may meet:

    - 400 (a NUL character in the address, bad input) and 503 (database down) always;
    - 401 where a login is needed; 404 and, for writes, 403 on AdminAPIMixin views
      (AreaPermission); 409 where If-Match is read;
    - 413 and 415 where a body is parsed; 429 where throttles count.
    """

    def _get_response_bodies(self, direction="response"):
        # Below @extend_schema's own override of get_response_serializers(), so its
        # `responses` get the shared answers too.
        responses = super()._get_response_bodies(direction)
        for code in self.error_codes():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    ERROR_RESPONSES[code], str(code), direction=direction
                )
        responses.update(SERVER_RESPONSES)
        return responses

    def error_codes(self) -> list[int]:
        view, method = self.view, self.method
        codes = [400, 503]
        if self.get_auth():
            codes.append(401)
        if isinstance(view, AdminAPIMixin):
            codes.append(404)
            if method not in permissions.SAFE_METHODS:
                codes.append(403)
        if any(
            p.location == OpenApiParameter.HEADER and p.name == "If-Match" for p in self._params()
        ):
            codes.append(409)
        if method in _BODY_METHODS and view.parser_classes and self.get_request_serializer():
            codes += [413, 415]
        if getattr(view, "throttle_classes", None):
            codes.append(429)
        return codes

    def _get_filter_parameters(self):
        # `ordering` is a comma-separated list of one or more columns; an empty one (and
        # `ordering=` alone) is refused, so it is not one of the items.
        parameters = super()._get_filter_parameters()
        for parameter in parameters:
            schema = parameter.get("schema", {})
            if parameter.get("name") == "ordering" and schema.get("type") == "array":
                items = schema.setdefault("items", {})
                items["enum"] = [value for value in items.get("enum", []) if value != ""]
                schema["minItems"] = 1
        return parameters

    def _params(self) -> list[OpenApiParameter]:
        return [p for p in self.get_override_parameters() if isinstance(p, OpenApiParameter)]

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        # A field's @extend_schema_field schema is its rule; drf-spectacular would still
        # set minLength 1 on a required text field over it.
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        annotation = get_override(field, "field")
        if isinstance(annotation, dict) and "minLength" in annotation:
            schema["minLength"] = annotation["minLength"]
        return schema

    def _get_request_body(self, direction="request"):
        # drf-spectacular marks a body given as a raw schema optional; a view whose
        # handler refuses a missing body says so with `body_required`.
        body = super()._get_request_body(direction)
        if body and getattr(self.view, "body_required", False):
            body["required"] = True
        return body


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
      `?customer=<slug>` (recorded in the audit log once per access token or session),
      however the request authenticated (a token or the portal's session): the customer
      staff picked in the portal does not carry over.
    - Service refusals become answers (core.api.exceptions, the API's one exception
      handler): a django ValidationError is 400 naming the fields (renamed through
      `service_fields`), a ServiceError is {"error", "detail"} with its status.
    """

    area: str = ""
    permission_classes = [permissions.IsAuthenticated, AreaPermission]
    schema = APISchema()
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
        # Once per access token (or portal session) and customer, as the portal records
        # one switch: a script calling a thousand times under one login is one entry, not
        # a thousand.
        if request.auth is not None:
            login_id = request.auth.get("jti", "")
        else:
            login_id = "session:" + (request.session.session_key or "")
        key = f"staff-acting:{request.user.pk}:{customer.pk}:{login_id}"
        lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()
        try:
            first = cache.add(key, 1, timeout=int(lifetime))
        except Exception as exc:  # any cache backend's error: the cache is unreachable
            # Recorded once too often rather than not at all: the audit log must not miss
            # who acted for a customer.
            log.warning("staff acting: cache unreachable, recorded without it: %s", exc)
            first = True
        if first:
            staff_acting_record(user=request.user, customer=customer, via="api")

    def if_match_version(self) -> int | str | None:
        """The version a client says it edited (If-Match): a number, ANY_VERSION for *,
        or None when it sent none. A weak tag is refused as stale: it matches nothing."""
        header = self.request.headers.get("If-Match")
        if header is None:
            return None
        match = _IF_MATCH.fullmatch(header.strip())
        if match is None:
            raise ValidationError(
                {"If-Match": [f'expected the ETag of the object, e.g. "3"; got {header[:40]!r}']}
            )
        weak, quoted, bare, any_version = match.groups()
        if any_version:
            return ANY_VERSION
        if weak:
            raise Refused(
                status.HTTP_409_CONFLICT,
                StaleVersion.code,
                f"If-Match: {header.strip()} is a weak tag, which never matches (If-Match "
                f'compares strongly); send the ETag as it came, "{quoted or bare}".',
            )
        return int(quoted or bare)

    @staticmethod
    def with_etag(response: Response, version: int) -> Response:
        response["ETag"] = f'"{version}"'
        return response


# The paging parameters of the lists that answer every row unless asked for a page.
PAGE_PARAMETERS = [
    OpenApiParameter(
        parameter["name"],
        parameter["schema"],
        description=parameter["description"]
        + (
            ' Sending it pages through the rows: the answer is then {"count", "next", '
            '"previous", "results"}.'
        ),
    )
    for parameter in PagePagination().get_schema_operation_parameters(None)
]


class AllRowsListSchema(APISchema):
    """The 200 of an AllRowsListMixin list: every row as an array, or a page of them
    when ?page= or ?pageSize= is sent."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        rows = self.get_response_serializers()
        if self.method == "GET" and is_serializer(rows):
            item = self.resolve_serializer(force_instance(rows), direction).ref
            every_row = build_array_type(item)
            page = self.view.page_class().get_paginated_response_schema(build_array_type(item))
            # Written out: drf-spectacular would wrap any schema of a list view in an array.
            responses["200"] = {
                "description": "Every row as an array; with ?page= or ?pageSize=, one page.",
                "content": {"application/json": {"schema": {"oneOf": [every_row, page]}}},
            }
        return responses


class AllRowsListMixin:
    """A list that answers every row, as the guide's "get a list of all …" endpoints do:
    one JSON array written a batch of rows at a time from a database cursor, so memory
    stays flat however many rows there are. With ?page= or ?pageSize= it answers a page
    (`page_class`) instead. Filters and ordering apply either way."""

    # Paging only on request, so DRF answers the plain array by default.
    pagination_class = None
    page_class = PagePagination
    stream_batch = 500
    schema = AllRowsListSchema()

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
