"""Celery beat entries of the devices app (collected into CELERY_BEAT_SCHEDULE)."""

from celery.schedules import crontab

SCHEDULE = {
    "devices-retry-pending-site-provisioning": {
        "task": "devices.tasks.retry_pending_site_provisioning",
        "schedule": crontab(minute="*/10"),
    },
    "devices-sweep-inactive-site-devices": {
        "task": "devices.tasks.sweep_inactive_site_devices",
        "schedule": crontab(hour=3, minute=15),
    },
    "devices-sync-sites": {
        "task": "devices.tasks.sync_sites",
        "schedule": crontab(minute=5),
    },
}
