"""Background work on the license pool: back-end sync, release rules, expiration."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from accounts.models import Customer
from licensing import services, sync
from licensing.backend import EntitlementBackendError, entitlement_source


def _sync_all(*, full: bool) -> dict[str, int]:
    counts = {"synced": 0, "failed": 0}
    if entitlement_source() is None:
        return counts
    for customer in Customer.objects.filter(is_active=True).order_by("pk"):
        try:
            sync.entitlements_sync(customer=customer, full=full)
        except EntitlementBackendError:
            counts["failed"] += 1  # already logged as an ERROR event
        else:
            counts["synced"] += 1
    return counts


@shared_task
def check_entitlements() -> dict[str, int]:
    """Hourly: ask the back end for every customer's entitlements (LICENSE_SYNC_GET)."""
    return _sync_all(full=False)


@shared_task
def sync_entitlements() -> dict[str, int]:
    """Nightly: the full sync of every customer's entitlements."""
    return _sync_all(full=True)


@shared_task
def sync_customer_entitlements(customer_pk: int) -> dict[str, int]:
    """One customer's full sync, started by staff from the portal or Django admin."""
    return sync.entitlements_sync(customer=Customer.objects.get(pk=customer_pk), full=True)


@shared_task
def release_standard_licenses() -> int:
    return services.standard_licenses_release()


@shared_task
def expire_entitlements() -> dict[str, int]:
    return services.entitlements_expire()


@shared_task
def snapshot_licenses() -> int:
    """Every 15 minutes: today's license numbers of every customer, for the dashboard."""
    return services.license_snapshot()


@shared_task
def close_license_day() -> int:
    """Nightly: yesterday's license numbers as they stood at the end of the day (the last
    15-minute snapshot may be up to 15 minutes older)."""
    yesterday = timezone.localdate() - timedelta(days=1)
    return services.license_rollups_rebuild(first=yesterday, last=yesterday)
