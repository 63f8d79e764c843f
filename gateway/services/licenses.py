"""A device asks for a license and checks in: the token, device and pool rules meet here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.utils import timezone

from accounts.models import Customer
from core.rawsql import db_datetime, insert_select, prepared_cursor
from devices.models import Device, DeviceKind, DeviceState
from gateway.services.answers import DeviceAnswer
from licensing.models import (
    Assignment,
    Entitlement,
    LicenseType,
    entitlement_usable,
    license_type_for,
)
from licensing.services import license_keep, license_take, short_app_version
from provisioning.models import CUSTOMER_ACTIVE_SQL, TOKEN_LIVE_SQL, Token, token_refusal
from reports.models import History, HistoryAction, HistoryResult
from reports.services import history_record, history_values


@dataclass(frozen=True)
class LicenseAnswer(DeviceAnswer):
    """A granted license carries its feature, type, expiration and activation ID."""

    feature: str = ""
    license_type: str = ""
    expiration: datetime | None = None
    activation_id: str = ""


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
    refusal = token_refusal(
        revoked=found.revoked,
        customer_active=found.customer_active,
        expires_at=found.expires_at,
        now=now,
    )
    if refusal is not None:
        return refuse(*refusal)
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
    if found.live_pk is not None and entitlement_usable(
        state=found.live_state, expiration=found.live_expiration, now=now
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


# The token rules are provisioning.models' (TOKEN_LIVE_SQL, CUSTOMER_ACTIVE_SQL).
_CHECKIN_DEVICE_SQL = """
UPDATE {device} SET last_checkin = %s, updated = %s,
    app_version = CASE WHEN %s = '' THEN {device}.app_version ELSE %s END
FROM {token} t, {customer} c
WHERE LOWER(t.value) = %s AND {token_live}
  AND c.id = t.customer_id AND {customer_active}
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
    device_sql = _CHECKIN_DEVICE_SQL.format(
        token_live=TOKEN_LIVE_SQL.format(t="t"),
        customer_active=CUSTOMER_ACTIVE_SQL.format(c="c"),
        **tables,
    )
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
    refusal = token_refusal(
        revoked=found.revoked,
        customer_active=found.customer.is_active,
        expires_at=found.expires_at,
        now=now,
    )
    if refusal is not None:
        return found.customer_id, DeviceAnswer(*refusal)
    return found.customer_id, DeviceAnswer(
        HistoryResult.UNKNOWN_DEVICE, f"deviceId: {device_id} is not a device of this customer"
    )
