"""Writing the two logs. Every app records its changes and device requests through here."""

from __future__ import annotations

from typing import Any

from accounts.models import Customer, User
from reports.models import Event, History, Severity


def event_log(
    *,
    customer: Customer | None,
    user: User | None,
    type: str,
    info: str,
    severity: str = Severity.INFO,
    data: dict[str, Any] | None = None,
) -> Event:
    """Record who did what. `data` carries details such as {"before": …, "after": …}."""
    return Event.objects.create(
        customer=customer,
        user=user if user is not None and user.is_authenticated else None,
        username=user.get_username() if user is not None and user.is_authenticated else "",
        type=type,
        severity=severity,
        info=info[:500],
        data=data or {},
    )


def history_record(
    *,
    customer_id: int | None,
    action: str,
    result: str,
    token: str = "",
    app_id: str = "",
    device_id: str = "",
    ip_address: str | None = None,
) -> History:
    """One row per device request; inputs are cut to the column sizes, never refused."""
    return History.objects.create(
        customer_id=customer_id,
        action=action,
        result=result,
        token=token[:64],
        app_id=app_id[:40],
        device_id=device_id[:128],
        ip_address=ip_address,
    )
