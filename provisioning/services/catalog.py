"""TODO"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Customer, User
from provisioning.models import (
    Bootstrap,
)
from provisioning.services.bootstraps import bootstrap_save
from provisioning.services.tokens import token_save
from reports.models import EventType
from reports.services import event_log

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
