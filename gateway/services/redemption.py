"""Redeeming a token: a device presents a token and gets its bootstrap, in one statement
when it can."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Customer
from core.rawsql import insert_select, prepared_cursor
from devices.models import Device, DeviceState
from devices.services import device_kind_guess
from devices.sites import device_site_request, site_provisioning_applies
from devices.tasks import schedule_site_provisioning
from gateway.services.answers import DeviceAnswer
from provisioning.models import (
    CUSTOMER_ACTIVE_SQL,
    TOKEN_LIVE_SQL,
    TOKEN_REDEMPTION_LEFT_SQL,
    Bootstrap,
    Token,
    token_refusal,
)
from reports.models import History, HistoryAction, HistoryResult
from reports.services import history_record, history_values


@dataclass(frozen=True)
class Redemption(DeviceAnswer):
    bootstrap: dict[str, Any] | None = None


# The token rules are provisioning.models' (TOKEN_LIVE_SQL, TOKEN_REDEMPTION_LEFT_SQL,
# CUSTOMER_ACTIVE_SQL), filled in with the tables' names.
_REDEEM_SQL = """
UPDATE {token} SET redemption_count = redemption_count + 1, last_redeemed = %s
WHERE LOWER(value) = %s AND app_id = %s AND {token_live} AND {redemption_left}
  AND customer_id IN (SELECT id FROM {customer} WHERE {customer_active})
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
    token_table, customer_table = quote(Token._meta.db_table), quote(Customer._meta.db_table)
    sql = _REDEEM_SQL.format(
        token=token_table,
        customer=customer_table,
        bootstrap=quote(Bootstrap._meta.db_table),
        token_live=TOKEN_LIVE_SQL.format(t=token_table),
        redemption_left=TOKEN_REDEMPTION_LEFT_SQL.format(t=token_table),
        customer_active=CUSTOMER_ACTIVE_SQL.format(c=customer_table),
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
    refusal = token_refusal(
        revoked=found.revoked,
        customer_active=found.customer.is_active,
        expires_at=found.expires_at,
        now=now,
        used_up=found.is_used_up,
    )
    if refusal is not None:
        return found.customer_id, Redemption(*refusal)
    return found.customer_id, Redemption(
        HistoryResult.APP_MISMATCH, f"appId: this token is not for {app_id}"
    )
