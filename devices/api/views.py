"""The devices admin API: the paged list, one device by its ID, obsoleting it (DELETE) and
mergeProvider (direct add or update). Every rule lives in devices.services."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from accounts.api.base import CUSTOMER_PARAMETER, TenantViewSet, error_response
from accounts.permissions import Area
from core.api.pagination import PagePagination
from core.api.parsers import StrictJSONParser
from devices import services
from devices.api.serializers import DEVICE_ID_MAX_LENGTH, DeviceSerializer, MergeRequestSerializer
from devices.filters import DeviceFilterSet
from devices.models import Device

TAG = "devices"

DEVICE_ID_PARAMETER = OpenApiParameter(
    "deviceId",
    {"type": "string", "minLength": 1, "maxLength": DEVICE_ID_MAX_LENGTH},
    location=OpenApiParameter.PATH,
    description="The device ID, e.g. TC52_18304522512397 (percent-encode reserved characters).",
)
VALIDATION_ERROR = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description='Bad input: {"provider": {"field": ["message"]}} naming each field.',
)
NOT_FOUND = error_response("No such device in your customer.")
FORBIDDEN = error_response("Your role may only read devices.")


class DeviceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """The customer's devices. Served through gateway.api.views.DeviceViewSet, which
    adds DELETE (obsoleting a device returns its licenses to the pool, a flow above this
    app)."""

    area = Area.DEVICES
    model = Device
    serializer_class = DeviceSerializer
    filterset_class = DeviceFilterSet
    pagination_class = PagePagination
    lookup_field = "device_id"
    lookup_url_kwarg = "deviceId"
    # Device IDs hold commas, underscores, dots…: anything but the path separator.
    lookup_value_regex = "[^/]+"

    def refine_queryset(self, queryset):
        return queryset.select_related("site")

    @extend_schema(
        tags=[TAG],
        summary="List devices",
        description="Paged; newest activity first unless `ordering` says otherwise.",
        parameters=[CUSTOMER_PARAMETER],
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        tags=[TAG],
        summary="One device by its device ID",
        parameters=[DEVICE_ID_PARAMETER, CUSTOMER_PARAMETER],
        responses={200: DeviceSerializer, 404: NOT_FOUND},
    )
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        tags=[TAG],
        operation_id="devices_merge",
        summary="Add a device directly, or update it (mergeProvider)",
        description=(
            "For devices that cannot redeem a token. Without `provider.v` the device is "
            "added (201; 409 `exists` if the ID is taken). With `provider.v`, the device "
            "is updated only if `v` is its current version (200; 409 `stale_version` "
            "otherwise; 404 if there is no such device). `company` is your customer, by "
            "slug or numeric ID. Additions count toward the monthly billing, even if the "
            "device is removed again."
        ),
        parameters=[CUSTOMER_PARAMETER],
        request=MergeRequestSerializer,
        responses={
            200: DeviceSerializer,
            201: DeviceSerializer,
            400: VALIDATION_ERROR,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: error_response(
                "exists: the device ID is taken; stale_version: `v` is not the device's "
                "current version."
            ),
        },
    )
    # JSON only: `provider` is an object, which form data cannot carry.
    @action(
        detail=False,
        methods=["post"],
        serializer_class=MergeRequestSerializer,
        parser_classes=[StrictJSONParser],
    )
    def merge(self, request):
        given = MergeRequestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        provider = given.validated_data["provider"]
        if not self._is_acting_customer(provider["company"]):
            # Whether another customer exists is none of the caller's business.
            raise NotFound("no such company")
        try:
            device, created = services.device_merge(
                customer=self.customer,
                user=request.user,
                kind=provider["kind"],
                device_id=provider["id"],
                password=provider.get("password"),
                phone_number=provider.get("phoneNumber"),
                version=provider.get("v"),
            )
        except DjangoValidationError as exc:
            # mergeProvider names the fields inside "provider".
            raise serializers.ValidationError(
                {"provider": serializers.as_serializer_error(exc)}
            ) from None
        return Response(
            DeviceSerializer(device).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def _is_acting_customer(self, company: str) -> bool:
        company = company.strip()
        return company == self.customer.slug or company == str(self.customer.pk)
