"""Background work on provisioning codes."""

from celery import shared_task

from provisioning import phones


@shared_task
def delete_expired_codes() -> int:
    """Every few minutes: codes nobody used in time are deleted (they are refused from the
    moment they expire, before this runs)."""
    return phones.expired_codes_delete()
