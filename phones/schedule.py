"""Celery beat entries of the phones app (collected into CELERY_BEAT_SCHEDULE)."""

from celery.schedules import crontab

SCHEDULE = {
    "phones-delete-expired-codes": {
        "task": "phones.tasks.delete_expired_codes",
        "schedule": crontab(minute="*/5"),
    },
}
