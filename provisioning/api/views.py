"""The bootstrap and token admin API, with the query-parameter paths existing scripts call
(`POST /bootstrap?name=…` with a JSON body, `POST /token?appId=…&bootstrap=…&name=…`),
the paged lists and the bulk import. Every rule lives in provisioning.services."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.response import Response

from accounts.api.base import (
    CUSTOMER_PARAMETER,
    ETAG_HEADER,
    FORBIDDEN,
    IF_MATCH_HEADER,
    NOT_FOUND,
    PAGE_PARAMETERS,
    STALE,
    VALIDATION_ERROR,
    AdminAPIView,
    AllRowsListMixin,
    TenantViewSet,
    error_response,
)
from accounts.permissions import Action, Area, can
from core.api.parsers import PayloadTooLarge, read_limited
from provisioning import importing
from provisioning.api.serializers import (
    IMPORT_REQUEST_SCHEMA,
    BootstrapSaveQuerySerializer,
    BootstrapSerializer,
    ImportErrorSerializer,
    ImportResultSerializer,
    ImportUploadSerializer,
    NameQuerySerializer,
    TokenNameQuerySerializer,
    TokenSerializer,
    TokenWriteQuerySerializer,
)
from provisioning.filters import BootstrapFilterSet, TokenFilterSet
from provisioning.models import Bootstrap, Token
from provisioning.services.bootstraps import bootstrap_delete, bootstrap_save, parse_parameters
from provisioning.services.tokens import token_delete, token_save

BOOTSTRAP_TAG = "bootstrap-controller"
TOKEN_TAG = "tokens-controller"


# --- Request plumbing ------------------------------------------------------------------


def _query(serializer_class, request) -> dict[str, Any]:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


class RawBody(bytes):
    """A request body handed over unparsed; the view parses it to name the field at fault."""

    media_type = ""


class _RawParser(BaseParser):
    # None: the site's DATA_UPLOAD_MAX_MEMORY_SIZE, as for every other request body.
    limit: int | None = None

    def parse(self, stream, media_type=None, parser_context=None):
        data = RawBody(read_limited(stream, self.limit or settings.DATA_UPLOAD_MAX_MEMORY_SIZE))
        data.media_type = media_type or self.media_type
        return data


class RawJSONParser(_RawParser):
    media_type = "application/json"


class RawImportJSONParser(RawJSONParser):
    limit = importing.MAX_IMPORT_BYTES


class RawCSVParser(_RawParser):
    media_type = "text/csv"
    limit = importing.MAX_IMPORT_BYTES


def _body_too_large(request, limit: int) -> bool:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > limit
    except ValueError:
        return False


# --- Bootstraps ------------------------------------------------------------------------


class BootstrapView(AdminAPIView):
    """One bootstrap by name: `GET`, add or replace with `POST`, `DELETE`."""

    area = Area.BOOTSTRAPS
    parser_classes = [RawJSONParser]
    body_required = True

    def _bootstraps(self):
        return Bootstrap.objects.for_customer(self.customer)

    def _get(self, name: str) -> Bootstrap:
        bootstrap = self._bootstraps().filter(name=name).first()
        if bootstrap is None:
            raise NotFound(f"no bootstrap named {name!r}")
        return bootstrap

    @extend_schema(
        tags=[BOOTSTRAP_TAG],
        operation_id="bootstrap_get",
        parameters=[NameQuerySerializer, CUSTOMER_PARAMETER, ETAG_HEADER],
        responses={200: BootstrapSerializer, 400: VALIDATION_ERROR, 404: NOT_FOUND},
    )
    def get(self, request):
        bootstrap = self._get(_query(NameQuerySerializer, request)["name"])
        return self.with_etag(Response(BootstrapSerializer(bootstrap).data), bootstrap.version)

    @extend_schema(
        tags=[BOOTSTRAP_TAG],
        operation_id="bootstrap_save",
        summary="Add a bootstrap, or replace the one with this name",
        description="The request body is the bootstrap's parameters: a JSON object, e.g. "
        '`{"site": "site-1094"}`. Answers 201 when added, 200 when replaced.',
        parameters=[BootstrapSaveQuerySerializer, CUSTOMER_PARAMETER, IF_MATCH_HEADER, ETAG_HEADER],
        request={"application/json": {"type": "object", "additionalProperties": True}},
        responses={
            200: BootstrapSerializer,
            201: BootstrapSerializer,
            400: VALIDATION_ERROR,
            403: FORBIDDEN,
            409: STALE,
            413: error_response("too_large: the body is larger than this server takes."),
        },
    )
    def post(self, request):
        name = _query(BootstrapSaveQuerySerializer, request)["name"]
        expected = self.if_match_version()
        body = request.data
        if not isinstance(body, RawBody) or not body.strip():
            raise serializers.ValidationError(
                {"parameters": ['required: send a JSON object body, e.g. {"site": "site-1094"}']}
            )
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise serializers.ValidationError({"parameters": ["not UTF-8 text"]}) from None
        # With If-Match naming a bootstrap that is gone, the service refuses (stale_version)
        # rather than quietly adding a new one.
        bootstrap, created = bootstrap_save(
            customer=self.customer,
            user=request.user,
            name=name,
            parameters=parse_parameters(text),
            expected_version=expected,
        )
        response = Response(
            BootstrapSerializer(bootstrap).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
        return self.with_etag(response, bootstrap.version)

    @extend_schema(
        tags=[BOOTSTRAP_TAG],
        operation_id="bootstrap_delete",
        parameters=[NameQuerySerializer, CUSTOMER_PARAMETER, IF_MATCH_HEADER],
        responses={
            204: None,
            400: VALIDATION_ERROR,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: error_response(
                "in_use: tokens use the bootstrap (the detail names them); stale_version: "
                "If-Match is out of date."
            ),
        },
    )
    def delete(self, request):
        bootstrap = self._get(_query(NameQuerySerializer, request)["name"])
        bootstrap_delete(
            bootstrap=bootstrap, user=request.user, expected_version=self.if_match_version()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    tags=[BOOTSTRAP_TAG],
    summary="Get a list of all bootstraps",
    description="Every bootstrap of the customer, as one JSON array (by name unless "
    "`ordering` says otherwise); `q` searches names and parameters. Send `page` or "
    "`pageSize` to get a page instead.",
    parameters=[CUSTOMER_PARAMETER, *PAGE_PARAMETERS],
)
class BootstrapListViewSet(AllRowsListMixin, mixins.ListModelMixin, TenantViewSet):
    area = Area.BOOTSTRAPS
    model = Bootstrap
    serializer_class = BootstrapSerializer
    filterset_class = BootstrapFilterSet


# --- Tokens ----------------------------------------------------------------------------


class TokenView(AdminAPIView):
    """One token by value (ignoring case): `GET`, add or replace with `POST`, `DELETE`."""

    area = Area.TOKENS
    # The services call the value "token"; this API's parameter is "name".
    service_fields = {"token": "name"}
    # POST takes its input from the query only, as scripts send it (no body, no type).
    parser_classes: list = []

    def _tokens(self):
        return Token.objects.for_customer(self.customer).select_related("bootstrap")

    def _get(self, name: str) -> Token:
        token = self._tokens().filter(value__lower=name.lower()).first()
        if token is None:
            raise NotFound(f"no token {name!r}")
        return token

    @extend_schema(
        tags=[TOKEN_TAG],
        operation_id="token_get",
        parameters=[TokenNameQuerySerializer, CUSTOMER_PARAMETER, ETAG_HEADER],
        responses={200: TokenSerializer, 400: VALIDATION_ERROR, 404: NOT_FOUND},
    )
    def get(self, request):
        token = self._get(_query(TokenNameQuerySerializer, request)["name"])
        return self.with_etag(Response(TokenSerializer(token).data), token.version)

    @extend_schema(
        tags=[TOKEN_TAG],
        operation_id="token_save",
        summary="Add a token, or replace the one with this value",
        description="All input is in the query; there is no body. The token is replaced as "
        "a whole: optional parameters left out go back to their defaults (no expiry, no "
        "limit, not revoked). Answers 201 when added, 200 when replaced.",
        parameters=[TokenWriteQuerySerializer, CUSTOMER_PARAMETER, IF_MATCH_HEADER, ETAG_HEADER],
        request=None,
        responses={
            200: TokenSerializer,
            201: TokenSerializer,
            400: VALIDATION_ERROR,
            403: FORBIDDEN,
            409: STALE,
        },
    )
    def post(self, request):
        query = _query(TokenWriteQuerySerializer, request)
        token, created = token_save(
            customer=self.customer,
            user=request.user,
            value=query["name"],
            app_id=query["appId"],
            bootstrap=query["bootstrap"],
            description=query["description"],
            expires_at=query["expiresAt"],
            max_redemptions=query["maxRedemptions"],
            revoked=query["revoked"],
            expected_version=self.if_match_version(),
        )
        response = Response(
            TokenSerializer(token).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
        return self.with_etag(response, token.version)

    @extend_schema(
        tags=[TOKEN_TAG],
        operation_id="token_delete",
        parameters=[TokenNameQuerySerializer, CUSTOMER_PARAMETER, IF_MATCH_HEADER],
        responses={204: None, 400: VALIDATION_ERROR, 403: FORBIDDEN, 404: NOT_FOUND, 409: STALE},
    )
    def delete(self, request):
        token = self._get(_query(TokenNameQuerySerializer, request)["name"])
        token_delete(token=token, user=request.user, expected_version=self.if_match_version())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    tags=[TOKEN_TAG],
    summary="Get a list of all tokens",
    description="Every token of the customer, as one JSON array (by value unless "
    "`ordering` says otherwise); filter by appId, bootstrap, revoked; `q` searches. Send "
    "`page` or `pageSize` to get a page instead.",
    parameters=[CUSTOMER_PARAMETER, *PAGE_PARAMETERS],
)
class TokenListViewSet(AllRowsListMixin, mixins.ListModelMixin, TenantViewSet):
    area = Area.TOKENS
    model = Token
    serializer_class = TokenSerializer
    filterset_class = TokenFilterSet

    def refine_queryset(self, queryset):
        return queryset.select_related("bootstrap")


# --- Bulk import -----------------------------------------------------------------------


class CatalogImportView(AdminAPIView):
    """Add or replace many bootstraps and tokens in one call, all or nothing."""

    area = Area.TOKENS
    parser_classes = [RawImportJSONParser, RawCSVParser, MultiPartParser]
    body_required = True

    @extend_schema(
        tags=[TOKEN_TAG],
        operation_id="catalog_import",
        summary="Import bootstraps and tokens from JSON or CSV",
        description=(
            'Send JSON `{"bootstraps": [...], "tokens": [...]}`, or CSV (as the body '
            "with `Content-Type: text/csv`, or as the `file` field of a multipart form) "
            "with the header `bootstrap,parameters,token,appId,description` (optionally "
            "also `expiresAt,maxRedemptions,revoked`). A CSV row with parameters adds or "
            "replaces its bootstrap; a row with a token adds or replaces that token. "
            f"At most {importing.MAX_IMPORT_ROWS} rows and "
            f"{importing.MAX_IMPORT_BYTES // (1024 * 1024)} MiB. Every row is checked as "
            "a single save would be; if any fails, nothing is written and the answer lists "
            "every bad row."
        ),
        parameters=[CUSTOMER_PARAMETER],
        request={
            "application/json": IMPORT_REQUEST_SCHEMA,
            "text/csv": OpenApiTypes.STR,
            "multipart/form-data": ImportUploadSerializer,
        },
        responses={
            200: ImportResultSerializer,
            400: ImportErrorSerializer,
            403: FORBIDDEN,
            413: error_response("too_large: the file is larger than this server takes."),
        },
    )
    def post(self, request):
        # multipart bodies carry a little framing around the file.
        if _body_too_large(request, importing.MAX_IMPORT_BYTES + 64 * 1024):
            raise PayloadTooLarge(self._too_large())
        try:
            catalog = self._parse(request)
            if catalog.bootstraps and not can(request.user, Area.BOOTSTRAPS, Action.CHANGE):
                raise PermissionDenied("your role may not change bootstraps")
            counts = importing.run_import(
                customer=self.customer, user=request.user, catalog=catalog
            )
        except importing.ImportFileError as exc:
            if exc.code == "too_large":
                raise PayloadTooLarge(exc.detail) from None
            return Response({"error": exc.code, "detail": exc.detail}, status=400)
        except importing.ImportRowsError as exc:
            return Response({"error": "invalid_rows", "rows": exc.rows}, status=400)
        return Response(counts)

    def _parse(self, request) -> importing.CatalogFile:
        data = request.data
        if isinstance(data, RawBody):
            return importing.parse_file(bytes(data), content_type=data.media_type)
        upload = request.FILES.get("file") if hasattr(request, "FILES") else None
        if upload is None:
            raise importing.ImportFileError(
                "invalid_file",
                "send JSON (application/json), CSV (text/csv) or a multipart form with a "
                "file field",
            )
        if upload.size > importing.MAX_IMPORT_BYTES:
            raise importing.ImportFileError("too_large", self._too_large())
        # Browsers label .csv uploads inconsistently (text/csv, application/vnd.ms-excel,
        # octet-stream): go by the file name, then by the content.
        return importing.parse_file(upload.read(), filename=upload.name or "")

    @staticmethod
    def _too_large() -> str:
        return f"the file is larger than {importing.MAX_IMPORT_BYTES // (1024 * 1024)} MiB"
