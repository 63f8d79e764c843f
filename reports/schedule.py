"""Celery beat entries of the reports app (collected into CELERY_BEAT_SCHEDULE)."""

from celery.schedules import crontab

SCHEDULE = {
    # The dashboard's Token requests graph. A run that overlaps the previous one leaves
    # the work to it (see reports.rollups.token_rollup_update).
    "reports-rollup-token-requests": {
        "task": "reports.tasks.rollup_token_requests",
        "schedule": crontab(minute="*"),
    },
    # History retention (HISTORY_RETENTION_DAYS); the rollups stay.
    "reports-delete-old-history": {
        "task": "reports.tasks.delete_old_history",
        "schedule": crontab(hour=4, minute=15),
    },
}
