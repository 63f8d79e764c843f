from datetime import timedelta

from django.conf import settings
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts import services
from accounts.models import Role, User
from core.api.fields import StrictCharField, StrictEmailField

# The time of the login a refresh token descends from (the OpenID Connect claim name).
AUTH_TIME_CLAIM = "auth_time"


class PortalRefreshToken(RefreshToken):
    """simplejwt's refresh token plus `auth_time`, the time of the login. Rotation keeps
    it, so a chain of refreshes ends JWT_REFRESH_MAX_DAYS after the login."""

    def __init__(self, token=None, verify: bool = True) -> None:
        super().__init__(token, verify)
        if token is None:
            self.payload[AUTH_TIME_CLAIM] = self.payload["iat"]


class LoginLockedOut(Throttled):
    default_detail = "Too many failed logins for this user; try again later."
    default_code = "locked_out"


class AdminLoginSerializer(TokenObtainPairSerializer):
    """Username and password in; a token pair out. Failed attempts count toward the
    brute-force lockout shared with the portal login."""

    token_class = PortalRefreshToken

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


class AdminRefreshSerializer(RefreshRequestSerializer):
    """A refresh token in; a new pair out (validated_data: `access`, `refresh`), the old
    refresh token blacklisted. Refused (401) when the token is invalid, expired or
    blacklisted, the login is older than JWT_REFRESH_MAX_DAYS, the password changed since
    it was issued, or the user is deleted, inactive or of an inactive customer."""

    def validate(self, attrs):
        try:
            refresh = PortalRefreshToken(attrs["refreshToken"])
        except TokenError as exc:
            raise _token_not_valid(str(exc)) from None
        # Tokens issued before auth_time existed count from their own issue.
        login_time = refresh.get(AUTH_TIME_CLAIM, refresh["iat"])
        days = settings.JWT_REFRESH_MAX_DAYS
        if refresh.current_time >= datetime_from_epoch(login_time) + timedelta(days=days):
            raise _token_not_valid(f"This login is more than {days} days old; log in again.")

        with transaction.atomic():
            # Two requests with one token could both pass the blacklist check above before
            # either writes the blacklist row, and both get a new pair. The user row lock
            # makes refreshes of one user take turns, and only the request that creates the
            # blacklist row rotates. user_tokens_revoke takes the same lock, so a password
            # change, deactivation or deletion never misses a token rotated meanwhile.
            user = (
                User.objects.select_for_update(of=("self",))
                .select_related("customer")
                .filter(pk=refresh.get(api_settings.USER_ID_CLAIM))
                .first()
            )
            if user is None or not services.user_can_sign_in(user):
                raise AuthenticationFailed(
                    "No active account found for the given token.", code="no_active_account"
                )
            if user.token_predates_password(refresh.get("iat")):
                raise _token_not_valid("The password has changed since this login; log in again.")
            outstanding, _ = OutstandingToken.objects.get_or_create(
                jti=refresh[api_settings.JTI_CLAIM],
                defaults={
                    "user": user,
                    "token": attrs["refreshToken"],
                    "created_at": datetime_from_epoch(refresh["iat"]),
                    "expires_at": datetime_from_epoch(refresh["exp"]),
                },
            )
            _, created = BlacklistedToken.objects.get_or_create(token=outstanding)
            if not created:
                raise _token_not_valid("Token is blacklisted")

            access = refresh.access_token
            refresh.set_jti()
            refresh.set_exp()
            refresh.set_iat()
            refresh[AUTH_TIME_CLAIM] = login_time
            OutstandingToken.objects.create(
                user=user,
                jti=refresh[api_settings.JTI_CLAIM],
                token=str(refresh),
                created_at=refresh.current_time,
                expires_at=datetime_from_epoch(refresh["exp"]),
            )
        return {"access": str(access), "refresh": str(refresh)}


def _token_not_valid(detail: str) -> AuthenticationFailed:
    # Not simplejwt's InvalidToken: its detail is a dict, this API answers {error, detail}.
    return AuthenticationFailed(detail, code="token_not_valid")


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
        fields = ["id", "username", "name", "email", "role", "version", "last_login", "date_joined"]
        read_only_fields = fields


def _password_min_length() -> int:
    """The length MinimumLengthValidator asks of a password (AUTH_PASSWORD_VALIDATORS)."""
    for validator in settings.AUTH_PASSWORD_VALIDATORS:
        if validator["NAME"].endswith(".MinimumLengthValidator"):
            return validator.get("OPTIONS", {}).get("min_length", 8)
    return 1


# What the schema can say of the password validators: the minimum length and "not only
# digits". Whether a password is too common or too like the user's name or email address
# only the validators can tell (400 naming "password").
PASSWORD_SCHEMA = {
    "type": "string",
    "format": "password",
    "minLength": _password_min_length(),
    "pattern": r"\D",
    "description": f"At least {_password_min_length()} characters, not only digits, not "
    "a common password and not like the user's name or email address.",
}


@extend_schema_field(PASSWORD_SCHEMA)
class PasswordField(StrictCharField):
    """A new password, taken exactly as typed (never trimmed)."""

    def __init__(self, **kwargs):
        super().__init__(
            write_only=True,
            trim_whitespace=False,
            min_length=PASSWORD_SCHEMA["minLength"],
            **kwargs,
        )


@extend_schema_field(
    {
        "anyOf": [{"type": "string", "maxLength": 0}, PASSWORD_SCHEMA],
        "description": "Empty or left out: the password stays. Otherwise a new password: "
        + PASSWORD_SCHEMA["description"],
    }
)
class OptionalPasswordField(PasswordField):
    def __init__(self, **kwargs):
        super().__init__(required=False, allow_blank=True, default="", **kwargs)


class PortalUserWriteSerializer(serializers.Serializer):
    """A new portal user (POST /users)."""

    username = StrictCharField(
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text="The login name: letters, digits and @ . + - _; unique.",
    )
    name = StrictCharField(max_length=150, required=False, allow_blank=True, default="")
    email = StrictEmailField(max_length=254)
    role = serializers.ChoiceField(choices=Role.choices)
    password = PasswordField()

    def create(self, validated_data):
        return _call(
            services.portal_user_create, customer=self.context["customer"], **validated_data
        )


class PortalUserUpdateSerializer(PortalUserWriteSerializer):
    """A portal user's new details (PUT /users/{id}); the login name cannot change."""

    username = StrictCharField(
        max_length=150, help_text="The user's login name, as it is: it cannot change."
    )
    password = OptionalPasswordField()

    def validate(self, attrs):
        if attrs["username"] != self.instance.username:
            raise serializers.ValidationError({"username": ["The login name cannot change."]})
        return attrs

    def update(self, instance, validated_data):
        validated_data.pop("username")
        return _call(services.portal_user_update, user=instance, **validated_data)


def _call(service, **kwargs):
    try:
        return service(**kwargs)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(serializers.as_serializer_error(exc)) from None
