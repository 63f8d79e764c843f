"""The ZTP admin API, for scripts: each vendor's state for the acting customer, the card's
actions (onboard with the customer's API key, change the key, rotate the URL, disable,
check, repair) and the phones registered at the vendor
(list, register, remove, import many). The rules are ztp.services'; this shapes them.
Like the card, it is for the customer's Super-Admins and staff (the "ztp" area)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from accounts.api.base import (
    CUSTOMER_PARAMETER,
    VALIDATION_ERROR,
    TenantViewSet,
    error_response,
)
from accounts.permissions import Area
from core.api.fields import NOT_BLANK_PATTERN, StrictCharField
from core.api.pagination import PagePagination
from core.api.parsers import StrictJSONParser
from core.client import public_base_url
from ztp.filters import ZtpPhoneFilterSet
from ztp.models import Vendor, ZtpAccount, ZtpPhone
from ztp.services.card import (
    ztp_card,
    ztp_card_row,
    ztp_check,
    ztp_disable,
    ztp_key_change,
    ztp_onboard,
    ztp_repair,
    ztp_rotate,
)
from ztp.services.common import IMPORT_MAX, KEY_TEXT_MAX, key_entered
from ztp.services.phones import (
    ztp_phone_import,
    ztp_phone_register,
    ztp_phone_remove_many,
    ztp_phone_unregister,
)

TAG = "ztp"
VENDOR_PATTERN = "|".join(Vendor.values)
VENDOR_PARAMETER = OpenApiParameter(
    "vendor", {"type": "string", "enum": Vendor.values}, location=OpenApiParameter.PATH
)
REFUSED = error_response(
    "The vendor refused or could not be reached, another action is running (409), or the "
    "customer is not onboarded: `detail` says what to do next."
)


class ZtpStateSerializer(serializers.Serializer):
    vendor = serializers.CharField()
    label = serializers.CharField()
    status = serializers.CharField(source="account.status")
    companyId = serializers.CharField(source="account.company_id")
    keyId = serializers.CharField(source="account.key_id", help_text="The API key in use.")
    credentialsSetAt = serializers.DateTimeField(
        source="account.credentials_set_at", allow_null=True
    )
    checkedAt = serializers.DateTimeField(source="account.checked_at", allow_null=True)
    lastError = serializers.CharField(source="account.last_error")
    drift = serializers.CharField(
        source="account.drift", help_text="What the last check found changed at the vendor."
    )
    lastAction = serializers.CharField(source="account.last_action")
    lastActionAt = serializers.DateTimeField(source="account.last_action_at", allow_null=True)
    phones = serializers.IntegerField()
    busy = serializers.BooleanField(help_text="An action is running.")


class ZtpOutcomeSerializer(serializers.Serializer):
    message = serializers.CharField()
    changed = serializers.BooleanField()
    state = ZtpStateSerializer()


@extend_schema_field(
    {"type": "string", "pattern": f"^[!-~]{{1,{KEY_TEXT_MAX}}}$", "maxLength": KEY_TEXT_MAX}
)
class KeyTextField(StrictCharField):
    """Half of an API key: printable ASCII without spaces (ztp.services.common.key_entered
    holds the rule; this only tells the schema)."""

    def __init__(self, **kwargs):
        super().__init__(max_length=KEY_TEXT_MAX, **kwargs)


class ZtpKeySerializer(serializers.Serializer):
    """An API key the customer made in the vendor's portal."""

    keyId = KeyTextField(help_text="The key's ID at the vendor.")
    secret = KeyTextField(write_only=True)

    def validate(self, attrs):
        try:
            key_entered(attrs["keyId"], attrs["secret"])
        except ValidationError as exc:
            raise serializers.ValidationError(
                {"keyId" if name == "key_id" else name: p for name, p in exc.message_dict.items()}
            ) from None
        return attrs


_ACTION_DOC = {
    "onboard": "Check the customer's API key at the vendor (a real call), register the "
    "customer's phone file URL there and keep the key encrypted.",
    "key": "Replace the stored API key by a new one of the same company; delete the old one "
    "in the vendor's portal afterwards.",
    "rotate": "Give the customer a new phone file URL (the previous one works for 30 days) "
    "and register it at the vendor. The API key is rotated with `key`.",
    "disable": "Remove the customer's phones at the vendor and forget the API key.",
    "check": "Ask the vendor whether the key is still accepted and still holds our URL and "
    "phones; a drift is stored and shown.",
    "repair": "Register the current phone file URL, and the phones the vendor lost, again.",
}


def _action_schema(name: str, request=None):
    return extend_schema(
        tags=[TAG],
        summary={"key": "Change a vendor's API key"}.get(name, f"{name.capitalize()} a vendor"),
        description=_ACTION_DOC[name],
        parameters=[VENDOR_PARAMETER, CUSTOMER_PARAMETER],
        request=request,
        responses={
            200: ZtpOutcomeSerializer,
            400: VALIDATION_ERROR,
            404: REFUSED,
            409: REFUSED,
            503: REFUSED,
        },
    )


@extend_schema_view(
    list=extend_schema(
        tags=[TAG],
        summary="Every vendor's state",
        parameters=[CUSTOMER_PARAMETER],
        responses={200: ZtpStateSerializer(many=True)},
    ),
    retrieve=extend_schema(
        tags=[TAG],
        summary="One vendor's state",
        parameters=[VENDOR_PARAMETER, CUSTOMER_PARAMETER],
        responses={200: ZtpStateSerializer},
    ),
)
class ZtpVendorViewSet(TenantViewSet):
    """The acting customer's wiring to each vendor, as the ZTP card shows it."""

    area = Area.ZTP
    model = ZtpAccount
    pagination_class = None  # one row per vendor
    serializer_class = ZtpStateSerializer
    lookup_field = "vendor"
    lookup_value_regex = VENDOR_PATTERN

    def list(self, request, *args, **kwargs):
        return Response(ZtpStateSerializer(ztp_card(self.customer), many=True).data)

    def retrieve(self, request, vendor: str, *args, **kwargs):
        return Response(ZtpStateSerializer(ztp_card_row(self.customer, vendor)).data)

    def _run(self, service, vendor: str, **extra) -> Response:
        outcome = service(customer=self.customer, vendor=vendor, user=self.request.user, **extra)
        state = ztp_card_row(self.customer, vendor)
        body = {"message": outcome.message, "changed": outcome.changed, "state": state}
        return Response(ZtpOutcomeSerializer(body).data)

    def _key(self, request) -> dict[str, str]:
        serializer = ZtpKeySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return {
            "key_id": serializer.validated_data["keyId"],
            "secret": serializer.validated_data["secret"],
        }

    @_action_schema("onboard", ZtpKeySerializer)
    @action(detail=True, methods=["post"], parser_classes=[StrictJSONParser])
    def onboard(self, request, vendor: str):
        return self._run(
            ztp_onboard, vendor, base_url=public_base_url(request), **self._key(request)
        )

    @_action_schema("key", ZtpKeySerializer)
    @action(detail=True, methods=["post"], parser_classes=[StrictJSONParser])
    def key(self, request, vendor: str):
        return self._run(ztp_key_change, vendor, **self._key(request))

    @_action_schema("rotate")
    @action(detail=True, methods=["post"])
    def rotate(self, request, vendor: str):
        return self._run(ztp_rotate, vendor)

    @_action_schema("disable")
    @action(detail=True, methods=["post"])
    def disable(self, request, vendor: str):
        return self._run(ztp_disable, vendor)

    @_action_schema("check")
    @action(detail=True, methods=["post"])
    def check(self, request, vendor: str):
        return self._run(ztp_check, vendor)

    @_action_schema("repair")
    @action(detail=True, methods=["post"])
    def repair(self, request, vendor: str):
        return self._run(ztp_repair, vendor)


class ZtpPhoneSerializer(serializers.ModelSerializer):
    registeredAt = serializers.DateTimeField(source="registered_at")
    registeredBy = serializers.CharField(source="registered_by")

    class Meta:
        model = ZtpPhone
        fields = ["mac", "registeredAt", "registeredBy"]
        read_only_fields = fields


# A MAC as people write it: 12 hex digits, pairs optionally joined by ":" or "-".
MAC_PATTERN = r"\A[0-9A-Fa-f]{2}(?:[:-]?[0-9A-Fa-f]{2}){5}\Z"


@extend_schema_field(
    {"type": "string", "pattern": MAC_PATTERN.replace(r"\A", "^").replace(r"\Z", "$")}
)
class MacField(StrictCharField):
    def __init__(self, **kwargs):
        super().__init__(
            max_length=17,
            validators=[RegexValidator(MAC_PATTERN, "12 hex digits, e.g. 00:04:13:2A:3B:4C")],
            **kwargs,
        )


class ZtpPhoneWriteSerializer(serializers.Serializer):
    mac = MacField(help_text="e.g. 00:04:13:2A:3B:4C or 0004132A3B4C")


class ZtpMacsSerializer(serializers.Serializer):
    # The validator only repeats what trimming and the blank check do, so that the schema
    # says it too.
    macs = StrictCharField(
        max_length=IMPORT_MAX * 40,
        validators=[RegexValidator(NOT_BLANK_PATTERN, "may not be blank")],
        help_text=f"One MAC a line (a CSV's first column; a `mac` header is skipped), at most "
        f"{IMPORT_MAX}.",
    )


class _BulkResultSerializer(serializers.Serializer):
    failed = serializers.ListField(
        child=serializers.CharField(), help_text='"line 4: 00:04:13:…: why", per MAC'
    )
    stopped = serializers.CharField(help_text="Why the rest was not tried (an outage), or ''.")


class ZtpImportResultSerializer(_BulkResultSerializer):
    registered = serializers.ListField(child=serializers.CharField(), source="done")


class ZtpRemoveResultSerializer(_BulkResultSerializer):
    removed = serializers.ListField(child=serializers.CharField(), source="done")


@extend_schema_view(
    list=extend_schema(tags=[TAG], parameters=[VENDOR_PARAMETER, CUSTOMER_PARAMETER]),
    create=extend_schema(
        tags=[TAG],
        summary="Register a phone at the vendor",
        parameters=[VENDOR_PARAMETER, CUSTOMER_PARAMETER],
        request=ZtpPhoneWriteSerializer,
        responses={201: ZtpPhoneSerializer, 404: REFUSED, 409: REFUSED, 503: REFUSED},
    ),
    destroy=extend_schema(
        tags=[TAG],
        summary="Remove a phone at the vendor",
        parameters=[VENDOR_PARAMETER, CUSTOMER_PARAMETER],
        responses={204: None, 404: REFUSED, 503: REFUSED},
    ),
)
class ZtpPhoneViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, TenantViewSet
):
    """The MACs registered at one vendor for the acting customer."""

    area = Area.ZTP
    parser_classes = [StrictJSONParser]
    model = ZtpPhone
    serializer_class = ZtpPhoneSerializer
    filterset_class = ZtpPhoneFilterSet
    pagination_class = PagePagination
    lookup_field = "mac"
    lookup_value_regex = "[0-9A-Fa-f]{12}"

    def refine_queryset(self, queryset):
        return queryset.filter(vendor=self.kwargs["vendor"])

    def create(self, request, vendor: str, *args, **kwargs):
        given = ZtpPhoneWriteSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        ztp_phone_register(
            customer=self.customer, vendor=vendor, user=request.user, mac=given.data["mac"]
        )
        phone = self.get_queryset().order_by("-registered_at", "-pk").first()
        return Response(ZtpPhoneSerializer(phone).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, vendor: str, mac: str, *args, **kwargs):
        if not self.get_queryset().filter(mac=mac.upper()).exists():
            raise NotFound("No such phone registered for your customer at this vendor.")
        ztp_phone_unregister(customer=self.customer, vendor=vendor, user=request.user, mac=mac)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        tags=[TAG],
        summary="Register many phones at the vendor",
        description="Each MAC is tried on its own; an outage at the vendor stops the rest.",
        parameters=[VENDOR_PARAMETER, CUSTOMER_PARAMETER],
        request=ZtpMacsSerializer,
        responses={200: ZtpImportResultSerializer, 404: REFUSED, 409: REFUSED},
    )
    @action(detail=False, methods=["post"], url_path="import")
    def bulk(self, request, vendor: str):
        return self._many(request, vendor, ztp_phone_import, ZtpImportResultSerializer)

    @extend_schema(
        tags=[TAG],
        summary="Remove many phones at the vendor",
        description="Only phones registered here for the customer are removed; each MAC is "
        "tried on its own and an outage at the vendor stops the rest.",
        parameters=[VENDOR_PARAMETER, CUSTOMER_PARAMETER],
        request=ZtpMacsSerializer,
        responses={200: ZtpRemoveResultSerializer, 404: REFUSED, 409: REFUSED, 503: REFUSED},
    )
    @action(detail=False, methods=["post"], url_path="remove")
    def remove_many(self, request, vendor: str):
        return self._many(request, vendor, ztp_phone_remove_many, ZtpRemoveResultSerializer)

    def _many(self, request, vendor: str, run, answer) -> Response:
        given = ZtpMacsSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        result = run(
            customer=self.customer, vendor=vendor, user=request.user, text=given.data["macs"]
        )
        return Response(answer(result).data)
