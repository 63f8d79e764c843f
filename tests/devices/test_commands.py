from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from devices.models import Device, Site, SiteStatus


@pytest.mark.django_db
def test_sync_sites_command(ptt, customer):
    out = StringIO()
    call_command("sync_sites", "--customer", customer.slug, stdout=out)
    assert "2 site(s) synced" in out.getvalue()
    assert Site.objects.count() == 2
    with pytest.raises(CommandError, match="--customer: no customer"):
        call_command("sync_sites", "--customer", "nope")
    ptt.down = True
    with pytest.raises(CommandError, match="PTT Pro server ptt1"):
        call_command("sync_sites", "--customer", customer.slug)
    out = StringIO()
    call_command("sync_sites", stdout=out)
    assert "0 customer(s) synced, 1 failed" in out.getvalue()


@pytest.mark.django_db
def test_sweep_command_removes_inactive_devices(ptt, customer):
    site = Site.objects.create(customer=customer, name="North", server_name="ptt1")
    long_ago = timezone.now() - timedelta(days=40)
    Device.objects.create(
        customer=customer,
        device_id="OLD_1",
        site=site,
        provisioned_site=site,
        site_status=SiteStatus.PROVISIONED,
        last_checkin=long_ago,
    )
    # The fake has no row for it: for the server it is already gone, which is fine.
    out = StringIO()
    call_command("sweep_site_devices", stdout=out)
    assert "1 removed, 0 failed" in out.getvalue()
    assert Device.objects.get().site is None
