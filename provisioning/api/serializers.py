"""Wire shapes of the bootstrap and token admin API (camelCase, as existing scripts read them).

Output serializers are read-only; writes arrive as query parameters (validated by the
*QuerySerializer classes) and go through provisioning.services.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.fields import StrictCharField
from devices.models import AppId
from provisioning.models import (
    MAX_REDEMPTIONS,
    TOKEN_RULE,
    Bootstrap,
    Token,
    token_value_error,
)

APP_ID_CHOICE_ERROR = f'"{{input}}" is not an app ID; use one of {", ".join(AppId.values)}.'


class BootstrapSerializer(serializers.ModelSerializer):
    parameters = serializers.DictField(
        help_text="The JSON object handed to devices that redeem a token of this bootstrap."
    )
    version = serializers.IntegerField(help_text="Also sent as the ETag; send it in If-Match.")

    class Meta:
        model = Bootstrap
        fields = ["name", "parameters", "version", "created", "updated"]
        read_only_fields = fields


class TokenSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="value", help_text="The token value.")
    appId = serializers.ChoiceField(source="app_id", choices=AppId.values)
    bootstrap = serializers.CharField(source="bootstrap.name", help_text="The bootstrap's name.")
    parameters = serializers.DictField(
        source="bootstrap.parameters", help_text="The bootstrap's JSON, as devices receive it."
    )
    expiresAt = serializers.DateTimeField(source="expires_at", allow_null=True)
    maxRedemptions = serializers.IntegerField(source="max_redemptions", allow_null=True)
    redemptionCount = serializers.IntegerField(source="redemption_count")
    lastRedeemed = serializers.DateTimeField(source="last_redeemed", allow_null=True)
    intent = serializers.SerializerMethodField(
        help_text="The Android intent URL that hands the token to its app (null for iOS apps)."
    )
    version = serializers.IntegerField(help_text="Also sent as the ETag; send it in If-Match.")

    class Meta:
        model = Token
        fields = [
            "name",
            "appId",
            "bootstrap",
            "parameters",
            "description",
            "expiresAt",
            "maxRedemptions",
            "revoked",
            "redemptionCount",
            "lastRedeemed",
            "intent",
            "version",
            "created",
            "updated",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_intent(self, token: Token) -> str | None:
        return token.intent_url or None


# --- Query parameters ------------------------------------------------------------------


class NameQuerySerializer(serializers.Serializer):
    name = serializers.CharField(
        trim_whitespace=False, help_text="The bootstrap's name (case-sensitive)."
    )


class TokenNameQuerySerializer(serializers.Serializer):
    name = serializers.CharField(
        trim_whitespace=False, help_text="The token value; matched ignoring case."
    )


class TokenWriteQuerySerializer(serializers.Serializer):
    """The query of `POST /token`. The token is replaced as a whole: an optional parameter
    left out goes back to its default."""

    name = serializers.CharField(
        trim_whitespace=False,
        help_text=f"The token value: {TOKEN_RULE}; unique ignoring case.",
    )
    appId = serializers.ChoiceField(
        choices=AppId.values, error_messages={"invalid_choice": APP_ID_CHOICE_ERROR}
    )
    bootstrap = serializers.CharField(
        trim_whitespace=False, help_text="The name of one of your bootstraps."
    )
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=255
    )
    expiresAt = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="ISO 8601, e.g. 2030-01-31T12:00:00Z; the token is refused after it. "
        "Empty or left out: never expires.",
    )
    maxRedemptions = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=MAX_REDEMPTIONS,
        help_text="How many times the token may be redeemed. Empty or left out: no limit.",
    )
    revoked = serializers.BooleanField(
        required=False, default=False, help_text="true: devices can no longer redeem it."
    )


# --- Import ----------------------------------------------------------------------------


class BootstrapImportSerializer(serializers.Serializer):
    name = serializers.CharField()
    parameters = serializers.DictField()


class TokenImportSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The token value.")
    appId = serializers.ChoiceField(choices=AppId.values)
    bootstrap = serializers.CharField(
        help_text="A bootstrap of this import or one you already have."
    )
    description = serializers.CharField(required=False, allow_blank=True)
    expiresAt = serializers.DateTimeField(required=False, allow_null=True)
    maxRedemptions = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_REDEMPTIONS
    )
    revoked = serializers.BooleanField(required=False)


class ImportRequestSerializer(serializers.Serializer):
    """Schema only: the view parses the body itself (provisioning.importing)."""

    bootstraps = BootstrapImportSerializer(many=True, required=False)
    tokens = TokenImportSerializer(many=True, required=False)


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A .csv or .json file.")


class ImportCountSerializer(serializers.Serializer):
    added = serializers.IntegerField()
    replaced = serializers.IntegerField()


class ImportResultSerializer(serializers.Serializer):
    bootstraps = ImportCountSerializer()
    tokens = ImportCountSerializer()


class ImportRowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(
        help_text="CSV: the record's line (the header is line 1). JSON: the entry's "
        "position in its list, from 1."
    )
    field = serializers.CharField(
        help_text='CSV: the column. JSON: list.field, e.g. "tokens.appId".'
    )
    detail = serializers.CharField()


class ImportErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="invalid_rows, invalid_file, too_many_rows")
    detail = serializers.CharField(required=False)
    rows = ImportRowErrorSerializer(many=True, required=False)


class TokenValueField(StrictCharField):
    """A token value as devices send it, checked by the one token rule."""

    def __init__(self, **kwargs):
        super().__init__(trim_whitespace=False, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        problem = token_value_error(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value
