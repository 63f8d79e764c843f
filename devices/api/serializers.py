"""Wire shapes of the devices admin API (camelCase). Output serializers are read-only;
the merge input is validated here and applied by devices.services.device_merge."""

from rest_framework import serializers

from devices.models import AppId, Device, DeviceKind, DeviceState, SiteStatus

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
    phoneNumber = serializers.CharField(required=False, allow_blank=True, max_length=32)
    v = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The device's current version: present, the call updates that device.",
    )


class MergeRequestSerializer(serializers.Serializer):
    provider = ProviderSerializer()
