"""One-time provisioning codes and rollouts (codes for many people at once)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Customer, User
from core.errors import InUse
from phones import guessing
from phones.models import CODE_DIGITS, Category, ProvisioningCode, Rollout
from phones.services.categories import default_provisioning_category
from reports.models import AppId, EventType
from reports.services import event_log

# How long a code is valid: a person adding a phone types it at once; a rollout's codes
# are handed to many people, who need days.
CODE_LIFETIME = timedelta(minutes=10)
ROLLOUT_CODE_LIFETIME = timedelta(days=7)
ROLLOUT_MAX_USERS = 20_000


def code_generate() -> str:
    """12 digits from the operating system's secure random source, with no structure."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def _check_provisioning_category(customer: Customer, category: Category | None) -> Category:
    if category is None:
        raise ValidationError({"category": "this customer has no provisioning category; add one"})
    if category.customer_id != customer.pk:
        raise ValidationError({"category": "must be one of your categories"})
    if not category.is_provisioning:
        raise ValidationError({"category": f"{category.name} is not a provisioning category"})
    return category


def _codes_issued(customer: Customer, ip_address: str | None) -> None:
    guessing.network_learn(customer_id=customer.pk, ip_address=ip_address, now=timezone.now())
    # After the transaction: a try sized before the codes are visible would be sized anew.
    transaction.on_commit(guessing.codes_issued)


def provisioning_code_issue(
    *,
    customer: Customer,
    user: User | None,
    category: Category | None = None,
    for_user: User | None = None,
    rollout: bool = False,
    ip_address: str | None = None,
) -> ProvisioningCode:
    """A one-time code for one new phone, valid 10 minutes (7 days for a rollout). The
    issuer's address (`ip_address`) is a network the customer's phones are likely on."""
    category = _check_provisioning_category(
        customer, category or default_provisioning_category(customer)
    )
    if for_user is not None and for_user.customer_id != customer.pk:
        raise ValidationError({"user": "must be one of your portal users"})
    lifetime = ROLLOUT_CODE_LIFETIME if rollout else CODE_LIFETIME
    for _attempt in range(5):
        try:
            with transaction.atomic():
                code = ProvisioningCode.objects.create(
                    customer=customer,
                    category=category,
                    user=for_user,
                    code=code_generate(),
                    expires_at=timezone.now() + lifetime,
                )
        except IntegrityError:
            continue  # the same 12 digits are pending already (one chance in millions)
        _codes_issued(customer, ip_address)
        event_log(
            customer=customer,
            user=user,
            type=EventType.CODE_ISSUED,
            info=f"Provisioning code issued for category {category.name}"
            + (f" for {for_user.get_username()}" if for_user else ""),
            data={"category": category.name, "expiresAt": code.expires_at.isoformat()},
        )
        return code
    raise RuntimeError("could not draw a free provisioning code")


@transaction.atomic
def rollout_create(
    *,
    customer: Customer,
    user: User | None,
    category: Category | None,
    users: list[User],
    app_id: str = "",
    ip_address: str | None = None,
) -> Rollout:
    """Codes for many portal users at once, valid 7 days: one INSERT per thousand codes.
    The issuer's address (`ip_address`) is a network the customer's phones are likely on."""
    category = _check_provisioning_category(customer, category)
    if not users:
        raise ValidationError({"users": "choose at least one portal user"})
    if len(users) > ROLLOUT_MAX_USERS:
        raise ValidationError({"users": f"at most {ROLLOUT_MAX_USERS:,} users per rollout"})
    if any(u.customer_id != customer.pk for u in users):
        raise ValidationError({"users": "must be your portal users"})
    if app_id and app_id not in AppId.values:
        raise ValidationError({"appId": f"must be one of {', '.join(AppId.values)}"})
    rollout = Rollout.objects.create(
        customer=customer, category=category, app_id=app_id, created_by=user
    )
    expires = timezone.now() + ROLLOUT_CODE_LIFETIME
    for _attempt in range(5):
        drawn: set[str] = set()
        while len(drawn) < len(users):
            drawn.add(code_generate())
        try:
            with transaction.atomic():
                ProvisioningCode.objects.bulk_create(
                    [
                        ProvisioningCode(
                            customer=customer,
                            category=category,
                            user=member,
                            rollout=rollout,
                            code=code,
                            expires_at=expires,
                        )
                        for member, code in zip(users, drawn, strict=True)
                    ],
                    batch_size=1000,
                )
            break
        except IntegrityError:
            continue  # a code clashed with a pending one elsewhere: draw them all again
    else:
        raise RuntimeError("could not draw free provisioning codes")
    _codes_issued(customer, ip_address)
    event_log(
        customer=customer,
        user=user,
        type=EventType.ROLLOUT_CREATED,
        info=f"Rollout of {len(users)} phone(s) for category {category.name}",
        data={"rollout": rollout.pk, "codes": len(users), "category": category.name},
    )
    return rollout


@transaction.atomic
def provisioning_code_revoke(*, code: ProvisioningCode, user: User | None) -> None:
    """Withdraw a code nobody has used yet. A used code stays: it records which phone it
    registered."""
    current = ProvisioningCode.objects.select_for_update().filter(pk=code.pk).first()
    if current is None:
        return
    if current.used_at is not None:
        raise InUse("This code has been used; it is kept as the record of the phone it added.")
    current.delete()
    event_log(
        customer=code.customer,
        user=user,
        type=EventType.CODE_REVOKED,
        info=f"Provisioning code for category {code.category.name} withdrawn",
        data={"category": code.category.name},
    )


def expired_codes_delete(*, now: datetime | None = None) -> int:
    """Delete the codes nobody used in time. One DELETE; safe to run twice at once."""
    now = now or timezone.now()
    deleted, _ = ProvisioningCode.objects.filter(used_at__isnull=True, expires_at__lte=now).delete()
    event_log(
        customer=None,
        user=None,
        type=EventType.CODES_EXPIRED,
        info=f"{deleted} expired provisioning code(s) deleted",
        data={"deleted": deleted},
    )
    return deleted
