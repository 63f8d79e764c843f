"""Wire shapes of the bootstrap and token admin API (camelCase, as existing scripts read them).

Output serializers are read-only; writes arrive as query parameters (validated by the
*QuerySerializer classes) and go through provisioning.services.
"""

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.fields import QueryBooleanField, QueryIntegerField, StrictCharField, or_empty
from provisioning.models import (
    MAX_REDEMPTIONS,
    TOKEN_CHARACTERS,
    TOKEN_MAX_LENGTH,
    TOKEN_MIN_LENGTH,
    TOKEN_RULE,
    Bootstrap,
    Token,
    token_value_error,
)
from reports.models import AppId

APP_ID_CHOICE_ERROR = f'"{{input}}" is not an app ID; use one of {", ".join(AppId.values)}.'


def token_value_schema(min_length: int) -> dict:
    """The schema of a token value: provisioning.models.token_value_error's rule."""
    return {
        "type": "string",
        "pattern": f"^[{TOKEN_CHARACTERS}]+$",
        "minLength": min_length,
        "maxLength": TOKEN_MAX_LENGTH,
    }


# Any token value, as devices present them and lookups take them: values made before the
# minimum length keep working.
TOKEN_VALUE_SCHEMA = token_value_schema(1)
# A token value people choose now (POST /token). One made before the minimum keeps its
# shorter value, and can still be replaced under it.
NEW_TOKEN_VALUE_SCHEMA = token_value_schema(TOKEN_MIN_LENGTH)
# A bootstrap's name as services.bootstrap_save stores it: 1 to 128 characters, no control
# characters, no blanks around it (stored names are trimmed).
# \A and \Z: Python's $ would also match before a final newline (the schema says ^ and $).
BOOTSTRAP_NAME_PATTERN = r"\A[^\s\x00-\x1f](?:[^\x00-\x1f]{0,126}[^\s\x00-\x1f])?\Z"


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


class BootstrapSaveQuerySerializer(serializers.Serializer):
    """The query of `POST /bootstrap`: the name is stored as given, so it must be one."""

    name = serializers.CharField(
        trim_whitespace=False,
        max_length=128,
        validators=[
            RegexValidator(
                BOOTSTRAP_NAME_PATTERN,
                "1 to 128 characters, no control characters and no blanks at either end",
            )
        ],
        help_text="The bootstrap's name (case-sensitive): 1 to 128 characters, no control "
        "characters, no blanks at either end.",
    )


@extend_schema_field(TOKEN_VALUE_SCHEMA)
class TokenValueParameter(serializers.CharField):
    """A token value to look up (GET and DELETE /token): any value not of the rule is
    simply not found."""

    def __init__(self, **kwargs):
        super().__init__(trim_whitespace=False, **kwargs)


@extend_schema_field(NEW_TOKEN_VALUE_SCHEMA)
class NewTokenValueParameter(TokenValueParameter):
    """The value of a token to add or replace; provisioning.services.tokens.token_save applies
    the rule and answers 400 naming "name"."""


class TokenNameQuerySerializer(serializers.Serializer):
    name = TokenValueParameter(help_text="The token value; matched ignoring case.")


@extend_schema_field(or_empty({"type": "string", "format": "date-time"}))
class ExpiresAtParameter(serializers.DateTimeField):
    pass


@extend_schema_field(or_empty({"type": "integer", "minimum": 1, "maximum": MAX_REDEMPTIONS}))
class MaxRedemptionsParameter(QueryIntegerField):
    pass


@extend_schema_field(or_empty({"type": "string", "enum": ["true", "false"]}))
class RevokedParameter(QueryBooleanField):
    pass


class TokenWriteQuerySerializer(serializers.Serializer):
    """The query of `POST /token`. The token is replaced as a whole: an optional parameter
    left out goes back to its default."""

    name = NewTokenValueParameter(help_text=f"The token value: {TOKEN_RULE}; unique ignoring case.")
    appId = serializers.ChoiceField(
        choices=AppId.values, error_messages={"invalid_choice": APP_ID_CHOICE_ERROR}
    )
    bootstrap = serializers.CharField(
        trim_whitespace=False, help_text="The name of one of your bootstraps."
    )
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=255
    )
    expiresAt = ExpiresAtParameter(
        required=False,
        allow_null=True,
        default=None,
        help_text="ISO 8601, e.g. 2030-01-31T12:00:00Z; the token is refused after it. "
        "Empty or left out: never expires.",
    )
    maxRedemptions = MaxRedemptionsParameter(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=MAX_REDEMPTIONS,
        help_text="How many times the token may be redeemed. Empty or left out: no limit.",
    )
    revoked = RevokedParameter(
        required=False,
        default=False,
        help_text="true: devices can no longer redeem it. Empty or left out: false.",
    )


# --- Import ----------------------------------------------------------------------------


def _import_request_schema() -> dict:
    """The JSON import as provisioning.importing.parse_json reads it: only these keys (an
    unknown one is refused), at least one entry, each entry of the rules of a single save.
    What no schema can say is left to the rows' errors: a token's bootstrap must be in the
    file or one you have, and a name may appear only once."""
    bootstrap = {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "parameters"],
        "properties": {
            "name": {
                "type": "string",
                "maxLength": 128,
                "pattern": _schema_pattern(BOOTSTRAP_NAME_PATTERN),
            },
            "parameters": {"type": "object", "additionalProperties": True},
        },
    }
    token = {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "appId", "bootstrap"],
        "properties": {
            "name": NEW_TOKEN_VALUE_SCHEMA,
            "appId": {"type": "string", "enum": list(AppId.values)},
            "bootstrap": {
                "type": "string",
                "minLength": 1,
                "description": "A bootstrap of this import or one you already have.",
            },
            "description": {"type": "string", "maxLength": 255, "nullable": True},
            "expiresAt": {**or_empty({"type": "string", "format": "date-time"}), "nullable": True},
            "maxRedemptions": {
                **or_empty({"type": "integer", "minimum": 1, "maximum": MAX_REDEMPTIONS}),
                "nullable": True,
            },
            "revoked": {**or_empty({"type": "boolean"}), "nullable": True},
        },
    }
    lists = {
        "bootstraps": {"type": "array", "items": bootstrap, "nullable": True},
        "tokens": {"type": "array", "items": token, "nullable": True},
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": lists,
        "anyOf": [
            {"required": [key], "properties": {key: {"type": "array", "minItems": 1}}}
            for key in lists
        ],
    }


def _schema_pattern(python_pattern: str) -> str:
    """A Python pattern anchored with \\A and \\Z as the schema writes it (^ and $)."""
    return python_pattern.replace(r"\A", "^").replace(r"\Z", "$")


IMPORT_REQUEST_SCHEMA = _import_request_schema()


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


@extend_schema_field(TOKEN_VALUE_SCHEMA)
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
