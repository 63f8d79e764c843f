"""Sites, devices and history rows for tests. They write rows directly; tests of the rules
call devices.services instead."""

import factory
from django.utils import timezone

from devices.models import Device, DeviceKind, Site, SiteStatus
from reports.models import AppId, History, HistoryAction, HistoryResult
from tests.factories import CustomerFactory


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"Site-{n:03}")
    server_name = "ptt1"
    synced_at = factory.LazyFunction(timezone.now)


class DeviceFactory(factory.django.DjangoModelFactory):
    """An active vendor device running PTT Pro, on no site unless given one."""

    class Meta:
        model = Device

    customer = factory.SubFactory(CustomerFactory)
    device_id = factory.Sequence(lambda n: f"TC52_{18304522500000 + n}")
    kind = DeviceKind.VENDOR
    model = "TC52"
    os = "Android 11"
    app_id = AppId.PTT_PRO
    app_version = "3.3.10200"
    last_checkin = factory.LazyFunction(timezone.now)

    class Params:
        # DeviceFactory(on_site=site): registered and provisioned there.
        on_site = None

    @factory.lazy_attribute
    def site(self):
        return self.on_site

    @factory.lazy_attribute
    def provisioned_site(self):
        return self.on_site

    @factory.lazy_attribute
    def site_status(self):
        return SiteStatus.PROVISIONED if self.on_site else SiteStatus.NONE

    @factory.lazy_attribute
    def site_assigned_at(self):
        return timezone.now() if self.on_site else None


class HistoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = History

    customer = factory.SubFactory(CustomerFactory)
    action = HistoryAction.TOKEN
    token = "tok-1"
    app_id = AppId.PTT_PRO
    device_id = factory.Sequence(lambda n: f"TC52_{18304522500000 + n}")
    result = HistoryResult.OK


def devices_bulk(customer, count: int, *, sites=(), prefix: str = "BULK") -> list[Device]:
    """`count` devices in one INSERT, spread over `sites` (for query-count tests)."""
    now = timezone.now()
    rows = []
    for i in range(count):
        site = sites[i % len(sites)] if sites else None
        rows.append(
            Device(
                customer=customer,
                device_id=f"{prefix}_{i:05}",
                kind=DeviceKind.VENDOR,
                model="TC52",
                os="Android 11",
                app_id=AppId.PTT_PRO,
                app_version="3.3.10200",
                site=site,
                provisioned_site=site,
                site_status=SiteStatus.PROVISIONED if site else SiteStatus.NONE,
                site_assigned_at=now if site else None,
            )
        )
    return Device.objects.bulk_create(rows)
