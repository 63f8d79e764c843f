"""Syncing a customer's entitlements from the entitlement back end, and queueing a sync."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from accounts.models import Customer, User
from core.errors import Unavailable
from licensing.backend import EntitlementBackendError, entitlement_source
from licensing.models import (
    Entitlement,
    EntitlementState,
)
from reports.models import EventType, Severity
from reports.services import event_log

logger = logging.getLogger(__name__)


def entitlements_sync(*, customer: Customer, full: bool = True) -> dict[str, int]:
    """Fetch the customer's entitlements from the back end.

    The hourly check (full=False) only records that the back end answered and marks the
    lines it still reports as verified. The full sync upserts by activation ID and marks
    lines missing from the back end Expired; it never deletes them or their history.
    A failing back end writes an ERROR event and changes nothing."""
    source = entitlement_source()
    if source is None:
        raise ValidationError("LICENSE_BACKEND: no entitlement back end is configured")
    account = customer.license_account or customer.slug
    try:
        remote = source.fetch(account)
    except EntitlementBackendError as exc:
        event_log(
            customer=customer,
            user=None,
            type=EventType.LICENSE_SYNC_GET,
            severity=Severity.ERROR,
            info=f"Entitlement back end failed for {account}: {exc}",
        )
        raise
    now = timezone.now()
    ids = [r.activation_id for r in remote]
    if not full:
        verified = (
            Entitlement.objects.for_customer(customer)
            .filter(activation_id__in=ids)
            .update(verified_at=now)
        )
        event_log(
            customer=customer,
            user=None,
            type=EventType.LICENSE_SYNC_GET,
            info=f"{account}: {len(remote)} entitlement(s) reported, {verified} verified",
        )
        return {"reported": len(remote), "verified": verified}

    with transaction.atomic():
        # An activation ID belongs to one customer; never let a sync move it.
        foreign = set(
            Entitlement.objects.filter(activation_id__in=ids)
            .exclude(customer=customer)
            .values_list("activation_id", flat=True)
        )
        rows = [
            Entitlement(
                customer=customer,
                activation_id=r.activation_id,
                license_type=r.license_type,
                term=r.term[:64],
                total=r.quantity,
                expiration=r.expiration,
                state=EntitlementState.ACTIVE if r.expiration > now else EntitlementState.EXPIRED,
                verified_at=now,
            )
            for r in remote
            if r.activation_id not in foreign
        ]
        Entitlement.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["activation_id"],
            update_fields=[
                "license_type",
                "term",
                "total",
                "expiration",
                "state",
                "verified_at",
                "updated",
            ],
        )
        missing = (
            Entitlement.objects.for_customer(customer)
            .exclude(activation_id__in=ids)
            .filter(state=EntitlementState.ACTIVE)
            .update(state=EntitlementState.EXPIRED, updated=now)
        )
        counts = {"reported": len(remote), "upserted": len(rows), "expired": missing}
        event_log(
            customer=customer,
            user=None,
            type=EventType.LICENSE_SYNC,
            severity=Severity.ERROR if foreign else Severity.INFO,
            info=(
                f"{account}: {len(rows)} entitlement(s) synced, {missing} no longer reported"
                + (
                    f"; {len(foreign)} belong to another customer and were skipped"
                    if foreign
                    else ""
                )
            ),
            data=counts,
        )
    return counts


class SyncNotQueued(Unavailable):
    """The sync could not be queued; the message says why, for the person who asked."""

    code = "not_queued"


def entitlement_sync_queue(*, customer: Customer, user: User | None) -> None:
    """Queue one customer's full sync with the entitlement back end, recording who asked.
    Used by the Sync now button, the sync API and the Django admin action.

    Raises SyncNotQueued when no back end is configured (the task would only fail) or the
    task queue cannot be reached: a broker outage is a message, never an error page."""
    # The task module imports this one; importing it here keeps the import order simple.
    from licensing.tasks import sync_customer_entitlements

    if not settings.LICENSE_BACKEND:
        raise SyncNotQueued("no entitlement back end is configured (LICENSE_BACKEND)")
    try:
        sync_customer_entitlements.delay(customer.pk)
    except OperationalError as exc:
        logger.error("licensing: could not queue the sync of %s: %s", customer.slug, exc)
        raise SyncNotQueued("the task queue cannot be reached; try again in a few minutes") from exc
    event_log(
        customer=customer,
        user=user,
        type=EventType.LICENSE_SYNC_REQUESTED,
        info=f"Entitlement sync of {customer.name} queued",
    )
