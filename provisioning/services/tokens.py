"""TODO"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import Customer, User
from core.errors import version_check
from provisioning.models import (
    MAX_REDEMPTIONS,
    TOKEN_CHARACTERS,
    TOKEN_MIN_LENGTH,
    Bootstrap,
    Token,
    token_value_error,
)
from provisioning.services.bootstraps import bootstrap_save
from reports.models import AppId, EventType
from reports.services import event_log

DIRECT_ACCESS_BOOTSTRAP = "Direct-Access-Bootstrap"
EXTENSION_MANAGER_BOOTSTRAP = "Extension-Manager-Bootstrap"


def token_snapshot(token: Token) -> dict[str, Any]:
    return {
        "token": token.value,
        "appId": token.app_id,
        "bootstrap": token.bootstrap.name,
        "description": token.description,
        "expiresAt": token.expires_at.isoformat() if token.expires_at else None,
        "maxRedemptions": token.max_redemptions,
        "revoked": token.revoked,
        "version": token.version,
    }


def _check_token(
    *,
    customer: Customer,
    value: str,
    app_id: str,
    bootstrap: Bootstrap | str | None,
    description: str,
    max_redemptions: int | None,
    current: Token | None,
) -> Bootstrap | None:
    errors: dict[str, str] = {}
    value = value or ""
    problem = token_value_error(value)
    new_value = current is None or value.lower() != current.value.lower()
    if problem:
        errors["token"] = problem
    elif new_value and len(value) < TOKEN_MIN_LENGTH:
        # Short values are guessable; ones made before this rule keep working.
        errors["token"] = f"at least {TOKEN_MIN_LENGTH} characters, so it cannot be guessed"
    else:
        exclude_pk = current.pk if current else None
        clash = Token.objects.filter(value__lower=value.lower())
        if exclude_pk is not None:
            clash = clash.exclude(pk=exclude_pk)
        if clash.exists():
            # Tokens are unique across all customers; say no more than that.
            errors["token"] = f"{value} is already in use; choose another value"
    if app_id not in AppId.values:
        errors["appId"] = f"must be one of {', '.join(AppId.values)}"
    if isinstance(bootstrap, str):
        found = Bootstrap.objects.for_customer(customer).filter(name=bootstrap).first()
        if found is None:
            errors["bootstrap"] = f"no bootstrap named {bootstrap!r}" if bootstrap else "required"
        bootstrap = found
    elif bootstrap is None:
        errors["bootstrap"] = "required"
    elif bootstrap.customer_id != customer.pk:
        errors["bootstrap"] = "must be one of your bootstraps"
    if len(description or "") > 255:
        errors["description"] = "at most 255 characters"
    if max_redemptions is not None and not 1 <= max_redemptions <= MAX_REDEMPTIONS:
        errors["maxRedemptions"] = f"from 1 to {MAX_REDEMPTIONS:,} (leave empty for no limit)"
    if errors:
        raise ValidationError(errors)
    return bootstrap


@transaction.atomic
def token_save(
    *,
    customer: Customer,
    user: User | None,
    value: str,
    app_id: str,
    bootstrap: Bootstrap | str | None,
    description: str = "",
    expires_at: datetime | None = None,
    max_redemptions: int | None = None,
    revoked: bool = False,
    instance: Token | None = None,
    expected_version: int | None = None,
    add_only: bool = False,
) -> tuple[Token, bool]:
    """Add a token, or replace one: `instance` when editing (its value may change), else
    the customer's token with that value (unless `add_only`, when an existing value is an
    error). `bootstrap` is a Bootstrap or a bootstrap name. Returns (token, created)."""
    queryset = Token.objects.for_customer(customer).select_for_update().select_related("bootstrap")
    if instance is not None:
        current = queryset.filter(pk=instance.pk).first()
        if current is None:
            raise ValidationError({"token": "this token no longer exists"})
    else:
        current = queryset.filter(value__lower=(value or "").lower()).first()
        if current is not None and add_only:
            raise ValidationError({"token": f"{value} already exists; edit that token instead"})
    version_check(
        kind="token",
        expected=expected_version,
        current=current.version if current else None,
    )
    bootstrap = _check_token(
        customer=customer,
        value=value,
        app_id=app_id,
        bootstrap=bootstrap,
        description=description,
        max_redemptions=max_redemptions,
        current=current,
    )
    fields = {
        "value": value,
        "app_id": app_id,
        "bootstrap": bootstrap,
        "description": description or "",
        "expires_at": expires_at,
        "max_redemptions": max_redemptions,
        "revoked": revoked,
    }
    try:
        with transaction.atomic():
            if current is None:
                token = Token.objects.create(customer=customer, **fields)
            else:
                before = token_snapshot(current)
                for name, field_value in fields.items():
                    setattr(current, name, field_value)
                current.version += 1
                current.save()
                token = current
    except IntegrityError:
        # Another request took the same value between our check and the insert.
        raise ValidationError(
            {"token": f"{value} is already in use; choose another value"}
        ) from None
    if current is None:
        event_log(
            customer=customer,
            user=user,
            type=EventType.TOKEN_ADDED,
            info=f"Token {value} added",
            data={"after": token_snapshot(token)},
        )
        return token, True
    event_log(
        customer=customer,
        user=user,
        type=EventType.TOKEN_UPDATED,
        info=f"Token {before['token']} updated",
        data={"before": before, "after": token_snapshot(token)},
    )
    return token, False


@transaction.atomic
def token_delete(*, token: Token, user: User | None, expected_version: int | None = None) -> None:
    """Delete a token the caller fetched through the customer's scope."""
    current = (
        Token.objects.select_for_update().select_related("bootstrap").filter(pk=token.pk).first()
    )
    if current is None:
        return  # deleted meanwhile
    version_check(
        kind="token",
        expected=expected_version,
        current=current.version if current else None,
    )
    snapshot = token_snapshot(current)
    current.delete()
    event_log(
        customer=token.customer,
        user=user,
        type=EventType.TOKEN_DELETED,
        info=f"Token {snapshot['token']} deleted",
        data={"before": snapshot},
    )


def new_token_value(prefix: str) -> str:
    """A token value nobody can guess: the token is the device's only credential. The
    prefix keeps only what token values allow (letters, digits, dashes)."""
    readable = re.sub(f"[^{TOKEN_CHARACTERS}]+", "-", prefix).strip("-")[:39]
    # 96 random bits, whatever the prefix; the whole value fits TOKEN_MAX_LENGTH.
    random_part = secrets.token_hex(12)
    return f"{readable}-{random_part}" if readable else random_part


@transaction.atomic
def customer_defaults_create(*, customer: Customer, user: User | None = None) -> list[Token]:
    """The pairs every new customer starts with: Direct Access (an empty bootstrap and a
    Voice token that ties devices to the customer for licensing) and, when the customer
    has an Extension Manager, the Extension Manager pair."""
    pairs = [(DIRECT_ACCESS_BOOTSTRAP, {}, "direct-access")]
    if customer.extension_manager_url:
        pairs.append(
            (
                EXTENSION_MANAGER_BOOTSTRAP,
                {"var_location": customer.extension_manager_url},
                "extension-manager",
            )
        )
    tokens = []
    for bootstrap_name, parameters, label in pairs:
        bootstrap, _ = bootstrap_save(
            customer=customer, user=user, name=bootstrap_name, parameters=parameters
        )
        token, _ = token_save(
            customer=customer,
            user=user,
            value=new_token_value(f"{customer.slug}-{label}"),
            app_id=AppId.VOICE,
            bootstrap=bootstrap,
            description=f"{bootstrap_name.replace('-Bootstrap', '').replace('-', ' ')} token",
        )
        tokens.append(token)
    return tokens
