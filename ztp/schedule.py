"""Celery beat entries of the ztp app (collected into CELERY_BEAT_SCHEDULE)."""

from celery.schedules import crontab

SCHEDULE = {
    "ztp-check-vendors": {
        "task": "ztp.tasks.check_vendors",
        "schedule": crontab(hour=5, minute=17),
    },
}
