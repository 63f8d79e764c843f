"""TODO"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import Customer, User
from core.errors import InUse, version_check
from core.jsontext import JSONTextError, json_parse, json_value_error
from provisioning.models import (
    Bootstrap,
)
from reports.models import EventType
from reports.services import event_log


def bootstrap_snapshot(bootstrap: Bootstrap) -> dict[str, Any]:
    return {
        "name": bootstrap.name,
        "parameters": bootstrap.parameters,
        "version": bootstrap.version,
    }


def parse_parameters(text: str) -> Any:
    """Bootstrap parameters typed by a person or sent by a script: strict JSON (the shape,
    a JSON object, is checked by bootstrap_save)."""
    try:
        return json_parse(text)
    except JSONTextError as exc:
        raise ValidationError({"parameters": f"not valid JSON: {exc}"}) from None


def _check_bootstrap(name: str, parameters: Any) -> str:
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = "a bootstrap needs a name"
    elif len(name) > 128 or any(ord(c) < 32 for c in name):
        errors["name"] = "at most 128 printable characters"
    if not isinstance(parameters, dict):
        errors["parameters"] = 'must be a JSON object, for example {"site": "site-1094"}'
    else:
        problem = json_value_error(parameters)
        if problem:
            errors["parameters"] = problem
    if errors:
        raise ValidationError(errors)
    return name


@transaction.atomic
def bootstrap_save(
    *,
    customer: Customer,
    user: User | None,
    name: str,
    parameters: dict[str, Any],
    instance: Bootstrap | None = None,
    expected_version: int | None = None,
    add_only: bool = False,
) -> tuple[Bootstrap, bool]:
    """Add a bootstrap, or replace one: `instance` when editing (it may be renamed),
    else the customer's bootstrap of that name (unless `add_only`, when an existing name
    is an error). Returns (bootstrap, created)."""
    name = _check_bootstrap(name, parameters)
    queryset = Bootstrap.objects.for_customer(customer).select_for_update()
    if instance is not None:
        current = queryset.filter(pk=instance.pk).first()
        if current is None:
            raise ValidationError({"name": "this bootstrap no longer exists"})
    else:
        current = queryset.filter(name=name).first()
        if current is not None and add_only:
            raise ValidationError({"name": f"a bootstrap named {name!r} already exists"})
    version_check(
        kind="bootstrap",
        expected=expected_version,
        current=current.version if current else None,
    )
    clash = Bootstrap.objects.for_customer(customer).filter(name=name)
    if current is not None:
        clash = clash.exclude(pk=current.pk)
    if clash.exists():
        raise ValidationError({"name": f"a bootstrap named {name!r} already exists"})

    if current is None:
        try:
            with transaction.atomic():
                bootstrap = Bootstrap.objects.create(
                    customer=customer, name=name, parameters=parameters
                )
        except IntegrityError:
            # Another request added the same name between our check and the insert.
            raise ValidationError({"name": f"a bootstrap named {name!r} already exists"}) from None
        event_log(
            customer=customer,
            user=user,
            type=EventType.BOOTSTRAP_ADDED,
            info=f"Bootstrap {name} added",
            data={"after": bootstrap_snapshot(bootstrap)},
        )
        return bootstrap, True

    before = bootstrap_snapshot(current)
    current.name = name
    current.parameters = parameters
    current.version += 1
    current.save()
    event_log(
        customer=customer,
        user=user,
        type=EventType.BOOTSTRAP_UPDATED,
        info=f"Bootstrap {before['name']} updated"
        + ("" if before["name"] == name else f" (now {name})"),
        data={"before": before, "after": bootstrap_snapshot(current)},
    )
    return current, False


@transaction.atomic
def bootstrap_delete(
    *, bootstrap: Bootstrap, user: User | None, expected_version: int | None = None
) -> None:
    """Delete a bootstrap no token uses; otherwise say which tokens use it. The caller
    has fetched `bootstrap` through the customer's scope."""
    current = Bootstrap.objects.select_for_update().filter(pk=bootstrap.pk).first()
    if current is None:
        return  # deleted meanwhile: the outcome the caller wanted
    version_check(
        kind="bootstrap",
        expected=expected_version,
        current=current.version if current else None,
    )
    users_of = list(current.tokens.order_by("value").values_list("value", flat=True)[:11])
    if users_of:
        shown = ", ".join(users_of[:10]) + (", …" if len(users_of) > 10 else "")
        raise InUse(
            f"Bootstrap {current.name} is used by token(s) {shown}; "
            "delete them or give them another bootstrap first."
        )
    snapshot = bootstrap_snapshot(current)
    current.delete()
    event_log(
        customer=bootstrap.customer,
        user=user,
        type=EventType.BOOTSTRAP_DELETED,
        info=f"Bootstrap {snapshot['name']} deleted",
        data={"before": snapshot},
    )
