"""Celery beat entries of the licensing app (collected into CELERY_BEAT_SCHEDULE)."""

from celery.schedules import crontab

SCHEDULE = {
    "licensing-check-entitlements": {
        "task": "licensing.tasks.check_entitlements",
        "schedule": crontab(minute=35),
    },
    "licensing-sync-entitlements": {
        "task": "licensing.tasks.sync_entitlements",
        "schedule": crontab(hour=2, minute=0),
    },
    "licensing-release-standard-licenses": {
        "task": "licensing.tasks.release_standard_licenses",
        "schedule": crontab(hour=2, minute=30),
    },
    "licensing-expire-entitlements": {
        "task": "licensing.tasks.expire_entitlements",
        "schedule": crontab(hour=6, minute=0),
    },
    # The dashboard's license graph: today's numbers, and yesterday's once it has ended.
    "licensing-snapshot-licenses": {
        "task": "licensing.tasks.snapshot_licenses",
        "schedule": crontab(minute="*/15"),
    },
    "licensing-close-license-day": {
        "task": "licensing.tasks.close_license_day",
        "schedule": crontab(hour=0, minute=10),
    },
}
