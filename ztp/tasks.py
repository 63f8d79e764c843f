"""Background work of zero-touch provisioning."""

from celery import shared_task

from ztp.services.card import ztp_check_all


@shared_task
def check_vendors() -> dict[str, int]:
    """Daily: every onboarded customer and vendor is checked (credentials accepted, our
    provisioning URL still registered); a drift shows on the ZTP card with Repair."""
    return ztp_check_all()
