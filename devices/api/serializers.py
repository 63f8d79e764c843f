"""Wire shapes of the devices admin API (camelCase). Output serializers are read-only;
the merge input is validated here and applied by devices.services.device_merge."""

import copy

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.fields import NOT_BLANK_PATTERN
from devices.models import Device, DeviceKind, DeviceState, SiteStatus
from devices.services import THIRD_PARTY_MARKER, VENDOR_ANDROID_ID_MARKER
from reports.models import AppId

KIND_CHOICE_ERROR = f'"{{input}}" is not a device kind; use one of {", ".join(DeviceKind.values)}.'


class DeviceSerializer(serializers.ModelSerializer):
    deviceId = serializers.CharField(source="device_id")
    state = serializers.ChoiceField(choices=DeviceState.values)
    kind = serializers.ChoiceField(
        choices=["", *DeviceKind.values], help_text="Empty for devices that predate kinds."
    )
    os = serializers.CharField()
    appId = serializers.ChoiceField(source="app_id", choices=["", *AppId.values])
    appVersion = serializers.CharField(source="app_version")
    lastCheckin = serializers.DateTimeField(source="last_checkin", allow_null=True)
    site = serializers.CharField(
        source="site.name", allow_null=True, help_text="The site (PTT Pro department) name."
    )
    siteAssignedAt = serializers.DateTimeField(source="site_assigned_at", allow_null=True)
    siteStatus = serializers.ChoiceField(
        source="site_status",
        choices=SiteStatus.values,
        help_text="Empty: no site; pending, provisioned, conflict or failed otherwise.",
    )
    siteError = serializers.CharField(
        source="site_error", help_text="Why provisioning into the site is pending or failed."
    )
    addedDirectly = serializers.BooleanField(source="added_directly")
    phoneNumber = serializers.CharField(source="phone_number")
    hasPassword = serializers.SerializerMethodField(help_text="Whether a password is set.")
    version = serializers.IntegerField(
        help_text="Send it as provider.v to merge (update) this device."
    )

    class Meta:
        model = Device
        fields = [
            "deviceId",
            "state",
            "kind",
            "model",
            "os",
            "appId",
            "appVersion",
            "lastCheckin",
            "site",
            "siteAssignedAt",
            "siteStatus",
            "siteError",
            "addedDirectly",
            "phoneNumber",
            "hasPassword",
            "version",
            "created",
            "updated",
        ]
        read_only_fields = fields

    def get_hasPassword(self, device: Device) -> bool:
        return bool(device.password)


# devices.services.device_id_problem as regular expressions, one per kind, for the schema
# (tests/devices/test_device_id_schema.py holds them to the same answers): the model, an
# underscore and the serial or ID; no control characters; no spaces after the model; a
# _TAI ID is a third-party Android device's and a _ZAI ID a vendor device's; only a
# third-party Android model without _TAI keeps its spaces; a desk phone's ID is its MAC
# address. No lookarounds, so every regular expression engine reads them alike.
_CONTROL = r"\x00-\x1f\x7f"
_ID_CHAR = rf"[^\s_{_CONTROL}]"
_MODEL = rf"[^\s{_CONTROL}]+"
_MODEL_WITH_SPACES = rf"[^{_CONTROL}]*[^\s{_CONTROL}][^{_CONTROL}]*"


def _not_starting_with(*markers: str) -> str:
    """An ID (no spaces, no underscore) that does not begin with any of `markers`."""
    firsts = "".join(sorted({m[0] for m in markers}))
    branches = [rf"[^\s_{_CONTROL}{firsts}]{_ID_CHAR}*"]
    for marker in markers:
        for size in range(1, len(marker)):
            branches.append(rf"{marker[:size]}(?:[^\s_{_CONTROL}{marker[size]}]{_ID_CHAR}*)?")
    return "(?:" + "|".join(branches) + ")"


DEVICE_ID_PATTERNS = {
    DeviceKind.VENDOR: rf"^{_MODEL}_{_not_starting_with(THIRD_PARTY_MARKER)}$",
    DeviceKind.IOS: (
        rf"^{_MODEL}_{_not_starting_with(THIRD_PARTY_MARKER, VENDOR_ANDROID_ID_MARKER)}$"
    ),
    DeviceKind.THIRD_PARTY_ANDROID: (
        rf"^(?:{_MODEL}_{THIRD_PARTY_MARKER}{_ID_CHAR}*"
        rf"|{_MODEL_WITH_SPACES}_"
        rf"{_not_starting_with(THIRD_PARTY_MARKER, VENDOR_ANDROID_ID_MARKER)})$"
    ),
    # A desk phone's ID is its MAC address as devices.services.mac_normalize spells it.
    DeviceKind.DESK_PHONE: r"^[0-9A-F]{12}$",
}
DEVICE_ID_MAX_LENGTH = 128
PHONE_NUMBER_PATTERN = r"^(?:\+?[0-9 ()-]{3,32})?$"


def _provider_schema() -> dict:
    """One shape per kind, each with its device-ID rule."""
    common = {
        "company": {
            "type": "string",
            "pattern": NOT_BLANK_PATTERN,
            "description": "Your customer: its slug or numeric ID (e.g. 42).",
        },
        "password": {"type": "string", "maxLength": 128},
        "phoneNumber": {
            "type": "string",
            "maxLength": 32,
            "pattern": PHONE_NUMBER_PATTERN,
            "description": "Digits, spaces, dashes and brackets, optionally after +.",
        },
        "v": {
            "type": "integer",
            "minimum": 1,
            "description": "The device's current version: present, the call updates that device.",
        },
    }
    variants = []
    for kind, pattern in DEVICE_ID_PATTERNS.items():
        properties = copy.deepcopy(common)
        properties["kind"] = {"type": "string", "enum": [kind]}
        properties["id"] = {
            "type": "string",
            "maxLength": DEVICE_ID_MAX_LENGTH,
            "pattern": pattern,
            "description": "The device ID the device reports: the model, an underscore "
            "and the serial or ID, e.g. TC52_18304522512397.",
        }
        variants.append(
            {
                "type": "object",
                "title": DeviceKind(kind).label,
                "properties": properties,
                "required": ["kind", "company", "id"],
            }
        )
    return {"anyOf": variants}


@extend_schema_field(_provider_schema())
class ProviderSerializer(serializers.Serializer):
    """mergeProvider's `provider`: without `v` it adds, with `v` it updates."""

    kind = serializers.ChoiceField(
        choices=DeviceKind.values, error_messages={"invalid_choice": KIND_CHOICE_ERROR}
    )
    company = serializers.CharField(help_text="Your customer: its slug or numeric ID (e.g. 42).")
    id = serializers.CharField(
        max_length=128,
        trim_whitespace=False,
        help_text="The device ID the device reports (serial number, IMEI, …); no spaces.",
    )
    password = serializers.CharField(
        required=False, allow_blank=True, max_length=128, trim_whitespace=False
    )
    # Taken as sent: a trimmed number would pass the rule that the number as sent fails.
    phoneNumber = serializers.CharField(
        required=False, allow_blank=True, max_length=32, trim_whitespace=False
    )
    v = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The device's current version: present, the call updates that device.",
    )


class MergeRequestSerializer(serializers.Serializer):
    provider = ProviderSerializer()
