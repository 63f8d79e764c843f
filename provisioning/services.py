"""Bootstraps and tokens: the rules for changing them and for redeeming a token.

Portal views, the admin API, the bulk import and management commands all call these.
Every change is versioned (an update naming an older version is refused with
StaleVersion) and writes an Event.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Customer, User
from core.errors import InUse, version_check
from core.jsontext import JSONTextError, json_parse, json_value_error
from core.rawsql import db_datetime, insert_select, prepared_cursor
from devices.models import Device, DeviceKind, DeviceState
from devices.services import (
    device_kind_guess,
    device_mark_obsolete,
    device_site_request,
    site_provisioning_applies,
)
from devices.tasks import schedule_site_provisioning
from licensing.models import (
    Assignment,
    Entitlement,
    EntitlementState,
    LicenseType,
    license_type_for,
)
from licensing.services import (
    device_licenses_release,
    license_keep,
    license_take,
    short_app_version,
)
from provisioning.models import (
    MAX_REDEMPTIONS,
    TOKEN_CHARACTERS,
    TOKEN_MIN_LENGTH,
    Bootstrap,
    Token,
    token_value_error,
)
from reports.models import AppId, EventType, History, HistoryAction, HistoryResult
from reports.services import event_log, history_record, history_values

DIRECT_ACCESS_BOOTSTRAP = "Direct-Access-Bootstrap"
EXTENSION_MANAGER_BOOTSTRAP = "Extension-Manager-Bootstrap"


def _check_version(current: Bootstrap | Token | None, expected: int | str | None, kind: str):
    version_check(kind=kind, expected=expected, current=current.version if current else None)


# --- Bootstraps ------------------------------------------------------------------------


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
    _check_version(current, expected_version, "bootstrap")
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
    _check_version(current, expected_version, "bootstrap")
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


# --- Tokens ----------------------------------------------------------------------------


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
    _check_version(current, expected_version, "token")
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
    _check_version(current, expected_version, "token")
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


# --- Redemption ------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceAnswer:
    """What a device request came to. `result` is its History result: OK, or why it was
    refused (then `detail` says so for people, starting with the field at fault). The
    device API maps results to HTTP answers in one table."""

    result: str
    detail: str = ""
    # Seconds to wait, for a refusal that a later try would not meet (rate limits).
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.result == HistoryResult.OK


@dataclass(frozen=True)
class Redemption(DeviceAnswer):
    bootstrap: dict[str, Any] | None = None


@dataclass(frozen=True)
class LicenseAnswer(DeviceAnswer):
    """A granted license carries its feature, type, expiration and activation ID."""

    feature: str = ""
    license_type: str = ""
    expiration: datetime | None = None
    activation_id: str = ""


_REDEEM_SQL = """
UPDATE {token} SET redemption_count = redemption_count + 1, last_redeemed = %s
WHERE LOWER(value) = %s AND app_id = %s AND revoked = %s
  AND (expires_at IS NULL OR expires_at > %s)
  AND (max_redemptions IS NULL OR redemption_count < max_redemptions)
  AND customer_id IN (SELECT id FROM {customer} WHERE is_active = %s)
RETURNING customer_id, (SELECT parameters FROM {bootstrap} WHERE id = bootstrap_id) AS parameters
"""
# PostgreSQL: the token UPDATE, the device upsert and the History insert in one statement
# (data-modifying WITH), so a redemption is one round trip and commits on its own.
_REDEEM_WITH_SQL = """
WITH t AS ({redeem}),
d AS ({device_insert} FROM t
      ON CONFLICT (customer_id, device_id) DO UPDATE SET {device_updates}
      RETURNING id),
h AS ({history_insert} FROM t)
SELECT t.customer_id, t.parameters, d.id FROM t, d
"""
# A device that comes back after being obsoleted is active again.
_REDEEM_DEVICE_UPDATES = (
    "model",
    "os",
    "app_id",
    "app_version",
    "state",
    "last_checkin",
    "updated",
)


def token_redeem(
    *,
    token: str,
    device_id: str,
    app_id: str,
    model: str = "",
    os: str = "",
    app_version: str = "",
    ip_address: str | None = None,
) -> Redemption:
    """A device presents a token: count it, create or refresh the device in the token's
    customer, write one History row and hand back the bootstrap.

    The success path is a conditional UPDATE … RETURNING that both checks and counts the
    token (so two devices racing for its last redemption cannot both win), the device
    upsert, and the History insert: one statement on PostgreSQL, three on SQLite, which
    has no data-modifying WITH."""
    now = timezone.now()
    quote = connection.ops.quote_name
    sql = _REDEEM_SQL.format(
        token=quote(Token._meta.db_table),
        customer=quote(Customer._meta.db_table),
        bootstrap=quote(Bootstrap._meta.db_table),
    )
    stamp = connection.ops.adapt_datetimefield_value(now)
    params = [stamp, token.lower(), app_id, False, stamp, True]
    device = {
        "device_id": device_id,
        "model": model,
        "os": os,
        "app_id": app_id,
        "app_version": app_version,
        "kind": device_kind_guess(device_id=device_id, app_id=app_id),
        "state": DeviceState.ACTIVE,
        "last_checkin": now,
    }
    # Its customer is the token's, known once the token is found.
    history = history_values(
        customer_id=None,
        action=HistoryAction.TOKEN,
        result=HistoryResult.OK,
        token=token,
        app_id=app_id,
        device_id=device_id,
        ip_address=ip_address,
    )
    if connection.vendor == "postgresql":
        row = _redeem_in_one_statement(sql, params, device, history)
        if row is not None:
            return _redeemed(*row, app_id=app_id, app_version=app_version)
        # Refused: nothing was written; say why in History below.
    with transaction.atomic():
        if connection.vendor != "postgresql":
            with prepared_cursor() as cursor:
                cursor.execute(sql, params)
                row = cursor.fetchone()
        if row is None:
            customer_id, refusal = _why_not_redeemed(token=token, app_id=app_id, now=now)
            history_record(**{**history, "customer_id": customer_id, "result": refusal.result})
            return refusal
        customer_id, parameters = row
        (saved,) = Device.objects.bulk_create(
            [Device(customer_id=customer_id, **device)],
            update_conflicts=True,
            unique_fields=["customer", "device_id"],
            update_fields=list(_REDEEM_DEVICE_UPDATES),
        )
        history_record(**{**history, "customer_id": customer_id})
        return _redeemed(customer_id, parameters, saved.pk, app_id=app_id, app_version=app_version)


def _redeem_in_one_statement(
    redeem_sql: str, redeem_params: list, device: dict[str, Any], history: dict[str, Any]
) -> tuple[int, Any, int] | None:
    quote = connection.ops.quote_name
    device_insert, device_params = insert_select(Device, device, {"customer_id": "t.customer_id"})
    history_insert, history_params = insert_select(
        History, history, {"customer_id": "t.customer_id"}
    )
    sql = _REDEEM_WITH_SQL.format(
        redeem=redeem_sql,
        device_insert=device_insert,
        device_updates=", ".join(
            f"{quote(c)} = EXCLUDED.{quote(c)}" for c in _REDEEM_DEVICE_UPDATES
        ),
        history_insert=history_insert,
    )
    with prepared_cursor() as cursor:
        cursor.execute(sql, redeem_params + device_params + history_params)
        return cursor.fetchone()


def _redeemed(
    customer_id: int, parameters: Any, device_pk: int, *, app_id: str, app_version: str
) -> Redemption:
    """The token was counted and the device written: hand back the bootstrap, and ask for
    the device's PTT Pro site when the bootstrap names one."""
    if isinstance(parameters, str):
        parameters = json.loads(parameters)
    site = parameters.get("site") if isinstance(parameters, dict) else None
    if (
        isinstance(site, str)
        and site.strip()
        and site_provisioning_applies(app_id=app_id, app_version=app_version)
        and device_site_request(
            customer_id=customer_id, device_pk=device_pk, site_name=site.strip()
        )
    ):
        # The PTT Pro call happens in a task once this commits; an outage there never
        # fails the redemption.
        transaction.on_commit(partial(schedule_site_provisioning, device_pk))
    return Redemption(HistoryResult.OK, bootstrap=parameters)


def _why_not_redeemed(*, token: str, app_id: str, now: datetime) -> tuple[int | None, Redemption]:
    found = (
        Token.objects.filter(value__lower=token.lower())
        .select_related("customer")
        .only(
            "customer_id",
            "customer__is_active",
            "app_id",
            "revoked",
            "expires_at",
            "max_redemptions",
            "redemption_count",
        )
        .first()
    )
    if found is None:
        return None, Redemption(HistoryResult.UNKNOWN_TOKEN, "token: no such token")
    if found.revoked or not found.customer.is_active:
        return found.customer_id, Redemption(HistoryResult.REVOKED, "token: revoked")
    if found.expires_at is not None and found.expires_at <= now:
        return found.customer_id, Redemption(HistoryResult.EXPIRED, "token: expired")
    if found.max_redemptions is not None and found.redemption_count >= found.max_redemptions:
        return found.customer_id, Redemption(
            HistoryResult.USED_UP, "token: already redeemed the allowed number of times"
        )
    return found.customer_id, Redemption(
        HistoryResult.APP_MISMATCH, f"appId: this token is not for {app_id}"
    )


# --- Licenses and check-in ---------------------------------------------------------------


def license_request(
    *,
    token: str,
    device_id: str,
    feature: str,
    app_version: str = "",
    ip_address: str | None = None,
) -> LicenseAnswer:
    """A device asks for a license for `feature`.

    The token names the customer, so a device ID alone never reaches another customer's
    pool. A device that already holds a valid license of the type keeps it (the guide's
    rule, even if another line expires later); otherwise licensing.services.license_take
    gives it one without ever over-allocating. A license released between the read and
    the keep is not kept: the device gets one from the pool instead.

    A revoked or expired token (or an inactive customer) is refused as on redemption; a
    used-up one is not, as the devices that redeemed it keep working.

    On PostgreSQL two statements: token, device and live license in one
    (_license_lookup); then the seat taken with the assignment and History inserts
    (licensing.services.license_take), or the kept license's refresh with the History
    insert (license_keep). SQLite, which has no data-modifying WITH, takes four and
    three, and BEGIN/COMMIT around a new license."""
    now = timezone.now()
    license_type = license_type_for(feature)
    found = _license_lookup(token=token, device_id=device_id, license_type=license_type)

    history = history_values(
        customer_id=found.customer_id if found else None,
        action=HistoryAction.LICENSE,
        result=HistoryResult.OK,
        token=token,
        device_id=device_id,
        ip_address=ip_address,
    )

    def refuse(result: str, detail: str) -> LicenseAnswer:
        history_record(**{**history, "result": result})
        return LicenseAnswer(result, detail)

    if found is None:
        return refuse(HistoryResult.UNKNOWN_TOKEN, "token: no such token")
    if found.revoked or not found.customer_active:
        return refuse(HistoryResult.REVOKED, "token: revoked")
    if found.expires_at is not None and found.expires_at <= now:
        return refuse(HistoryResult.EXPIRED, "token: expired")
    if found.device_pk is None:
        return refuse(
            HistoryResult.UNKNOWN_DEVICE,
            f"deviceId: {device_id} is not a device of this customer; redeem the token first",
        )
    if found.device_state == DeviceState.OBSOLETE:
        return refuse(
            HistoryResult.OBSOLETE_DEVICE,
            f"deviceId: {device_id} is marked obsolete; redeem the token to bring it back",
        )
    if license_type == LicenseType.PREMIUM and found.device_kind == DeviceKind.THIRD_PARTY_ANDROID:
        return refuse(
            HistoryResult.PREMIUM_REFUSED,
            f"feature: {feature} needs a Premium license, which third-party devices cannot use",
        )
    # From here the licensing services write the History row with what they decide.
    granted = {"feature": feature, "license_type": license_type}
    replacing_pk = found.live_pk
    if (
        found.live_pk is not None
        and found.live_state == EntitlementState.ACTIVE
        and found.live_expiration > now
    ):
        if license_keep(
            assignment_pk=found.live_pk,
            feature=feature,
            app_version=app_version,
            now=now,
            history=history,
        ):
            return LicenseAnswer(
                HistoryResult.OK,
                expiration=found.live_expiration,
                activation_id=found.live_activation_id,
                **granted,
            )
        # Released since the read (release job, obsoleting): the seat is back in the
        # pool, so the device takes one like any other, and there is nothing to replace.
        replacing_pk = None
    chosen = license_take(
        customer_id=found.customer_id,
        device_pk=found.device_pk,
        device_id=device_id,
        feature=feature,
        app_version=app_version,
        now=now,
        replacing_pk=replacing_pk,
        history=history,
    )
    if chosen is None:
        return LicenseAnswer(
            HistoryResult.NO_LICENSE,
            f"feature: no {LicenseType(license_type).label} license is available",
        )
    return LicenseAnswer(
        HistoryResult.OK,
        expiration=chosen.expiration,
        activation_id=chosen.activation_id,
        **granted,
    )


@dataclass(frozen=True)
class _LicenseLookup:
    customer_id: int
    revoked: bool
    expires_at: datetime | None
    customer_active: bool
    device_pk: int | None
    device_kind: str | None
    device_state: str | None
    live_pk: int | None
    live_state: str | None
    live_expiration: datetime | None
    live_activation_id: str | None


# Each join follows a unique index (the token's lower(value), the device's (customer,
# device_id), the live assignment's (device, license_type) where released_at is null), so
# the planner knows every step yields at most one row: the plan is the same on a
# deployment whose tables have grown faster than ANALYZE, where correlated subqueries had
# been planned as scans.
_LICENSE_LOOKUP_SQL = """
SELECT t.customer_id, t.revoked, t.expires_at, c.is_active,
       d.id, d.kind, d.state, a.id, e.state, e.expiration, e.activation_id
FROM {token} t
JOIN {customer} c ON c.id = t.customer_id
LEFT JOIN {device} d ON d.customer_id = t.customer_id AND d.device_id = %s
LEFT JOIN {assignment} a
  ON a.device_id = d.id AND a.license_type = %s AND a.released_at IS NULL
LEFT JOIN {entitlement} e ON e.id = a.entitlement_id
WHERE LOWER(t.value) = %s
"""


def _license_lookup(*, token: str, device_id: str, license_type: str) -> _LicenseLookup | None:
    quote = connection.ops.quote_name
    sql = _LICENSE_LOOKUP_SQL.format(
        token=quote(Token._meta.db_table),
        customer=quote(Customer._meta.db_table),
        device=quote(Device._meta.db_table),
        assignment=quote(Assignment._meta.db_table),
        entitlement=quote(Entitlement._meta.db_table),
    )
    with prepared_cursor() as cursor:
        cursor.execute(sql, [device_id, license_type, token.lower()])
        row = cursor.fetchone()
    if row is None:
        return None
    converted = list(row)
    # Raw rows come as the driver gives them: SQLite's dates are text, its booleans 0/1.
    for index in (2, 9):
        converted[index] = db_datetime(converted[index])
    for index in (1, 3):
        converted[index] = bool(converted[index])
    return _LicenseLookup(*converted)


_CHECKIN_DEVICE_SQL = """
UPDATE {device} SET last_checkin = %s, updated = %s,
    app_version = CASE WHEN %s = '' THEN {device}.app_version ELSE %s END
FROM {token} t, {customer} c
WHERE LOWER(t.value) = %s AND t.revoked = %s AND (t.expires_at IS NULL OR t.expires_at > %s)
  AND c.id = t.customer_id AND c.is_active = %s
  AND {device}.customer_id = t.customer_id AND {device}.device_id = %s
RETURNING {device}.id, {device}.customer_id
"""
_CHECKIN_LICENSES_SQL = """
UPDATE {assignment} SET last_contact = %s,
    app_version = CASE WHEN %s = '' THEN app_version ELSE %s END
WHERE device_id IN ({devices}) AND released_at IS NULL
"""


_CHECKIN_WITH_SQL = (
    "WITH d AS ({device_update}), a AS ({licenses_update}), h AS ({history_insert} FROM d) "
    "SELECT id, customer_id FROM d"
)


def device_checkin(
    *, token: str, device_id: str, app_version: str = "", ip_address: str | None = None
) -> DeviceAnswer:
    """A device says it is alive: refresh it and the licenses it holds. A revoked or
    expired token (or an inactive customer) is refused as on redemption; a used-up one is
    not, as the devices that redeemed it keep working.

    One statement on PostgreSQL: an UPDATE checks the token and refreshes the device, and
    in the same data-modifying WITH its licenses and the History insert. SQLite, which has
    no data-modifying WITH, takes three. Only a refused check-in looks the token up again,
    to say why, and writes its History row then."""
    now = timezone.now()
    quote = connection.ops.quote_name
    tables = {
        "device": quote(Device._meta.db_table),
        "token": quote(Token._meta.db_table),
        "customer": quote(Customer._meta.db_table),
        "assignment": quote(Assignment._meta.db_table),
    }
    stamp = connection.ops.adapt_datetimefield_value(now)
    version = app_version[:64]
    short = short_app_version(app_version) if app_version else ""
    device_params = [stamp, stamp, version, version, token.lower(), False, stamp, True, device_id]
    license_params = [stamp, short, short]
    device_sql = _CHECKIN_DEVICE_SQL.format(**tables)
    history = history_values(
        customer_id=None,
        action=HistoryAction.CHECKIN,
        result=HistoryResult.OK,
        token=token,
        device_id=device_id,
        ip_address=ip_address,
    )
    with prepared_cursor() as cursor:
        if connection.vendor == "postgresql":
            history_insert, history_params = insert_select(
                History, history, {"customer_id": "d.customer_id"}
            )
            # Only table names (quote_name) are formatted in; every value is a parameter.
            cursor.execute(
                _CHECKIN_WITH_SQL.format(
                    device_update=device_sql,
                    licenses_update=_CHECKIN_LICENSES_SQL.format(
                        devices="SELECT id FROM d", **tables
                    ),
                    history_insert=history_insert,
                ),
                device_params + license_params + history_params,
            )
            row = cursor.fetchone()
            if row is not None:
                return DeviceAnswer(HistoryResult.OK)
        else:
            cursor.execute(device_sql, device_params)
            row = cursor.fetchone()
            if row is not None:
                cursor.execute(
                    _CHECKIN_LICENSES_SQL.format(devices="%s", **tables), [*license_params, row[0]]
                )
    if row is not None:
        customer_id, outcome = row[1], DeviceAnswer(HistoryResult.OK)
    else:
        customer_id, outcome = _why_checkin_refused(token=token, device_id=device_id, now=now)
    history_record(**{**history, "customer_id": customer_id, "result": outcome.result})
    return outcome


def _why_checkin_refused(
    *, token: str, device_id: str, now: datetime
) -> tuple[int | None, DeviceAnswer]:
    found = (
        Token.objects.filter(value__lower=token.lower())
        .select_related("customer")
        .only("customer_id", "revoked", "expires_at", "customer__is_active")
        .first()
    )
    if found is None:
        return None, DeviceAnswer(HistoryResult.UNKNOWN_TOKEN, "token: no such token")
    if found.revoked or not found.customer.is_active:
        return found.customer_id, DeviceAnswer(HistoryResult.REVOKED, "token: revoked")
    if found.expires_at is not None and found.expires_at <= now:
        return found.customer_id, DeviceAnswer(HistoryResult.EXPIRED, "token: expired")
    return found.customer_id, DeviceAnswer(
        HistoryResult.UNKNOWN_DEVICE, f"deviceId: {device_id} is not a device of this customer"
    )


# --- Obsolete ---------------------------------------------------------------------------


@transaction.atomic
def device_obsolete(*, device: Device, user: User | None) -> Device:
    """Mark a device obsolete and return the licenses it holds to the pool. Obsoleting an
    obsolete device only gives back licenses it may still hold."""
    current = Device.objects.select_for_update().get(pk=device.pk)
    device_licenses_release(device=current, user=user)
    device_mark_obsolete(device=current, user=user)
    return current


# --- Bulk import -----------------------------------------------------------------------

CATALOG_IMPORT_MAX_ROWS = 5000


class CatalogImportError(Exception):
    """Rows of an import failed validation; nothing was written.

    `errors` holds one dict per bad field: {"kind": "bootstrap" | "token", "row", "field",
    "detail"}, with `field` named as in the entry dicts given to catalog_import."""

    def __init__(self, errors: list[dict[str, Any]]):
        self.errors = sorted(errors, key=lambda e: (e["row"], e["kind"] != "bootstrap"))
        super().__init__(f"{len(self.errors)} error(s) in the import; nothing was imported")


# The single-save services name a token's value "token"; import entries call it "name".
_TOKEN_ERROR_FIELDS = {"token": "name"}


def _row_errors(kind: str, row: int, exc: ValidationError) -> list[dict[str, Any]]:
    if not hasattr(exc, "error_dict"):
        return [{"kind": kind, "row": row, "field": "name", "detail": " ".join(exc.messages)}]
    renames = _TOKEN_ERROR_FIELDS if kind == "token" else {}
    return [
        {"kind": kind, "row": row, "field": renames.get(field, field), "detail": "; ".join(msgs)}
        for field, msgs in exc.message_dict.items()
    ]


def _check_token_entry_types(entry: dict[str, Any]) -> list[dict[str, str]]:
    """Entries come from files: refuse values of the wrong type rather than guess."""
    wrong = []
    if not isinstance(entry.get("appId"), str | None):
        wrong.append({"field": "appId", "detail": "must be text"})
    if not isinstance(entry.get("description"), str | None):
        wrong.append({"field": "description", "detail": "must be text"})
    if not isinstance(entry.get("expiresAt"), datetime | None):
        wrong.append({"field": "expiresAt", "detail": "must be a date and time"})
    elif entry.get("expiresAt") is not None and timezone.is_naive(entry["expiresAt"]):
        wrong.append({"field": "expiresAt", "detail": "must include a time zone"})
    max_redemptions = entry.get("maxRedemptions")
    if max_redemptions is not None and (
        isinstance(max_redemptions, bool) or not isinstance(max_redemptions, int)
    ):
        wrong.append({"field": "maxRedemptions", "detail": "must be a whole number"})
    if not isinstance(entry.get("revoked", False), bool):
        wrong.append({"field": "revoked", "detail": "must be true or false"})
    return wrong


def catalog_import(
    *,
    customer: Customer,
    user: User | None,
    bootstraps: list[dict[str, Any]],
    tokens: list[dict[str, Any]],
) -> dict[str, dict[str, int]]:
    """Add or replace many bootstraps and tokens at once, all or nothing.

    Bootstrap entries: {"name", "parameters", "row"?}. Token entries: {"name", "appId",
    "bootstrap" (a name: one in this import or one the customer has), "description"?,
    "expiresAt"? (aware datetime), "maxRedemptions"? (int), "revoked"? (bool), "row"?}.
    `row` says where the entry came from, for the error report (default: its position).

    Every entry goes through bootstrap_save/token_save, so it meets the same rules and
    writes the same Event as a single save. If any entry fails, everything is rolled back
    and CatalogImportError lists every failure. Returns the counts
    {"bootstraps": {"added", "replaced"}, "tokens": {"added", "replaced"}}."""
    if len(bootstraps) > CATALOG_IMPORT_MAX_ROWS or len(tokens) > CATALOG_IMPORT_MAX_ROWS:
        raise ValidationError(
            f"at most {CATALOG_IMPORT_MAX_ROWS} bootstraps and {CATALOG_IMPORT_MAX_ROWS} "
            "tokens per import; split the file"
        )
    errors: list[dict[str, Any]] = []
    counts = {"bootstraps": {"added": 0, "replaced": 0}, "tokens": {"added": 0, "replaced": 0}}

    def fail(kind: str, row: int, field: str, detail: str) -> None:
        errors.append({"kind": kind, "row": row, "field": field, "detail": detail})

    # Duplicates inside the import, found before touching the database. Bootstrap names
    # are exact; token values ignore case, as a device's token does.
    bootstrap_rows: dict[str, int] = {}
    todo_bootstraps = []
    for index, entry in enumerate(bootstraps):
        row = entry.get("row", index + 1)
        name = entry.get("name")
        if not isinstance(name, str):
            fail("bootstrap", row, "name", "required: the bootstrap's name as text")
            continue
        key = name.strip()
        if key and key in bootstrap_rows:
            fail(
                "bootstrap",
                row,
                "name",
                f"{key} is defined twice (also in row {bootstrap_rows[key]})",
            )
            continue
        bootstrap_rows[key] = row
        todo_bootstraps.append((row, key, entry))

    token_rows: dict[str, int] = {}
    todo_tokens = []
    for index, entry in enumerate(tokens):
        row = entry.get("row", index + 1)
        value = entry.get("name")
        if not isinstance(value, str):
            fail("token", row, "name", "required: the token's value as text")
            continue
        key = value.lower()
        if key and key in token_rows:
            fail("token", row, "name", f"{value} appears twice (also in row {token_rows[key]})")
            continue
        token_rows[key] = row
        todo_tokens.append((row, value, entry))

    with transaction.atomic():
        # One query for the existing bootstraps the tokens name, so each token_save gets
        # an object rather than looking its bootstrap up by name again.
        wanted = {
            e.get("bootstrap") for _, _, e in todo_tokens if isinstance(e.get("bootstrap"), str)
        }
        known = {
            b.name: b for b in Bootstrap.objects.for_customer(customer).filter(name__in=wanted)
        }
        failed: set[str] = set()

        for row, name, entry in todo_bootstraps:
            try:
                bootstrap, created = bootstrap_save(
                    customer=customer, user=user, name=name, parameters=entry.get("parameters")
                )
            except ValidationError as exc:
                errors.extend(_row_errors("bootstrap", row, exc))
                failed.add(name)
                continue
            known[bootstrap.name] = bootstrap
            counts["bootstraps"]["added" if created else "replaced"] += 1

        for row, value, entry in todo_tokens:
            reference = entry.get("bootstrap")
            if reference and isinstance(reference, str) and reference in failed:
                detail = f"bootstrap {reference} (row {bootstrap_rows[reference]}) is invalid"
                fail("token", row, "bootstrap", detail)
                continue
            typed = _check_token_entry_types(entry)
            if typed:
                errors.extend({"kind": "token", "row": row, **e} for e in typed)
                continue
            try:
                _token, created = token_save(
                    customer=customer,
                    user=user,
                    value=value,
                    app_id=entry.get("appId"),
                    bootstrap=known.get(reference, reference)
                    if isinstance(reference, str)
                    else None,
                    description=entry.get("description") or "",
                    expires_at=entry.get("expiresAt"),
                    max_redemptions=entry.get("maxRedemptions"),
                    revoked=entry.get("revoked", False),
                )
            except ValidationError as exc:
                errors.extend(_row_errors("token", row, exc))
                continue
            counts["tokens"]["added" if created else "replaced"] += 1

        if errors:
            # Raised inside the atomic block: every row written so far is rolled back.
            raise CatalogImportError(errors)
        event_log(
            customer=customer,
            user=user,
            type=EventType.CATALOG_IMPORTED,
            info=(
                f"Import: bootstraps {counts['bootstraps']['added']} added, "
                f"{counts['bootstraps']['replaced']} replaced; tokens "
                f"{counts['tokens']['added']} added, {counts['tokens']['replaced']} replaced"
            ),
            data=counts,
        )
    return counts
