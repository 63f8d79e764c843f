"""The desk-phone admin API: categories, provisioning codes and update jobs (list, create,
delete), with the pages' FilterSets. Every rule lives in phones.services."""

from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from accounts.api.base import CUSTOMER_PARAMETER, TenantViewSet, error_response
from accounts.models import User
from accounts.permissions import Area
from core.api.fields import StrictCharField
from core.api.parsers import StrictJSONParser
from core.client import client_ip
from devices.models import Device, DeviceKind
from phones.filters import (
    CategoryFilterSet,
    ConfigJobFilterSet,
    ProvisioningCodeFilterSet,
    SoftwareJobFilterSet,
)
from phones.models import (
    Category,
    CodeState,
    ConfigJob,
    PhoneLine,
    ProvisioningCode,
    SoftwareJob,
)
from phones.services.categories import category_delete, category_save
from phones.services.codes import provisioning_code_issue, provisioning_code_revoke
from phones.services.jobs import config_job_create, job_delete, software_job_create
from phones.services.lines import phone_line_delete, phone_line_set
from provisioning.models import Bootstrap

TAG = "phones"


# A category's name or a config type as the services store them: 1 to 64 characters, no
# control characters, no blanks at either end (\A and \Z: the schema says ^ and $).
NAME_PATTERN = r"\A[^\s\x00-\x1f](?:[^\x00-\x1f]{0,62}[^\s\x00-\x1f])?\Z"
NAME_RULE = "1 to 64 characters, no control characters and no blanks at either end"
NAME_SCHEMA = {
    "type": "string",
    "pattern": NAME_PATTERN.replace(r"\A", "^").replace(r"\Z", "$"),
    "maxLength": 64,
}


@extend_schema_field(NAME_SCHEMA)
class NameField(StrictCharField):
    def __init__(self, **kwargs):
        super().__init__(
            max_length=64,
            trim_whitespace=False,
            validators=[RegexValidator(NAME_PATTERN, NAME_RULE)],
            **kwargs,
        )


@extend_schema_field({"type": "string", "minLength": 1})
class NameOf(serializers.SlugRelatedField):
    """One of the acting customer's objects, named by its name (or username)."""

    default_error_messages = {"not_text": "must be text (a JSON string)"}

    def __init__(self, model, slug_field="name", **kwargs):
        self.model = model
        super().__init__(slug_field=slug_field, **kwargs)

    def run_validation(self, data=serializers.empty):
        # DRF reads "" as null where null is allowed; a name is never empty.
        if data == "":
            self.fail("required")
        return super().run_validation(data)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_text")
        return super().to_internal_value(data)

    def get_queryset(self):
        customer = getattr(self.context.get("view"), "customer", None)
        return self.model.objects.for_customer(customer)


# --- Categories ------------------------------------------------------------------------


class CategorySerializer(serializers.ModelSerializer):
    isProvisioning = serializers.BooleanField(source="is_provisioning")
    bootstrap = serializers.CharField(source="bootstrap.name", allow_null=True)

    class Meta:
        model = Category
        fields = [
            "id",
            "name",
            "isProvisioning",
            "bootstrap",
            "description",
            "version",
            "created",
            "updated",
        ]
        read_only_fields = fields


class CategoryWriteSerializer(serializers.Serializer):
    name = NameField()
    isProvisioning = serializers.BooleanField(
        default=True, help_text="Offered for new phones, rollouts and automatic provisioning."
    )
    bootstrap = NameOf(
        Bootstrap,
        required=False,
        allow_null=True,
        default=None,
        help_text="The name of one of your bootstraps: the configuration phones receive.",
    )
    description = StrictCharField(max_length=255, required=False, allow_blank=True, default="")


@extend_schema_view(
    list=extend_schema(tags=[TAG], parameters=[CUSTOMER_PARAMETER]),
    create=extend_schema(
        tags=[TAG],
        parameters=[CUSTOMER_PARAMETER],
        request=CategoryWriteSerializer,
        responses={201: CategorySerializer},
    ),
    destroy=extend_schema(
        tags=[TAG],
        parameters=[CUSTOMER_PARAMETER],
        responses={204: None, 409: error_response("in_use: the category has pending codes.")},
    ),
)
class CategoryViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, TenantViewSet
):
    """The customer's device categories. Deleting one takes its jobs with it; a category
    with pending codes is refused (409 in_use)."""

    area = Area.PROVISIONING
    # JSON only: a form cannot say null, and these bodies have nullable fields.
    parser_classes = [StrictJSONParser]
    model = Category
    serializer_class = CategorySerializer
    filterset_class = CategoryFilterSet
    service_fields = {"is_provisioning": "isProvisioning"}

    def refine_queryset(self, queryset):
        return queryset.select_related("bootstrap")

    def create(self, request, *args, **kwargs):
        given = CategoryWriteSerializer(data=request.data, context=self.get_serializer_context())
        given.is_valid(raise_exception=True)
        data = given.validated_data
        category, _ = category_save(
            customer=self.customer,
            user=request.user,
            name=data["name"],
            is_provisioning=data["isProvisioning"],
            bootstrap=data["bootstrap"],
            description=data["description"],
        )
        return Response(CategorySerializer(category).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        category_delete(category=instance, user=self.request.user)


# --- Codes -----------------------------------------------------------------------------


class CodeSerializer(serializers.ModelSerializer):
    category = serializers.CharField(source="category.name")
    user = serializers.CharField(source="user.username", allow_null=True)
    state = serializers.ChoiceField(choices=CodeState.values)
    expiresAt = serializers.DateTimeField(source="expires_at")
    usedAt = serializers.DateTimeField(source="used_at", allow_null=True)
    device = serializers.CharField(source="device.device_id", allow_null=True)
    rollout = serializers.IntegerField(source="rollout_id", allow_null=True)

    class Meta:
        model = ProvisioningCode
        fields = [
            "id",
            "code",
            "category",
            "user",
            "state",
            "expiresAt",
            "usedAt",
            "device",
            "rollout",
            "created",
        ]
        read_only_fields = fields


class CodeWriteSerializer(serializers.Serializer):
    category = NameOf(
        Category,
        required=False,
        allow_null=True,
        default=None,
        help_text="A provisioning category's name; default: the customer's first one.",
    )
    user = NameOf(
        User,
        slug_field="username",
        required=False,
        allow_null=True,
        default=None,
        help_text="The username of the portal user the phone is for.",
    )
    rollout = serializers.BooleanField(
        default=False, help_text="true: valid 7 days (for a rollout), not 10 minutes."
    )


@extend_schema_view(
    list=extend_schema(tags=[TAG], parameters=[CUSTOMER_PARAMETER]),
    create=extend_schema(
        tags=[TAG],
        parameters=[CUSTOMER_PARAMETER],
        request=CodeWriteSerializer,
        responses={201: CodeSerializer},
    ),
    destroy=extend_schema(
        tags=[TAG],
        parameters=[CUSTOMER_PARAMETER],
        responses={
            204: None,
            409: error_response("in_use: a used code is kept as the record of its phone."),
        },
    ),
)
class ProvisioningCodeViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, TenantViewSet
):
    """One-time provisioning codes. A User reads only the codes issued for them; Admins
    and Super-Admins read every code of the customer (ProvisioningCode.objects.followed_by,
    as on the portal). DELETE withdraws a code nobody used yet (a used one is kept as the
    record of its phone: 409 in_use)."""

    area = Area.PROVISIONING
    parser_classes = [StrictJSONParser]
    model = ProvisioningCode
    serializer_class = CodeSerializer
    filterset_class = ProvisioningCodeFilterSet

    def refine_queryset(self, queryset):
        return queryset.followed_by(self.request.user).select_related("category", "user", "device")

    def create(self, request, *args, **kwargs):
        given = CodeWriteSerializer(data=request.data, context=self.get_serializer_context())
        given.is_valid(raise_exception=True)
        data = given.validated_data
        code = provisioning_code_issue(
            customer=self.customer,
            user=request.user,
            category=data["category"],
            for_user=data["user"],
            rollout=data["rollout"],
            ip_address=client_ip(self.request) or None,
        )
        return Response(CodeSerializer(code).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        provisioning_code_revoke(code=instance, user=self.request.user)


# --- Update jobs -----------------------------------------------------------------------


class SoftwareJobSerializer(serializers.ModelSerializer):
    category = serializers.CharField(source="category.name")

    class Meta:
        model = SoftwareJob
        fields = ["id", "category", "firmware", "description", "created"]
        read_only_fields = fields


class SoftwareJobWriteSerializer(serializers.Serializer):
    category = NameOf(Category, help_text="The category's name.")
    firmware = serializers.DictField(help_text="The firmware description, e.g. version and URL.")
    description = StrictCharField(max_length=255, required=False, allow_blank=True, default="")


class ConfigJobSerializer(serializers.ModelSerializer):
    category = serializers.CharField(source="category.name")
    configType = serializers.CharField(source="config_type")

    class Meta:
        model = ConfigJob
        fields = ["id", "category", "configType", "parameters", "description", "created"]
        read_only_fields = fields


class ConfigJobWriteSerializer(serializers.Serializer):
    category = NameOf(Category, help_text="The category's name.")
    configType = NameField(help_text="e.g. ntp or language")
    parameters = serializers.DictField()
    description = StrictCharField(max_length=255, required=False, allow_blank=True, default="")


class _JobViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, TenantViewSet
):
    area = Area.PROVISIONING
    parser_classes = [StrictJSONParser]

    def refine_queryset(self, queryset):
        return queryset.select_related("category")

    def perform_destroy(self, instance):
        job_delete(job=instance, user=self.request.user)


@extend_schema_view(
    list=extend_schema(tags=[TAG], parameters=[CUSTOMER_PARAMETER]),
    create=extend_schema(
        tags=[TAG],
        parameters=[CUSTOMER_PARAMETER],
        request=SoftwareJobWriteSerializer,
        responses={201: SoftwareJobSerializer},
    ),
    destroy=extend_schema(tags=[TAG], parameters=[CUSTOMER_PARAMETER], responses={204: None}),
)
class SoftwareJobViewSet(_JobViewSet):
    """Software update jobs: a phone of the category gets the latest one."""

    model = SoftwareJob
    serializer_class = SoftwareJobSerializer
    filterset_class = SoftwareJobFilterSet

    def create(self, request, *args, **kwargs):
        given = SoftwareJobWriteSerializer(data=request.data, context=self.get_serializer_context())
        given.is_valid(raise_exception=True)
        data = given.validated_data
        job = software_job_create(
            customer=self.customer,
            user=request.user,
            category=data["category"],
            firmware=data["firmware"],
            description=data["description"],
        )
        return Response(SoftwareJobSerializer(job).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(tags=[TAG], parameters=[CUSTOMER_PARAMETER]),
    create=extend_schema(
        tags=[TAG],
        parameters=[CUSTOMER_PARAMETER],
        request=ConfigJobWriteSerializer,
        responses={201: ConfigJobSerializer},
    ),
    destroy=extend_schema(tags=[TAG], parameters=[CUSTOMER_PARAMETER], responses={204: None}),
)
class ConfigJobViewSet(_JobViewSet):
    """Config update jobs: a phone of the category gets the latest job of every type."""

    model = ConfigJob
    serializer_class = ConfigJobSerializer
    filterset_class = ConfigJobFilterSet

    def create(self, request, *args, **kwargs):
        given = ConfigJobWriteSerializer(data=request.data, context=self.get_serializer_context())
        given.is_valid(raise_exception=True)
        data = given.validated_data
        job = config_job_create(
            customer=self.customer,
            user=request.user,
            category=data["category"],
            config_type=data["configType"],
            parameters=data["parameters"],
            description=data["description"],
        )
        return Response(ConfigJobSerializer(job).data, status=status.HTTP_201_CREATED)


# --- A desk phone's lines --------------------------------------------------------------


class LineSerializer(serializers.ModelSerializer):
    displayName = serializers.CharField(source="display_name")
    authUser = serializers.CharField(source="auth_user")
    hasPassword = serializers.SerializerMethodField(help_text="The password is never shown.")

    class Meta:
        model = PhoneLine
        fields = ["position", "extension", "displayName", "authUser", "hasPassword", "updated"]
        read_only_fields = fields

    def get_hasPassword(self, line: PhoneLine) -> bool:
        return bool(line.password_sealed)


class LineWriteSerializer(serializers.Serializer):
    extension = StrictCharField(help_text="1 to 64 letters, digits or . _ + * # -")
    displayName = StrictCharField(
        required=False, allow_blank=True, default="", trim_whitespace=False
    )
    authUser = StrictCharField(
        required=False, allow_blank=True, default="", help_text="Empty: the extension."
    )
    password = StrictCharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        write_only=True,
        help_text='Left out: the stored one is kept; "": none. Stored encrypted, never shown.',
    )


LINE_POSITION = OpenApiParameter(
    "position",
    {"type": "integer", "minimum": 1, "maximum": 12},
    location=OpenApiParameter.PATH,
    description="The line key: 1 is the phone's first line.",
)
PHONE_MAC = OpenApiParameter(
    "deviceId",
    {"type": "string", "pattern": "^[0-9A-F]{12}$"},
    location=OpenApiParameter.PATH,
    description="The desk phone's device ID: its MAC, 12 hex digits, e.g. 000413ABCDEF.",
)
NO_PHONE = error_response("No such desk phone (or line) in your customer.")


@extend_schema_view(
    list=extend_schema(
        tags=[TAG],
        summary="List a desk phone's lines",
        parameters=[PHONE_MAC, CUSTOMER_PARAMETER],
        responses={200: LineSerializer(many=True), 404: NO_PHONE},
    ),
    retrieve=extend_schema(
        tags=[TAG],
        summary="Read one line",
        parameters=[PHONE_MAC, LINE_POSITION, CUSTOMER_PARAMETER],
        responses={200: LineSerializer, 404: NO_PHONE},
    ),
    update=extend_schema(
        tags=[TAG],
        summary="Set a line",
        description="Creates the line at the position or replaces it. The phone gets it in "
        "its file from its next fetch.",
        parameters=[PHONE_MAC, LINE_POSITION, CUSTOMER_PARAMETER],
        request=LineWriteSerializer,
        responses={200: LineSerializer, 404: NO_PHONE},
    ),
    destroy=extend_schema(
        tags=[TAG],
        summary="Delete a line",
        parameters=[PHONE_MAC, LINE_POSITION, CUSTOMER_PARAMETER],
        responses={204: None, 404: NO_PHONE},
    ),
)
class LineViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, TenantViewSet
):
    """A desk phone's SIP accounts (phones.services.lines), at
    /devices/{deviceId}/lines/{position}. Reading needs provisioning "view", writing
    "change", as on the phone's page."""

    area = Area.PROVISIONING
    parser_classes = [StrictJSONParser]
    model = PhoneLine
    serializer_class = LineSerializer
    pagination_class = None  # at most 12
    lookup_field = "position"
    lookup_value_regex = "[0-9]{1,2}"

    def phone(self) -> Device:
        if not hasattr(self, "_phone"):
            self._phone = (
                Device.objects.for_customer(self.customer)
                .filter(kind=DeviceKind.DESK_PHONE, device_id=self.kwargs["deviceId"])
                .first()
            )
            if self._phone is None:
                raise NotFound("No such desk phone in your customer.")
        return self._phone

    def refine_queryset(self, queryset):
        return queryset.filter(device=self.phone()).order_by("position")

    def update(self, request, *args, **kwargs):
        given = LineWriteSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        line = phone_line_set(
            device=self.phone(),
            user=request.user,
            position=int(kwargs["position"]),
            extension=data["extension"],
            display_name=data["displayName"],
            auth_user=data["authUser"],
            password=data.get("password"),
        )
        return Response(LineSerializer(line).data)

    def perform_destroy(self, instance):
        phone_line_delete(line=instance, user=self.request.user)
