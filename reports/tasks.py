"""Background work of the reports app: the dashboard's token rollup, History retention."""

from celery import shared_task

from reports import rollups, services


@shared_task
def rollup_token_requests() -> dict:
    """Every minute: count new History rows into the dashboard's token rollup."""
    return rollups.token_rollup_update()


@shared_task
def delete_old_history() -> int:
    """Nightly: delete History older than HISTORY_RETENTION_DAYS, in short batches."""
    return services.history_purge()
