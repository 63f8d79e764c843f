from datetime import timedelta

import pytest
from django.utils import timezone

from devices.models import Device, DeviceKind
from licensing.models import Entitlement, LicenseType
from provisioning.services.bootstraps import bootstrap_save
from provisioning.services.tokens import token_save
from reports.models import AppId


@pytest.fixture
def voice_token(customer):
    bootstrap_save(customer=customer, user=None, name="Direct-Access-Bootstrap", parameters={})
    token, _ = token_save(
        customer=customer,
        user=None,
        value="Acme-Direct",
        app_id=AppId.VOICE,
        bootstrap="Direct-Access-Bootstrap",
    )
    return token


@pytest.fixture
def make_device(customer):
    def make(device_id="TC52_1", kind=DeviceKind.VENDOR, *, owner=None, **fields):
        fields.setdefault("last_checkin", timezone.now())
        return Device.objects.create(
            customer=owner or customer, device_id=device_id, kind=kind, **fields
        )

    return make


@pytest.fixture
def make_entitlement(customer):
    counter = iter(range(1, 10_000))

    def make(
        *, total=10, days=365, license_type=LicenseType.STANDARD, owner=None, **fields
    ) -> Entitlement:
        n = next(counter)
        return Entitlement.objects.create(
            customer=owner or customer,
            activation_id=fields.pop("activation_id", f"aid-{n:04}-4c3b-8e21-e295c6d1"),
            license_type=license_type,
            term=fields.pop("term", "1 Year Term"),
            total=total,
            expiration=timezone.now() + timedelta(days=days),
            **fields,
        )

    return make
