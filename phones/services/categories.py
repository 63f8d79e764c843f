"""Categories: groups of phones. A provisioning category is offered for new phones;
every category can be the target of update jobs."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Customer, User
from core.errors import InUse, version_check
from devices.models import Device
from phones.models import Category
from provisioning.models import Bootstrap
from reports.models import EventType
from reports.services import event_log

DEFAULT_CATEGORY = "Phones"


def category_snapshot(category: Category) -> dict[str, Any]:
    return {
        "name": category.name,
        "isProvisioning": category.is_provisioning,
        "bootstrap": category.bootstrap.name if category.bootstrap else None,
        "description": category.description,
        "version": category.version,
    }


@transaction.atomic
def category_save(
    *,
    customer: Customer,
    user: User | None,
    name: str,
    is_provisioning: bool = True,
    bootstrap: Bootstrap | None = None,
    description: str = "",
    instance: Category | None = None,
    expected_version: int | None = None,
) -> tuple[Category, bool]:
    """Add a category, or change `instance`. A rename carries its devices along."""
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = "a category needs a name"
    elif len(name) > 64 or any(ord(c) < 32 for c in name):
        errors["name"] = "at most 64 printable characters"
    if bootstrap is not None and bootstrap.customer_id != customer.pk:
        errors["bootstrap"] = "must be one of your bootstraps"
    if len(description or "") > 255:
        errors["description"] = "at most 255 characters"
    current = None
    if instance is not None:
        current = (
            Category.objects.for_customer(customer).select_for_update().filter(pk=instance.pk)
        ).first()
        if current is None:
            raise ValidationError({"name": "this category no longer exists"})
        version_check(kind="category", expected=expected_version, current=current.version)
    clash = Category.objects.for_customer(customer).filter(name=name)
    if current is not None:
        clash = clash.exclude(pk=current.pk)
    if name and "name" not in errors and clash.exists():
        errors["name"] = f"a category named {name!r} already exists"
    if errors:
        raise ValidationError(errors)
    fields = {
        "name": name,
        "is_provisioning": is_provisioning,
        "bootstrap": bootstrap,
        "description": description or "",
    }
    try:
        with transaction.atomic():
            if current is None:
                category = Category.objects.create(customer=customer, **fields)
            else:
                before = category_snapshot(current)
                for key, value in fields.items():
                    setattr(current, key, value)
                current.version += 1
                current.save()
                category = current
    except IntegrityError:
        raise ValidationError({"name": f"a category named {name!r} already exists"}) from None
    if current is None:
        event_log(
            customer=customer,
            user=user,
            type=EventType.CATEGORY_ADDED,
            info=f"Category {name} added",
            data={"after": category_snapshot(category)},
        )
        return category, True
    if before["name"] != name:
        Device.objects.for_customer(customer).filter(category=before["name"]).update(category=name)
    event_log(
        customer=customer,
        user=user,
        type=EventType.CATEGORY_UPDATED,
        info=f"Category {before['name']} updated"
        + ("" if before["name"] == name else f" (now {name})"),
        data={"before": before, "after": category_snapshot(category)},
    )
    return category, False


@transaction.atomic
def category_delete(
    *, category: Category, user: User | None, expected_version: int | None = None
) -> None:
    """Delete a category no pending code uses; its jobs and past rollouts go with it."""
    current = Category.objects.select_for_update().filter(pk=category.pk).first()
    if current is None:
        return
    version_check(kind="category", expected=expected_version, current=current.version)
    pending = current.codes.filter(used_at__isnull=True, expires_at__gt=timezone.now()).count()
    if pending:
        raise InUse(
            f"Category {current.name} has {pending} pending code(s); let them expire first "
            "(rollout codes are valid 7 days)."
        )
    snapshot = category_snapshot(current)
    current.delete()
    event_log(
        customer=category.customer,
        user=user,
        type=EventType.CATEGORY_DELETED,
        info=f"Category {snapshot['name']} deleted",
        data={"before": snapshot},
    )


def default_provisioning_category(customer: Customer) -> Category | None:
    """The category a code gets when none is named: the customer's first provisioning
    category (every customer starts with one)."""
    return (
        Category.objects.for_customer(customer)
        .filter(is_provisioning=True)
        .order_by("created", "pk")
        .first()
    )


def provisioning_categories(customer: Customer):
    return Category.objects.for_customer(customer).filter(is_provisioning=True).order_by("name")


def customer_phone_defaults_create(*, customer: Customer, user: User | None = None) -> Category:
    """Every customer starts with one provisioning category."""
    category, _ = category_save(customer=customer, user=user, name=DEFAULT_CATEGORY)
    return category
