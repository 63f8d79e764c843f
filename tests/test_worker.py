"""Jobs run by a real Celery worker over the real broker (Redis in CI), not in eager mode.

The worker runs in a thread of this process, consuming from CELERY_BROKER_URL; the test
data is committed (transaction=True) so the worker's own database connection sees it.
"""

import pytest

from devices import tasks
from devices.fake_ptt import FakePttServer
from devices.models import Device, SiteStatus
from devices.sites import sites_sync
from gateway.services.redemption import token_redeem
from licensing import tasks as licensing_tasks
from licensing.fake_backend import FakeEntitlementBackend, entry
from licensing.models import Entitlement, EntitlementState
from provisioning.services.bootstraps import bootstrap_save
from provisioning.services.tokens import token_save
from reports.models import AppId


@pytest.mark.django_db(transaction=True)
def test_worker_provisions_a_redeemed_device_into_its_site(
    worker, customer, admin, settings, django_capture_on_commit_callbacks
):
    with FakePttServer(departments=["North"]) as ptt:
        settings.PTT_SERVERS = {"ptt1": {"url": ptt.url, "api_key": ptt.api_key}}
        customer.ptt_server = "ptt1"
        customer.save()
        sites_sync(customer=customer)
        bootstrap_save(customer=customer, user=admin, name="N", parameters={"site": "North"})
        token_save(
            customer=customer, user=admin, value="tok-north", app_id=AppId.PTT_PRO, bootstrap="N"
        )
        outcome = token_redeem(
            token="tok-north", device_id="TC52_1", app_id=AppId.PTT_PRO, app_version="3.3.10200"
        )
        assert outcome.ok, outcome
        device = Device.objects.get()
        assert device.site_status == SiteStatus.PENDING

        # The redemption queued the task after commit; wait for the worker's answer.
        result = tasks.provision_device_site.delay(device.pk)
        assert result.get(timeout=30) in {"provisioned", "nothing to do"}
        device.refresh_from_db()
        assert device.site_status == SiteStatus.PROVISIONED
        assert ptt.rows == {"TC52_1": ("North", "provisioning")}


@pytest.mark.django_db(transaction=True)
def test_worker_runs_the_nightly_entitlement_sync(worker, customer, settings):
    with FakeEntitlementBackend() as backend:
        backend.set_entitlements(
            customer.slug, [entry("AID-1", quantity=20), entry("AID-2", license_type="premium")]
        )
        settings.LICENSE_BACKEND = "http"
        settings.LICENSE_BACKEND_URL = backend.url
        settings.LICENSE_BACKEND_TOKEN = backend.token

        result = licensing_tasks.sync_entitlements.delay()
        assert result.get(timeout=30) == {"synced": 1, "failed": 0}
    lines = {e.activation_id: e for e in Entitlement.objects.filter(customer=customer)}
    assert set(lines) == {"AID-1", "AID-2"}
    assert lines["AID-1"].total == 20
    assert lines["AID-2"].state == EntitlementState.ACTIVE
