"""Celery beat entries of the provisioning app (collected into CELERY_BEAT_SCHEDULE)."""

from celery.schedules import crontab

SCHEDULE = {
    "provisioning-delete-expired-codes": {
        "task": "provisioning.tasks.delete_expired_codes",
        "schedule": crontab(minute="*/5"),
    },
}
