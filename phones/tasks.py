"""Background work on provisioning codes."""

from celery import shared_task

from phones.services.codes import expired_codes_delete


@shared_task
def delete_expired_codes() -> int:
    """Every few minutes: codes nobody used in time are deleted (they are refused from the
    moment they expire, before this runs)."""
    return expired_codes_delete()
