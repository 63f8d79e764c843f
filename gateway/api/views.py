"""The devices admin API's DELETE: obsoleting a device releases its licenses, so it
lives here, above devices and licensing; the rest of /devices is devices.api.views."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins

from accounts.api.base import CUSTOMER_PARAMETER
from devices.api import views as devices_api
from devices.models import Device
from gateway.services.devices import device_obsolete


class DeviceViewSet(mixins.DestroyModelMixin, devices_api.DeviceViewSet):
    """The devices resource (devices.api.views) with DELETE, which marks the device
    obsolete and returns its licenses to the pool: a flow across devices and licensing."""

    @extend_schema(
        tags=[devices_api.TAG],
        summary="Mark a device obsolete",
        description="The device stays listed as obsolete and the licenses it holds go back "
        "to the pool. Obsoleting an obsolete device changes nothing.",
        parameters=[devices_api.DEVICE_ID_PARAMETER, CUSTOMER_PARAMETER],
        responses={204: None, 403: devices_api.FORBIDDEN, 404: devices_api.NOT_FOUND},
    )
    def destroy(self, request, *args, **kwargs):
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance: Device) -> None:
        device_obsolete(device=instance, user=self.request.user)
