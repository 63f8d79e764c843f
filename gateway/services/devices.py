"""Obsoleting a device: the device registry and the license pool together."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from devices.models import Device
from devices.services import device_mark_obsolete
from licensing.services import device_licenses_release


@transaction.atomic
def device_obsolete(*, device: Device, user: User | None) -> Device:
    """Mark a device obsolete and return the licenses it holds to the pool. Obsoleting an
    obsolete device only gives back licenses it may still hold."""
    current = Device.objects.select_for_update().get(pk=device.pk)
    device_licenses_release(device=current, user=user)
    device_mark_obsolete(device=current, user=user)
    return current
