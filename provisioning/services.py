"""Bootstraps and tokens: the rules for changing them and for redeeming a token.

Portal views, the admin API, the bulk import and management commands all call these.
Every change is versioned (an update naming an older version is refused with
StaleVersion) and writes an Event.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Customer, User
from core.errors import InUse, version_check
from core.jsontext import JSONTextError, json_parse, json_value_error
from provisioning.models import (
    MAX_REDEMPTIONS,
    TOKEN_CHARACTERS,
    TOKEN_MIN_LENGTH,
    Bootstrap,
    Token,
    token_value_error,
)
from reports.models import AppId, EventType
from reports.services import event_log

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
