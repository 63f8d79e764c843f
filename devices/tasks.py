"""Background work on devices: PTT Pro site provisioning, its retries and the sweeps."""

import logging

from celery import shared_task

from accounts.models import Customer
from devices import sites
from devices.ptt import PttError, PttUnavailable

log = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600


@shared_task(bind=True, max_retries=8, acks_late=True)
def provision_device_site(self, device_pk: int) -> str:
    """Put one device into its site's PTT Pro device table, retrying with back-off while
    the server is down. Each retry records when it is due on the device, so the retry
    sweep leaves a device in back-off alone. A device that runs out of retries stays
    pending, and `retry_pending_site_provisioning` schedules it again."""
    try:
        return sites.device_site_provision(device_pk=device_pk)
    except PttUnavailable as exc:
        if self.request.retries >= self.max_retries:
            sites.site_provisioning_give_up(device_pk=device_pk, reason=str(exc))
            return "gave up for now"
        delay = min(RETRY_BASE_SECONDS * 2**self.request.retries, RETRY_MAX_SECONDS)
        sites.site_provisioning_retry_due(device_pk=device_pk, countdown=delay)
        raise self.retry(exc=exc, countdown=delay) from None


def schedule_site_provisioning(device_pk: int) -> None:
    """Queue the provisioning task; a broker outage must not fail the caller (the device
    stays pending and the retry sweep queues it once its `site_retry_at`, set with the
    request, has passed)."""
    try:
        provision_device_site.delay(device_pk)
    except Exception:  # kombu raises several connection error types
        log.warning("could not queue site provisioning of device %s", device_pk, exc_info=True)


@shared_task
def retry_pending_site_provisioning() -> int:
    """Queue again pending devices whose task was lost (next attempt overdue); devices in
    back-off are left to their retries."""
    pending = sites.pending_site_devices()
    for device_pk in pending:
        provision_device_site.delay(device_pk)
    return len(pending)


@shared_task
def sweep_inactive_site_devices() -> dict[str, int]:
    return sites.inactive_site_devices_sweep()


@shared_task
def sync_sites() -> dict[str, int]:
    counts = {"synced": 0, "failed": 0}
    for customer in Customer.objects.filter(is_active=True).exclude(ptt_server=""):
        try:
            sites.sites_sync(customer=customer)
        except PttError:
            counts["failed"] += 1
        else:
            counts["synced"] += 1
    return counts
