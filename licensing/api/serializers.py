"""Wire shapes of the licenses admin API (camelCase, read-only). Activation IDs are
masked, as on the pages: enough to tell lines apart, not enough to reuse one."""

from rest_framework import serializers

from licensing.filters import LicenseStatus, UseStatus
from licensing.models import Assignment, Entitlement, EntitlementState, Feature, LicenseType

MASKED_AID_HELP = "The activation ID, masked: *** and its last 9 characters."


class EntitlementSummarySerializer(serializers.ModelSerializer):
    """One line of Licenses > Summary. Needs EntitlementFilterSet's annotations."""

    customer = serializers.CharField(source="customer.slug", help_text="The customer's slug.")
    customerName = serializers.CharField(source="customer.name")
    state = serializers.ChoiceField(
        source="current_state",
        choices=EntitlementState.values,
        help_text="expired as soon as the expiration has passed, or when the back end no "
        "longer reports the line.",
    )
    licenseType = serializers.ChoiceField(source="license_type", choices=LicenseType.values)
    activationId = serializers.CharField(source="masked_activation_id", help_text=MASKED_AID_HELP)
    totalPurchased = serializers.IntegerField(source="total")
    totalUsed = serializers.IntegerField(
        source="used", help_text="Licenses of this line assigned to devices now."
    )
    verifiedAt = serializers.DateTimeField(
        source="verified_at",
        allow_null=True,
        help_text="When the entitlement back end last confirmed this line.",
    )

    class Meta:
        model = Entitlement
        fields = [
            "id",
            "customer",
            "customerName",
            "state",
            "licenseType",
            "activationId",
            "term",
            "totalPurchased",
            "totalUsed",
            "expiration",
            "verifiedAt",
            "created",
            "updated",
        ]
        read_only_fields = fields


class AssignmentSerializer(serializers.ModelSerializer):
    """One row of Licenses > Assigned. Needs AssignmentFilterSet's annotations."""

    customer = serializers.CharField(source="customer.slug", help_text="The customer's slug.")
    customerName = serializers.CharField(source="customer.name")
    license = serializers.ChoiceField(
        source="license_status",
        choices=LicenseStatus.values,
        help_text="assigned: the device holds the license; unassigned: it was released.",
    )
    useStatus = serializers.ChoiceField(
        source="use_status",
        choices=UseStatus.values,
        help_text=(
            "in_use: assigned, and the device was in contact within the release interval; "
            "held: a Premium license still assigned to a device silent for longer "
            '(the portal\'s "Not in use (*)"); not_in_use: anything else.'
        ),
    )
    deviceId = serializers.CharField(source="device.device_id")
    licenseType = serializers.ChoiceField(source="license_type", choices=LicenseType.values)
    feature = serializers.ChoiceField(choices=Feature.values)
    expiration = serializers.DateTimeField(source="entitlement.expiration")
    activationId = serializers.CharField(
        source="entitlement.masked_activation_id", help_text=MASKED_AID_HELP
    )
    appVersion = serializers.CharField(source="app_version")
    lastContact = serializers.DateTimeField(
        source="last_seen",
        help_text="The device's last check-in or license request, whichever is later.",
    )
    created = serializers.DateTimeField(help_text="When the license was first assigned.")
    releasedAt = serializers.DateTimeField(source="released_at", allow_null=True)

    class Meta:
        model = Assignment
        fields = [
            "id",
            "customer",
            "customerName",
            "license",
            "useStatus",
            "deviceId",
            "licenseType",
            "feature",
            "expiration",
            "activationId",
            "appVersion",
            "lastContact",
            "created",
            "releasedAt",
        ]
        read_only_fields = fields


class SyncQueuedSerializer(serializers.Serializer):
    queued = serializers.BooleanField()
    customer = serializers.CharField(help_text="The slug of the customer being synced.")
