"""Output shapes of the History and Events API lists (read only)."""

from __future__ import annotations

from rest_framework import serializers

from reports.models import Event, History


class HistorySerializer(serializers.ModelSerializer):
    """One device request."""

    customer = serializers.SlugRelatedField(
        slug_field="slug",
        read_only=True,
        allow_null=True,
        help_text="The customer's slug; null for a token no customer has.",
    )
    timestamp = serializers.DateTimeField(source="created", read_only=True)
    appId = serializers.CharField(source="app_id", read_only=True)
    deviceId = serializers.CharField(source="device_id", read_only=True)
    ipAddress = serializers.IPAddressField(source="ip_address", read_only=True, allow_null=True)

    class Meta:
        model = History
        fields = [
            "id",
            "customer",
            "timestamp",
            "action",
            "token",
            "appId",
            "deviceId",
            "result",
            "ipAddress",
        ]
        read_only_fields = fields


class EventSerializer(serializers.ModelSerializer):
    """One entry of the audit and job log."""

    customer = serializers.SlugRelatedField(
        slug_field="slug",
        read_only=True,
        allow_null=True,
        help_text="The customer's slug; null for a system-wide job.",
    )
    timestamp = serializers.DateTimeField(source="created", read_only=True)
    user = serializers.CharField(
        source="username",
        read_only=True,
        help_text="Who acted (their login name); empty for a background job.",
    )
    area = serializers.CharField(
        read_only=True,
        help_text="The portal area the event is about (licenses, users, tokens, …); empty "
        "for none in particular.",
    )
    data = serializers.JSONField(read_only=True, help_text="Details, such as before and after.")

    class Meta:
        model = Event
        fields = ["id", "customer", "timestamp", "user", "type", "severity", "area", "info", "data"]
        read_only_fields = fields
