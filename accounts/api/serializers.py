from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer

from accounts import services
from accounts.models import Role, User


class LoginLockedOut(Throttled):
    default_detail = "Too many failed logins for this user; try again later."
    default_code = "locked_out"


class AdminLoginSerializer(TokenObtainPairSerializer):
    """Username and password in; a token pair out. Failed attempts count toward the
    brute-force lockout shared with the portal login."""

    def validate(self, attrs):
        request = self.context["request"]
        try:
            return super().validate(attrs)
        except AuthenticationFailed:
            # django-axes marks the request it was handed when the user is locked out.
            if getattr(request, "axes_locked_out", False):
                raise LoginLockedOut from None
            raise


class LoginResponseSerializer(serializers.Serializer):
    accessToken = serializers.CharField()
    tokenType = serializers.CharField(default="Bearer")
    expiresIn = serializers.IntegerField(help_text="Seconds until the access token expires.")
    refreshToken = serializers.CharField()
    access_token = serializers.CharField(required=False, help_text="Form-data logins (OAuth2).")
    token_type = serializers.CharField(required=False, help_text="Form-data logins (OAuth2).")


class RefreshRequestSerializer(serializers.Serializer):
    refreshToken = serializers.CharField()


class CustomerSummarySerializer(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.CharField()


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField()
    email = serializers.EmailField()
    role = serializers.CharField(allow_blank=True)
    isStaff = serializers.BooleanField(source="is_staff")
    customer = CustomerSummarySerializer(allow_null=True)


class PortalUserSerializer(serializers.ModelSerializer):
    """Read shape of a portal user; writes go through PortalUserWriteSerializer."""

    class Meta:
        model = User
        fields = ["id", "username", "name", "email", "role", "last_login", "date_joined"]
        read_only_fields = fields


class PortalUserWriteSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)
    password = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        default="",
        style={"input_type": "password"},
    )

    def validate(self, attrs):
        if self.instance is None and not attrs.get("password"):
            raise serializers.ValidationError({"password": ["This field is required."]})
        if self.instance is not None and attrs["username"] != self.instance.username:
            raise serializers.ValidationError({"username": ["The login name cannot change."]})
        return attrs

    def create(self, validated_data):
        return _call(
            services.portal_user_create, customer=self.context["customer"], **validated_data
        )

    def update(self, instance, validated_data):
        validated_data.pop("username")
        return _call(services.portal_user_update, user=instance, **validated_data)


def _call(service, **kwargs):
    try:
        return service(**kwargs)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(serializers.as_serializer_error(exc)) from None
